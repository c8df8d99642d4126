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
