# The public double opt-in pages: the subscription form and the confirmation from the emailed link.
subscribe-title = Subscribe
subscribe-intro = Choose the topics you are interested in and give your email address: you will get a message with a link to confirm.
subscribe-no-topics = There is nothing to subscribe to at the moment.
subscribe-has-errors = Some fields need correcting.
subscribe-email = Email address
subscribe-name = Name (optional)
subscribe-name-hint = Only used to address you in later messages.
subscribe-topics = Topics
subscribe-how = The subscription counts only once you confirm it from the link we email you: until then nothing happens.
subscribe-notice = Privacy notice
subscribe-submit = Subscribe
subscribe-error-email = Enter a valid email address, such as name@example.com.
subscribe-error-name = The name can be at most 200 characters long.
subscribe-error-topics = Choose at least one topic.
subscribe-sent-title = Check your inbox
subscribe-sent-body = If the address can receive our emails, a message with a link to confirm the subscription is on its way.
subscribe-sent-expiry = { $hours ->
    [one] The link works for one hour.
   *[other] The link works for { $hours_text } hours.
}
subscribe-sent-nothing-yet = Nothing happens until you confirm. If the message does not arrive, check your spam folder too.
subscribe-confirm-pending-title = Confirm your subscription
subscribe-confirm-pending-body = Pressing the button confirms your subscription to:
subscribe-confirm-notice = Privacy notice (version { $version })
subscribe-confirm-button = I confirm the subscription
subscribe-confirm-expiry = The link works until { $date }.
subscribe-confirm-ignore = If you did not ask for this, simply close this page: without a confirmation nothing happens.
subscribe-confirm-confirmed-title = Subscription confirmed
subscribe-confirm-confirmed-body = Thank you: your subscription is confirmed. You will receive messages about:
subscribe-confirm-withdraw = You can withdraw your consent at any time, as easily as you gave it, from the link in every message.
subscribe-confirm-expired-title = This link has expired
subscribe-confirm-expired-body = This confirmation link no longer works, and no subscription was recorded. To subscribe, simply ask again: you will get a new link.
subscribe-confirm-unknown-title = This link is not valid
subscribe-confirm-unknown-body = This confirmation link is not valid. Check that you copied all of it, or ask to subscribe again.
subscribe-again = Subscribe again
