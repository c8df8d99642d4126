# La limitazione del trattamento (GDPR art. 18) e l'opposizione (art. 21): la loro storia nella
# scheda del contatto, e che cosa fa il completamento di una richiesta di questo tipo.
flags-history-restriction-raised = Trattamento limitato (art. 18 GDPR)
flags-history-restriction-lifted = Limitazione revocata
flags-history-objection-raised = Opposizione al marketing diretto (art. 21 GDPR)
flags-history-objection-lifted = Opposizione ritirata
flags-history-by-request = Richiesta dell'interessato
flags-history-person-told = L'interessato viene avvisato via email (art. 18, par. 3 GDPR), se l'indirizzo è noto.
flags-request-effect-restriction = Completando la richiesta si limita il trattamento dei dati del contatto (art. 18 GDPR): da quel momento ogni contatto è bloccato, finché il DPO o un amministratore non revoca la limitazione dalla scheda del contatto.
flags-request-effect-objection = Completando la richiesta si registra l'opposizione del contatto al marketing diretto (art. 21, par. 3 GDPR): gli invii massivi sono bloccati, l'indirizzo e il numero entrano nella lista di esclusione e i contatti singoli richiedono un motivo che non sia di marketing.
flags-request-needs-contact = La richiesta non è collegata a un contatto, quindi completarla non limiterebbe né registrerebbe nulla: registrare di nuovo la richiesta dalla scheda del contatto.
flags-request-contact-erased = Il contatto è stato cancellato: non resta nulla da limitare.
