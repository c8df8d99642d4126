# Le pagine pubbliche che le persone aprono dalle nostre email: annullamento dell'iscrizione e
# centro preferenze. Tenere allineato a en/public.ftl.

public-not-found-title = Questo link non funziona
public-not-found = Il link potrebbe essere incompleto o non essere più valido. Se è stato copiato da un'email, controllare di averlo copiato per intero; un'email più recente contiene un link funzionante.
public-bad-request-title = Nessuna modifica
public-bad-request = La richiesta non è stata compresa, quindi non è stato modificato nulla. Per annullare l'iscrizione, aprire di nuovo il link e premere il pulsante.
public-back = Torna alla pagina
public-manage = Gestione delle iscrizioni

public-unsubscribe-title = Annullamento dell'iscrizione
public-unsubscribe-question-topic = Per non ricevere più «{ $topic }», premere il pulsante.
public-unsubscribe-question-all = Per non ricevere più nessuna delle nostre newsletter, premere il pulsante.
public-unsubscribe-button = Annulla l'iscrizione
public-unsubscribe-hint = Finché non si preme il pulsante, non cambia nulla.
public-unsubscribe-none-topic = Non risulta alcuna iscrizione attiva a «{ $topic }»: non c'è nulla da interrompere.
public-unsubscribe-none-all = Non risulta alcuna iscrizione attiva alle nostre newsletter: non c'è nulla da interrompere.
public-unsubscribed-title = Iscrizione annullata
public-unsubscribed-topic = L'invio di «{ $topic }» è stato interrotto, con effetto immediato.
public-unsubscribed-all = L'invio delle nostre newsletter è stato interrotto, con effetto immediato.

public-preferences-title = Iscrizioni e preferenze
public-preferences-intro = Scegliere quali comunicazioni ricevere. Ogni modifica ha effetto immediato.
public-preferences-intro-named = Scegliere che cosa ricevere da { $controller }. Ogni modifica ha effetto immediato.
public-topics = Argomenti
public-topics-none = Al momento non ci sono argomenti tra cui scegliere.
public-state-on = Iscrizione attiva
public-state-off = Iscrizione non attiva
public-since = dal { $date }
public-topic-subscribe = Attiva l'iscrizione a «{ $topic }»
public-topic-unsubscribe = Annulla l'iscrizione a «{ $topic }»
public-objected = Risulta un'opposizione al trattamento dei dati per finalità di marketing, che rispettiamo: nessuna scelta fatta in questa pagina può superarla. Qui è sempre possibile annullare le iscrizioni; per ricevere di nuovo comunicazioni di marketing occorre revocare l'opposizione contattando il titolare del trattamento.
public-restricted = Il trattamento dei dati è limitato: finché la limitazione è in vigore, non è possibile attivare nuove iscrizioni da questa pagina. È sempre possibile annullarle. Per revocare la limitazione occorre contattare il titolare del trattamento.
public-notice-title = Informativa sulla privacy
public-notice = L'iscrizione da questa pagina presuppone la lettura della nostra informativa sulla privacy, versione { $version }.
public-notice-read = Leggi l'informativa sulla privacy
public-withdraw-all-title = Revoca di tutti i consensi
public-withdraw-all-text = Revoca in un solo passaggio ogni consenso dato, per ogni finalità e canale.
public-withdraw-all-button = Revoca tutti i consensi
public-withdraw-all-none = Non risulta alcun consenso in vigore.
public-error-topic = Questo argomento non può essere scelto qui. Non è stato modificato nulla.
public-error-objected = L'iscrizione non è stata attivata: l'opposizione al marketing resta in vigore. Per revocarla occorre contattare il titolare del trattamento.
public-error-restricted = L'iscrizione non è stata attivata: il trattamento dei dati è limitato. Per revocare la limitazione occorre contattare il titolare del trattamento.
public-error-notice = L'informativa sulla privacy è cambiata da quando la pagina è stata aperta: leggere quella attuale e riprovare. Non è stato modificato nulla.
public-error-form = La richiesta non è stata compresa. Non è stato modificato nulla.
done-public-subscribed = Iscrizione attivata. È possibile annullarla qui in qualsiasi momento.
done-public-unsubscribed = Iscrizione annullata, con effetto immediato.
done-public-withdrawn-all = Tutti i consensi dati sono stati revocati.

public-channels = Mezzi di contatto
public-channels-intro = Un mezzo di comunicazione disattivato non viene più usato per il marketing; possono comunque arrivare le comunicazioni di servizio necessarie (su un ordine, un contratto).
public-channel-email = Email
public-channel-phone = Telefonate
public-channel-sms = SMS
public-channel-on = Attivo
public-channel-off = Disattivato
public-channel-off-since = disattivato il { $date }
public-channel-switch-off = Disattiva: { $channel }
public-channel-switch-on = Riattiva: { $channel }
done-public-channel-switched-off = Fatto: questo mezzo non verrà più usato per il marketing.
done-public-channel-switched-on = Fatto: è di nuovo attivo.

public-controller-title = Titolare del trattamento
public-controller-dpo = Responsabile della protezione dei dati: { $contact }
public-controller-notice = Informativa sulla privacy del titolare
