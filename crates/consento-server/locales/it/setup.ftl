# Impostazioni: privacy, tipologie di consenso, motivazioni, informative, account. Tenere allineato con en/setup.ftl.

setup-title = Impostazioni
setup-tabs = Sezioni delle impostazioni
setup-tab-privacy = Privacy
setup-tab-types = Tipologie di consenso
setup-tab-reasons = Motivazioni di contatto
setup-tab-notices = Informative privacy
setup-tab-users = Account
setup-edit = Modifica
setup-form-has-errors = Alcuni campi non sono validi: correggerli e salvare di nuovo.

## Impostazioni della privacy

setup-privacy-title = Impostazioni della privacy
setup-privacy-intro = Ogni controllo verifica, prima di un contatto, che la persona abbia dato un consenso valido per quel canale. Tutti i controlli sono attivi in una nuova installazione.
setup-privacy-legend = Controlli attivi
setup-privacy-email-single = Singola email
setup-privacy-email-single-hint = Attivo: per ogni email a una singola persona serve un consenso valido, altrimenti l'operatore deve indicare il motivo del contatto. Disattivato: le email singole partono senza alcuna verifica del consenso.
setup-privacy-email-bulk = Newsletter e invii massivi
setup-privacy-email-bulk-hint = Attivo: la newsletter raggiunge solo chi ha un consenso valido agli invii massivi. Disattivato: la newsletter raggiunge tutti i contatti con un indirizzo email, anche senza consenso.
setup-privacy-phone = Contatto telefonico
setup-privacy-phone-hint = Attivo: per chiamare una persona, anche da un centralino collegato, serve un consenso valido oppure il motivo della chiamata. Disattivato: le chiamate non richiedono né consenso né motivo.
setup-privacy-sms = SMS
setup-privacy-sms-hint = Attivo: un SMS singolo richiede un consenso valido o un motivo; un invio massivo di SMS raggiunge solo chi ha un consenso valido. Disattivato: gli SMS partono senza verifica del consenso.
setup-privacy-always = Anche con un controllo disattivato, restano sempre bloccati i contatti cancellati, quelli con trattamento limitato (art. 18 GDPR), chi si è opposto al marketing diretto (art. 21 GDPR) e gli indirizzi nella lista di esclusione.
done-setup-privacy-saved = Impostazioni della privacy salvate.

## Tipologie di consenso

setup-types-title = Tipologie di consenso
setup-types-intro = Le tipologie di consenso che si possono chiedere alle anagrafiche: per ciascuna, quanti giorni dura il consenso e quali contatti permette.
setup-types-new = Nuova tipologia
setup-types-empty = Non è ancora stata creata alcuna tipologia di consenso.
setup-type-new-title = Nuova tipologia di consenso
setup-type-edit-title = Modifica tipologia di consenso
setup-type-create = Crea tipologia
setup-type-title = Titolo
setup-type-title-hint = Il nome della tipologia, come lo vedono gli operatori e, nel centro preferenze, la persona.
setup-type-code = Codice
setup-type-code-hint = Univoco, usato dalle integrazioni: lettere, cifre, «_», «-» o «.», fino a 64 caratteri. Non si può più cambiare dopo che è stato registrato un consenso di questa tipologia.
setup-type-code-fixed-hint = Il codice non si può più cambiare: sono già stati registrati consensi di questa tipologia, e il registro dei consensi lo cita.
setup-type-description = Descrizione
setup-type-description-hint = Facoltativa: descrive nel dettaglio che cosa la persona autorizza.
setup-type-validity = Giorni di validità
setup-type-validity-hint = Dopo questo numero di giorni il consenso scade e va rinnovato nell'anagrafica. Lasciare vuoto per un consenso sempre valido. Una modifica vale per i consensi dati da ora in poi.
setup-type-permits = Permette
setup-type-permits-legend = Che cosa permette un consenso valido
setup-type-permits-advice = Di norma conviene una tipologia distinta per ciascun canale, così la persona può acconsentire all'uno e non all'altro.
setup-type-permit-email-bulk = Permetti invii massivi
setup-type-permit-email-bulk-hint = Consente di includere la persona nelle newsletter e negli invii email massivi.
setup-type-permit-email-single = Permetti invio singolo
setup-type-permit-email-single-hint = Consente di scrivere alla persona una singola email.
setup-type-permit-phone-call = Permetti contatto telefonico
setup-type-permit-phone-call-hint = Consente di chiamare la persona, anche tramite un centralino collegato.
setup-type-permit-sms-single = Permetti SMS singolo
setup-type-permit-sms-single-hint = Consente di inviare alla persona un singolo SMS.
setup-type-permit-sms-bulk = Permetti invii massivi di SMS
setup-type-permit-sms-bulk-hint = Consente di includere la persona nelle campagne SMS.
setup-type-short-email-bulk = Newsletter
setup-type-short-email-single = Email singola
setup-type-short-phone-call = Telefono
setup-type-short-sms-single = SMS singolo
setup-type-short-sms-bulk = SMS massivi
setup-type-preference-center = Mostra nel centro preferenze
setup-type-preference-center-hint = La persona vede questa tipologia tra gli argomenti del centro preferenze e può darle o revocarle il consenso da sola.
setup-type-preference-center-short = Centro preferenze
setup-type-no-expiry = Nessuna scadenza
setup-type-days =
    { $count ->
        [one] { $count_text } giorno
       *[other] { $count_text } giorni
    }
setup-type-purpose = Finalità
setup-type-purpose-hint = Lo scopo per cui si chiede il consenso. Una tipologia, una finalità: la persona deve poter accettarne una e rifiutarne un'altra. Non si può più cambiare dopo che è stato registrato un consenso di questa tipologia.
setup-type-purpose-fixed-hint = La finalità non si può più cambiare: i consensi di questa tipologia sono stati dati per essa. Per un'altra finalità, crea una nuova tipologia.
setup-type-purpose-marketing = Marketing diretto (newsletter, offerte, chiamate promozionali)
setup-type-purpose-profiling = Profilazione (analisi di abitudini e preferenze, statistiche sui clienti)
setup-type-purpose-third-party = Comunicazione a terzi per loro finalità di marketing
setup-type-purpose-service = Comunicazioni di servizio (non marketing)
setup-type-categories = Categorie merceologiche (comunicazione a terzi)
setup-type-categories-hint = Solo per la comunicazione a terzi, e allora obbligatorie: i settori delle aziende a cui i dati possono essere comunicati, separati da virgole (per esempio: telefonia, energia, assicurazioni). Un consenso a qualunque comunicazione per qualunque scopo non è specifico.
setup-type-invalid-purpose = Scegli una delle finalità dell'elenco.
setup-type-purpose-fixed = La finalità non si può cambiare: sono stati registrati consensi di questa tipologia. Per un'altra finalità, crea una nuova tipologia.
setup-type-invalid-categories = La comunicazione a terzi indica almeno una categoria merceologica (lettere minuscole, cifre, «-» e «_», al massimo 20); le altre finalità non ne hanno.
setup-type-invalid-title = Indicare un titolo di al massimo 200 caratteri, su una sola riga e senza caratteri di controllo.
setup-type-invalid-code = Il codice deve avere da 1 a 64 caratteri tra lettere, cifre, «_», «-» e «.», senza spazi.
setup-type-code-taken = Esiste già una tipologia di consenso con questo codice (maiuscole e minuscole non fanno differenza).
setup-type-code-fixed = Il codice non si può cambiare: sono già stati registrati consensi di questa tipologia.
setup-type-invalid-description = La descrizione può avere al massimo 2.000 caratteri, senza caratteri di controllo.
setup-type-invalid-permits = Spuntare almeno una delle cose che un consenso valido di questa tipologia permette.
setup-type-invalid-validity = Indicare un numero intero di giorni da 1 a 36.500, oppure lasciare vuoto per un consenso senza scadenza.
done-setup-type-created = Tipologia di consenso creata.
done-setup-type-saved = Tipologia di consenso salvata.

## Motivazioni di contatto

setup-reasons-title = Motivazioni di contatto
setup-reasons-intro = Quando una persona non ha un consenso valido, l'operatore che la contatta con una email singola, una telefonata o un SMS sceglie il motivo da questo elenco. Le motivazioni non si eliminano: si disattivano, e i contatti già giustificati continuano a indicare quella scelta.
setup-reasons-empty = Non è ancora stata creata alcuna motivazione.
setup-reason-label = Motivazione
setup-reason-label-hint = Il testo che l'operatore vede nell'elenco, al massimo 200 caratteri.
setup-reason-kind = Tipo
setup-reason-state = Stato
setup-reason-marketing = È marketing diretto
setup-reason-marketing-hint = Una motivazione di marketing non giustifica mai il contatto con chi si è opposto al marketing diretto (art. 21, par. 3, GDPR).
setup-reason-marketing-short = Marketing
setup-reason-service-short = Servizio
setup-reason-active = Attiva
setup-reason-active-hint = Solo le motivazioni attive sono proposte agli operatori. Disattivarla la toglie dall'elenco senza toccare i contatti già registrati.
setup-reason-active-short = Attiva
setup-reason-retired-short = Disattivata
setup-reason-new-title = Nuova motivazione
setup-reason-create = Aggiungi motivazione
setup-reason-edit-title = Modifica motivazione
setup-reason-invalid-label = Indicare la motivazione, al massimo 200 caratteri.
setup-reason-taken = Esiste già una motivazione con questo testo.
done-setup-reason-created = Motivazione aggiunta.
done-setup-reason-saved = Motivazione salvata.

## Informative privacy

setup-notices-title = Informative privacy
setup-notices-intro = Le versioni dell'informativa privacy, dalla più recente. Ogni consenso registrato indica la versione mostrata alla persona, come prova di che cosa ha letto (art. 7 e art. 13 GDPR).
setup-notices-empty = Non è ancora stata pubblicata alcuna versione dell'informativa.
setup-notice-version = Versione
setup-notice-version-hint = Un nome univoco per questa versione, per esempio la data di revisione (2025-03).
setup-notice-language = Lingua
setup-notice-language-hint = Il codice della lingua del testo, per esempio it o en.
setup-notice-published = Pubblicata
setup-notice-content = Testo
setup-notice-fingerprint = Impronta SHA-256
setup-notice-show-text = Mostra il testo
setup-notice-url = Indirizzo web
setup-notice-url-hint = Dove l'informativa è pubblicata (https://…). Indicare l'indirizzo, il testo o entrambi.
setup-notice-body = Testo dell'informativa
setup-notice-body-hint = Il testo integrale, conservato qui così com'è.
setup-notice-new-title = Pubblica una nuova versione
setup-notice-immutable = Una versione pubblicata non si può più modificare né eliminare: per cambiare l'informativa, pubblicarne una nuova versione.
setup-notice-publish = Pubblica
setup-notice-invalid-version = Indicare la versione, da 1 a 64 caratteri.
setup-notice-version-taken = Questa versione è già stata pubblicata: sceglierne un'altra.
setup-notice-invalid-language = Indicare un codice di lingua, per esempio it o en.
setup-notice-invalid-url = L'indirizzo deve iniziare con https:// o http://.
setup-notice-invalid-body = Indicare il testo dell'informativa, il suo indirizzo web o entrambi.
done-setup-notice-published = Nuova versione dell'informativa pubblicata.

## Account

setup-users-title = Account della console
setup-user-username = Nome utente
setup-user-username-hint = Da 3 a 64 caratteri tra lettere minuscole, cifre e . _ - @. Non si può cambiare in seguito.
setup-user-display-name = Nome visualizzato
setup-user-display-name-hint = Il nome che vedono i colleghi; se vuoto, il nome utente.
setup-user-role = Ruolo
setup-user-role-hint = Amministratore: tutte le impostazioni. Responsabile della protezione dei dati: diritti degli interessati e registro attività. Operatore: anagrafiche, contatti e newsletter. Revisore: sola lettura.
setup-user-created-on = Creato il
setup-user-locked = Bloccato
setup-user-locked-until = Fino al { $when }
setup-user-disabled = Disattivato
setup-user-disabled-since = Dal { $date }
setup-user-must-change = Password monouso da cambiare
setup-user-password-state = Password
setup-user-password-own = Scelta dalla persona
setup-user-new-title = Nuovo account
setup-user-new-intro = Viene generata una password monouso, mostrata una sola volta: comunicarla alla persona in modo sicuro. Al primo accesso dovrà sceglierne una propria.
setup-user-create = Crea account
setup-user-edit-title = Modifica account
setup-user-disable = Account disattivato
setup-user-disable-hint = Un account disattivato non può più accedere e le sue sessioni aperte terminano subito. Le sue azioni restano nel registro attività.
setup-user-own-account = È l'account con cui si è entrati: non è possibile disattivarlo né togliergli il ruolo di amministratore.
setup-user-reset-title = Reimposta la password
setup-user-reset-hint = Genera una nuova password monouso, mostrata una sola volta, e chiude tutte le sessioni dell'account. Al prossimo accesso la persona dovrà sceglierne una propria.
setup-user-reset = Genera una nuova password monouso
setup-user-created = Account creato
setup-user-reset-done = Password reimpostata
setup-user-one-time-password = Password monouso
setup-user-one-time-once = Questa password viene mostrata una sola volta e non è conservata in chiaro: annotarla ora e comunicarla alla persona in modo sicuro. Al primo accesso dovrà sceglierne una propria.
setup-user-back = Torna agli account
setup-user-invalid-username = Il nome utente deve avere da 3 a 64 caratteri tra lettere, cifre e . _ - @.
setup-user-taken = Esiste già un account con questo nome utente.
setup-user-invalid-display-name = Il nome visualizzato deve avere da 1 a 128 caratteri.
setup-user-invalid-role = Scegliere un ruolo dall'elenco.
setup-user-self-demote = Non è possibile togliere il ruolo di amministratore al proprio account: chiedere a un altro amministratore.
setup-user-self-disable = Non è possibile disattivare il proprio account: chiedere a un altro amministratore.
setup-user-self-reset = La propria password si cambia da «Il mio account», indicando quella attuale.
done-setup-user-saved = Account salvato.

## Titolare del trattamento (anche la pagina del primo avvio)

setup-tab-controller = Titolare del trattamento
setup-controller-title = Titolare del trattamento
setup-controller-first-title = Prima di iniziare: chi è il titolare del trattamento
setup-controller-first-intro = Consento è installato. Prima di tutto, indicare chi è il titolare del trattamento dei dati: il suo nome compare nelle email alle persone, nelle pagine di iscrizione e di gestione delle preferenze, nelle ricevute dei consensi e nei dati consegnati a chi esercita il diritto di accesso. Si può fare anche più tardi, da Impostazioni › Titolare del trattamento.
setup-controller-intro = Il GDPR (art. 13 e 15) richiede di comunicare alle persone chi è il titolare del trattamento e come contattarlo. Finché un dato manca, il cruscotto lo segnala.
setup-controller-name = Nome del titolare
setup-controller-name-hint = La ragione sociale o il nome dell'organizzazione, per esempio Rossi Caldaie S.r.l.
setup-controller-address = Indirizzo
setup-controller-address-hint = L'indirizzo postale della sede.
setup-controller-email = Email di contatto
setup-controller-email-hint = L'indirizzo a cui le persone scrivono per le questioni sulla privacy, per esempio privacy@esempio.it.
setup-controller-dpo-contact = Contatto del responsabile della protezione dei dati (RPD/DPO)
setup-controller-dpo-contact-hint = Come contattare il responsabile della protezione dei dati, se designato: un indirizzo email, un recapito postale o telefonico.
setup-controller-privacy-notice-url = Indirizzo dell'informativa privacy
setup-controller-privacy-notice-url-hint = La pagina web dove è pubblicata l'informativa sulla privacy (https://…).
setup-controller-configured = Impostato nel file di configurazione (chiave { $key } della sezione [controller]): si modifica lì.
setup-controller-later = Più tardi
setup-controller-invalid-name = Indicare il nome su una sola riga, al massimo 200 caratteri.
setup-controller-invalid-address = Indicare l'indirizzo, al massimo 500 caratteri.
setup-controller-invalid-email = Indicare un indirizzo email valido, per esempio privacy@esempio.it.
setup-controller-invalid-dpo-contact = Indicare il contatto, al massimo 500 caratteri.
setup-controller-invalid-privacy-notice-url = L'indirizzo deve iniziare con https:// o http://, seguito dal nome del sito.
done-setup-controller-saved = Dati del titolare del trattamento salvati.
setup-type-permits-nothing = Nulla
