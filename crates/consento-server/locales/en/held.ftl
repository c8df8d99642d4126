# Held emails: messages to contacts that need a reason, waiting in the mail system until someone
# gives one or drops them. Keep in step with it/held.ftl.

nav-held = Held emails
held-title = Held emails
held-intro = Emails to people who have given no consent that allows them wait here until someone gives the reason for the contact, as at the contact moment on the card, or drops them. An email nobody gives a reason for before it expires is dropped, and its sender told.
held-empty = No email is waiting for a reason.
held-caption = Emails waiting for a reason, oldest first
held-recipient = Recipient
held-sender = Sent by
held-rule = Why it is held
held-since = Held since
held-expires = Dropped unless a reason comes by
held-actions = What to do
held-justify = Give the reason
held-drop = Drop
held-erased = erased contact
held-bounce = (no sender: an automatic reply)
held-dialog-title = Email to { $recipient }: reason for the contact
held-dialog-cause = A reason is needed before it can go: { $why }.
held-dialog-allowed = The contact is allowed by now: the email can go without a reason. Pick one all the same to release it; no justified contact is recorded.
held-dialog-blocked = The contact is blocked by now: { $why }. No reason can release this email: drop it.
held-dialog-submit = Record and release
held-dialog-drop-hint = Dropping it removes the whole email from the mail system, for every recipient, and tells its sender.

held-rule-no-consent = the recipient never gave a consent that allows this email
held-rule-refused = the recipient refused the consent that would allow this email
held-rule-withdrawn = the recipient withdrew the consent that allowed this email
held-rule-expired = the consent that allowed this email has expired
held-rule-objected = the recipient objects to direct marketing, so only a reason that is not marketing can justify it
held-rule-channel-off = the recipient switched email off, so only a reason that is not marketing can justify it
held-rule-erased = the recipient was erased (GDPR Art. 17)
held-rule-restricted = the processing of the recipient's data is restricted (GDPR Art. 18)
held-rule-suppressed = the recipient's address is on the suppression list
held-rule-other = the rule { $rule } asks for a reason

done-held-released = The reason is recorded: the email is released and leaves as soon as no other recipient of it waits.
done-held-dropped = The email is dropped and its sender told.
warn-held-gone = That email is no longer held: someone released or dropped it meanwhile, or it expired.

audit-action-held-message-hold = Held an email that needs a reason
audit-action-held-message-queue = Learnt the mail system's id of a held email and told its sender
audit-action-held-message-release = Released a held email with a reason
audit-action-held-message-drop = Dropped a held email

field-cause = Why it was dropped
field-held-message = Held email
field-held-messages = Held recipients
field-hold-until = Dropped unless a reason comes by
field-queue-id = Mail system's id of the message
