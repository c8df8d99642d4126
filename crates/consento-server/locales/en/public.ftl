# The public pages people open from our emails: unsubscribing and the preference center. Keep in
# step with it/public.ftl.

public-not-found-title = This link does not work
public-not-found = The link may be incomplete, or it is no longer valid. If you copied it from an email, check that you copied all of it; a more recent email from us carries a link that works.
public-bad-request-title = Nothing was changed
public-bad-request = This request could not be understood, so nothing was changed. To unsubscribe, open the link again and press the button.
public-back = Back to the page
public-manage = Manage your subscriptions

public-unsubscribe-title = Unsubscribe
public-unsubscribe-question-topic = Do you want to stop receiving “{ $topic }”?
public-unsubscribe-question-all = Do you want to stop receiving all our newsletters?
public-unsubscribe-button = Unsubscribe
public-unsubscribe-hint = Nothing changes until you press the button.
public-unsubscribe-none-topic = You are not subscribed to “{ $topic }”: there is nothing to stop.
public-unsubscribe-none-all = You are not subscribed to any of our newsletters: there is nothing to stop.
public-unsubscribed-title = You are unsubscribed
public-unsubscribed-topic = You will no longer receive “{ $topic }”. This takes effect immediately.
public-unsubscribed-all = You will no longer receive our newsletters. This takes effect immediately.

public-preferences-title = Your subscriptions
public-preferences-intro = Choose what you want to receive. Every change takes effect immediately.
public-preferences-intro-named = Choose what you want to receive from { $controller }. Every change takes effect immediately.
public-topics = Topics
public-topics-none = There are no topics to choose from at the moment.
public-state-on = Subscribed
public-state-off = Not subscribed
public-since = since { $date }
public-topic-subscribe = Subscribe to “{ $topic }”
public-topic-unsubscribe = Unsubscribe from “{ $topic }”
public-objected = You have objected to receiving marketing from us, and we respect that: nothing on this page can lift your objection. You can still unsubscribe here. To receive marketing again, withdraw your objection by contacting us, the data controller.
public-restricted = The processing of your data is restricted, so no new subscription can be made here while the restriction lasts. You can still unsubscribe. To lift the restriction, contact us, the data controller.
public-notice-title = Privacy notice
public-notice = Subscribing here means you have read our privacy notice, version { $version }.
public-notice-read = Read the privacy notice
public-withdraw-all-title = Withdraw every consent
public-withdraw-all-text = This withdraws, in one step, every consent you have given us, for every purpose and channel.
public-withdraw-all-button = Withdraw everything
public-withdraw-all-none = You have no consent in force with us.
public-error-topic = This topic cannot be chosen here. Nothing was changed.
public-error-objected = The subscription was not made: your objection to marketing stays in force. To lift it, contact us, the data controller.
public-error-restricted = The subscription was not made: the processing of your data is restricted. To lift the restriction, contact us, the data controller.
public-error-notice = The privacy notice has changed since the page was shown. Please read the current one and try again. Nothing was changed.
public-error-form = This request could not be understood. Nothing was changed.
done-public-subscribed = You are subscribed. You can unsubscribe here at any time.
done-public-unsubscribed = You are unsubscribed. This takes effect immediately.
done-public-withdrawn-all = Every consent you had given us has been withdrawn.

public-channels = How we may reach you
public-channels-intro = Switch off a form of communication and we will not use it for marketing; service messages you need (about an order, a contract) may still arrive.
public-channel-email = Email
public-channel-phone = Phone calls
public-channel-sms = Text messages
public-channel-on = On
public-channel-off = Off
public-channel-off-since = switched off on { $date }
public-channel-switch-off = Switch off: { $channel }
public-channel-switch-on = Switch back on: { $channel }
done-public-channel-switched-off = Done: we will not use it for marketing any more.
done-public-channel-switched-on = Done: it is switched back on.

public-controller-title = Data controller
public-controller-dpo = Data protection officer: { $contact }
public-controller-notice = The controller's privacy notice
