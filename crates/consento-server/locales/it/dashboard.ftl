# Il cruscotto e l'elenco dei consensi in scadenza. Tenere allineato con en/dashboard.ftl.

dashboard-states-title = Consensi per tipologia e stato
dashboard-states-caption = Contatti per tipologia di consenso e stato attuale del consenso
dashboard-no-types = Non ci sono ancora tipologie di consenso.
dashboard-type = Tipologia
dashboard-state-active = Validi
dashboard-state-suspended = Sospesi
dashboard-suspended-hint = Sospesi: consensi validi di interessati cancellati, con trattamento limitato (art. 18 GDPR) o che si sono opposti al marketing (art. 21 GDPR); nessuna decisione li usa.
dashboard-state-expired = Scaduti
dashboard-state-withdrawn = Revocati
dashboard-state-refused = Rifiutati
dashboard-total = Totale
dashboard-expiring-title = Consensi in scadenza
dashboard-expiring-hint = Consensi oggi validi che scadono entro il { $date }: è il momento di chiederne il rinnovo.
dashboard-expiring-caption = Consensi in scadenza nei prossimi 30 giorni, per tipologia
dashboard-expiring-count = In scadenza
dashboard-contacts = Contatti
dashboard-expiring-link = Vedi i contatti ({ $type })
dashboard-justified-title = Contatti giustificati
dashboard-justified-hint = Contatti senza consenso valido, registrati con una motivazione dal { $date } a oggi.
dashboard-justified-none = Nessun contatto giustificato negli ultimi 30 giorni.
dashboard-justified-total = Contatti giustificati in tutto: { $count }.
dashboard-by-operator = Per operatore
dashboard-by-reason = Per motivazione
dashboard-operator = Operatore
dashboard-reason = Motivazione
dashboard-justified-count = Contatti
dashboard-no-reason = Senza motivazione

expiring-title = Consensi in scadenza
expiring-back = Torna al cruscotto
expiring-type = Tipologia di consenso
expiring-days = Entro quanti giorni
expiring-show = Mostra
expiring-days-invalid = Indicare un numero di giorni da 1 a { $max_text }.
expiring-type-unknown = Non esiste una tipologia di consenso con codice «{ $code }».
expiring-bad-page = il collegamento alla pagina non è valido
expiring-summary = { $count ->
    [0] Nessun consenso scade entro il { $date }.
    [one] Un consenso scade entro il { $date }.
   *[other] { $count_text } consensi scadono entro il { $date }.
}
expiring-none = Nessun contatto in questa pagina.
expiring-caption = Contatti il cui consenso scade, dal più vicino
expiring-name = Nome
expiring-email = Email
expiring-expires = Scade il
expiring-no-name = (senza nome)
expiring-pages = Pagine
expiring-first-page = Prima pagina

dashboard-controller-missing-title = Dati del titolare del trattamento incompleti
dashboard-controller-missing = Mancano ancora: { $fields }. Finché mancano, le email, le pagine pubbliche, le ricevute e le risposte alle richieste di accesso non possono indicare per intero chi è il titolare del trattamento e come contattarlo (art. 13 e 15 GDPR).
dashboard-controller-missing-link = Completa i dati del titolare
dashboard-controller-missing-ask = Chiedere a un amministratore di completarli in Impostazioni › Titolare del trattamento.
