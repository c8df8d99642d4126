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
relay-dsn-subject = Non recapitato: { $subject }
relay-dsn-refused = Il tuo messaggio per { $recipient } non è stato recapitato: il server di posta del destinatario lo ha rifiutato ({ $error }). Non verrà inviato di nuovo.
relay-dsn-expired = Il tuo messaggio per { $recipient } non è stato recapitato: tutti i tentativi sono falliti, l'ultimo con { $error }. Non verrà inviato di nuovo.
relay-dsn-details = Seguono i dettagli per i programmi di posta, con le intestazioni del tuo messaggio.
