# Le email alle persone: la conferma dell'iscrizione (double opt-in).
mail-greeting = Buongiorno,
mail-confirm-subject = Conferma dell'iscrizione alle comunicazioni di { $controller }
mail-confirm-intro = è stata chiesta l'iscrizione di questo indirizzo email alle seguenti comunicazioni di { $controller }:
mail-confirm-action = Per confermare l'iscrizione basta aprire questo link e premere il pulsante di conferma nella pagina:
mail-confirm-button = Conferma l'iscrizione
mail-confirm-copy = Se il link non si apre, copiare questo indirizzo nel browser:
mail-confirm-expiry = Il link è valido fino al { $date }.
mail-confirm-ignore = Se l'iscrizione non è stata chiesta da chi legge, basta ignorare questa email: senza conferma non succede nulla e a questo indirizzo non arriveranno altre comunicazioni.
mail-controller = Titolare del trattamento dei dati: { $controller }
mail-automatic = Questa email è stata inviata automaticamente: le risposte non vengono lette.

# L'avviso della revoca di una limitazione del trattamento (GDPR art. 18, par. 3).
mail-lifted-subject = { $controller }: la limitazione del trattamento dei dati è revocata
mail-lifted-intro = su richiesta dell'interessato, { $controller } aveva limitato il trattamento dei dati personali dal { $since } (art. 18 GDPR).
mail-lifted-body = Come previsto dall'art. 18, par. 3, del GDPR, si comunica che la limitazione è revocata dal { $date }: da ora i dati possono di nuovo essere trattati per le finalità indicate nell'informativa.
mail-lifted-rights = In caso di disaccordo è possibile opporsi, chiedere di nuovo la limitazione o proporre reclamo all'autorità di controllo.
mail-lifted-contact = Per contattare il titolare: { $contact }

# Gli avvisi a chi ha inviato un'email trattenuta finché qualcuno non indica il motivo del
# contatto con il destinatario, e della sua eliminazione.
mail-held-subject = Email a { $recipient } in attesa: serve un motivo
mail-held-intro = l'email inviata a { $recipient } il { $date } non è ancora stata consegnata: { $why }.
mail-held-action = Prima che parta, qualcuno deve indicare perché si contatta questa persona. Basta aprire questa pagina, accedere alla console e scegliere il motivo: l'email parte subito dopo.
mail-held-button = Indica il motivo
mail-held-expiry = Se entro il { $date } nessuno indica un motivo, l'email sarà eliminata e arriverà un avviso.
mail-held-footer = Consento verifica ogni email rispetto ai consensi e alle opposizioni dei destinatari (artt. 6, 7 e 21 GDPR).
mail-held-dropped-subject = Email a { $recipient } non consegnata
mail-held-dropped-operator = l'email inviata a { $recipient } il { $date } è stata eliminata dalla console: non sarà consegnata.
mail-held-dropped-expired = l'email inviata a { $recipient } il { $date } ha atteso un motivo fino al { $until } e nessuno lo ha indicato: è stata eliminata e non sarà consegnata.
mail-held-dropped-why = Era trattenuta perché { $why }.
mail-held-dropped-again = Se deve comunque raggiungere questa persona, occorre inviarla di nuovo e indicare il motivo quando viene chiesto.
relay-dsn-subject = Non recapitato: { $subject }
relay-dsn-refused = Il tuo messaggio per { $recipient } non è stato recapitato: il server di posta del destinatario lo ha rifiutato ({ $error }). Non verrà inviato di nuovo.
relay-dsn-expired = Il tuo messaggio per { $recipient } non è stato recapitato: tutti i tentativi sono falliti, l'ultimo con { $error }. Non verrà inviato di nuovo.
relay-dsn-details = Seguono i dettagli per i programmi di posta, con le intestazioni del tuo messaggio.
