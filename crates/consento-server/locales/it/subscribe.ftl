# Le pagine pubbliche del double opt-in: il modulo di iscrizione e la conferma dal link ricevuto.
subscribe-title = Iscrizione alle comunicazioni
subscribe-intro = Scegliere gli argomenti di interesse e indicare l'indirizzo email: arriverà un messaggio con un link per confermare.
subscribe-no-topics = Al momento non ci sono comunicazioni a cui iscriversi.
subscribe-has-errors = Alcuni campi vanno corretti.
subscribe-email = Indirizzo email
subscribe-name = Nome (facoltativo)
subscribe-name-hint = Serve solo a riconoscere la persona nelle comunicazioni successive.
subscribe-topics = Argomenti
subscribe-how = L'iscrizione vale solo dopo la conferma dal link inviato per email: fino ad allora non succede nulla.
subscribe-notice = Informativa sul trattamento dei dati personali
subscribe-submit = Iscriviti
subscribe-error-email = Inserire un indirizzo email valido, ad esempio nome@esempio.it.
subscribe-error-name = Il nome può avere al massimo 200 caratteri.
subscribe-error-topics = Scegliere almeno un argomento.
subscribe-sent-title = Controllare la casella di posta
subscribe-sent-body = Se l'indirizzo può ricevere le nostre email, sta arrivando un messaggio con il link per confermare l'iscrizione.
subscribe-sent-expiry = { $hours ->
    [one] Il link è valido per un'ora.
   *[other] Il link è valido per { $hours_text } ore.
}
subscribe-sent-nothing-yet = Finché l'iscrizione non viene confermata non succede nulla. Se il messaggio non arriva, controllare anche la cartella della posta indesiderata.
subscribe-confirm-pending-title = Conferma dell'iscrizione
subscribe-confirm-pending-body = Premendo il pulsante si conferma l'iscrizione a:
subscribe-confirm-notice = Informativa sul trattamento dei dati personali (versione { $version })
subscribe-confirm-button = Confermo l'iscrizione
subscribe-confirm-expiry = Il link è valido fino al { $date }.
subscribe-confirm-ignore = Se l'iscrizione non è stata chiesta da chi legge, basta chiudere questa pagina: senza conferma non succede nulla.
subscribe-confirm-confirmed-title = Iscrizione confermata
subscribe-confirm-confirmed-body = Grazie: l'iscrizione è confermata. Arriveranno le comunicazioni su:
subscribe-confirm-withdraw = Il consenso si può revocare in qualsiasi momento, con la stessa facilità con cui è stato dato, dal link presente in ogni comunicazione.
subscribe-confirm-expired-title = Il link è scaduto
subscribe-confirm-expired-body = Questo link di conferma non è più valido e l'iscrizione non è stata registrata. Per iscriversi basta ripetere la richiesta: arriverà un nuovo link.
subscribe-confirm-unknown-title = Link non valido
subscribe-confirm-unknown-body = Questo link di conferma non è valido. Controllare di averlo copiato per intero, oppure ripetere la richiesta di iscrizione.
subscribe-again = Ripeti l'iscrizione
