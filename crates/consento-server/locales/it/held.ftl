# Email trattenute: messaggi a contatti che richiedono un motivo, in attesa nel sistema di posta
# finché qualcuno non lo indica o non li elimina. Da tenere allineato con en/held.ftl.

nav-held = Email trattenute
held-title = Email trattenute
held-intro = Le email a persone che non hanno dato un consenso che le permetta restano qui finché qualcuno non indica il motivo del contatto, come al momento del contatto nella scheda, oppure non le elimina. Un'email per cui nessuno indica un motivo prima della scadenza viene eliminata, e chi l'ha inviata riceve un avviso.
held-empty = Nessuna email è in attesa di un motivo.
held-caption = Email in attesa di un motivo, dalla più vecchia
held-recipient = Destinatario
held-sender = Inviata da
held-rule = Perché è trattenuta
held-since = Trattenuta dal
held-expires = Eliminata se nessun motivo entro il
held-actions = Cosa fare
held-justify = Indica il motivo
held-drop = Elimina
held-erased = contatto cancellato
held-bounce = (nessun mittente: una risposta automatica)
held-dialog-title = Email a { $recipient }: motivo del contatto
held-dialog-cause = Prima che parta serve un motivo: { $why }.
held-dialog-allowed = Ora il contatto è permesso: l'email può partire senza motivo. Per rilasciarla occorre comunque sceglierne uno; non viene registrato alcun contatto giustificato.
held-dialog-blocked = Ora il contatto è bloccato: { $why }. Nessun motivo può rilasciare questa email: eliminarla.
held-dialog-submit = Registra e rilascia
held-dialog-drop-hint = Eliminandola, l'email sparisce dal sistema di posta per tutti i destinatari e chi l'ha inviata riceve un avviso.

held-rule-no-consent = il destinatario non ha mai dato un consenso che permetta questa email
held-rule-refused = il destinatario ha negato il consenso che permetterebbe questa email
held-rule-withdrawn = il destinatario ha revocato il consenso che permetteva questa email
held-rule-expired = il consenso che permetteva questa email è scaduto
held-rule-objected = il destinatario si è opposto al marketing diretto, quindi solo un motivo non di marketing può giustificarla
held-rule-channel-off = il destinatario ha disattivato le email, quindi solo un motivo non di marketing può giustificarla
held-rule-erased = il destinatario è stato cancellato (art. 17 GDPR)
held-rule-restricted = il trattamento dei dati del destinatario è limitato (art. 18 GDPR)
held-rule-suppressed = l'indirizzo del destinatario è nella lista di soppressione
held-rule-other = la regola { $rule } richiede un motivo

done-held-released = Il motivo è registrato: l'email è rilasciata e parte appena nessun altro suo destinatario è in attesa.
done-held-dropped = L'email è eliminata e chi l'ha inviata ha ricevuto un avviso.
warn-held-gone = Quell'email non è più trattenuta: qualcuno l'ha rilasciata o eliminata nel frattempo, oppure è scaduta.

audit-action-held-message-hold = Trattenuta un'email che richiede un motivo
audit-action-held-message-queue = Ricevuto l'identificativo di un'email trattenuta dal sistema di posta e avvisato chi l'ha inviata
audit-action-held-message-release = Rilasciata un'email trattenuta con un motivo
audit-action-held-message-drop = Eliminata un'email trattenuta

field-cause = Perché è stata eliminata
field-held-message = Email trattenuta
field-held-messages = Destinatari trattenuti
field-hold-until = Eliminata se nessun motivo entro il
field-queue-id = Identificativo del messaggio nel sistema di posta
