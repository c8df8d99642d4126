# Emails to people: the confirmation of a subscription (double opt-in).
mail-greeting = Hello,
mail-confirm-subject = Please confirm your subscription to { $controller }
mail-confirm-intro = Someone asked to subscribe this email address to the following from { $controller }:
mail-confirm-action = To confirm the subscription, open this link and press the confirmation button on the page:
mail-confirm-button = Confirm the subscription
mail-confirm-copy = If the link does not open, copy this address into your browser:
mail-confirm-expiry = The link works until { $date }.
mail-confirm-ignore = If you did not ask for this, simply ignore this email: without a confirmation nothing happens, and this address will receive nothing more from us.
mail-controller = Data controller: { $controller }
mail-automatic = This email was sent automatically: replies are not read.

# The notice that a restriction of processing is lifted (GDPR Art. 18(3)).
mail-lifted-subject = { $controller }: the restriction of processing of your data is lifted
mail-lifted-intro = at your request, { $controller } had restricted the processing of your personal data since { $since } (GDPR Art. 18).
mail-lifted-body = We are letting you know, as Art. 18(3) of the GDPR requires, that the restriction is lifted as of { $date }: from now on your data may again be processed for the purposes you were told about.
mail-lifted-rights = If you disagree, you may object, ask again for the restriction, or lodge a complaint with the supervisory authority.
mail-lifted-contact = To reach the controller: { $contact }

# The notices to the sender of an email held until someone gives the reason for contacting its
# recipient, and of its drop.
mail-held-subject = Your email to { $recipient } is on hold: a reason is needed
mail-held-intro = your email to { $recipient }, sent on { $date }, has not been delivered yet: { $why }.
mail-held-action = Before it can go, someone must say why this person is being contacted. Open this page, sign in to the console and pick the reason: the email then leaves at once.
mail-held-button = Give the reason
mail-held-expiry = If no reason is given by { $date }, the email will be dropped and you will be told.
mail-held-footer = Consento checks every email against the recipients' consents and objections (GDPR Arts. 6, 7 and 21).
mail-held-dropped-subject = Your email to { $recipient } was not delivered
mail-held-dropped-operator = your email to { $recipient }, sent on { $date }, was dropped from the console: it will not be delivered.
mail-held-dropped-expired = your email to { $recipient }, sent on { $date }, waited for a reason until { $until } and nobody gave one: it was dropped and will not be delivered.
mail-held-dropped-why = It was held because { $why }.
mail-held-dropped-again = If it must still reach this person, send it again and give the reason when you are asked.
relay-dsn-subject = Not delivered: { $subject }
relay-dsn-refused = Your message to { $recipient } was not delivered: the receiving mail server refused it ({ $error }). It will not be sent again.
relay-dsn-expired = Your message to { $recipient } was not delivered: every attempt failed, the last one with { $error }. It will not be sent again.
relay-dsn-details = The details for mail software follow, with the headers of your message.
