# Setup: privacy, consent types, contact reasons, privacy notices, accounts. Keep in step with it/setup.ftl.

setup-title = Setup
setup-tabs = Setup sections
setup-tab-privacy = Privacy
setup-tab-types = Consent types
setup-tab-reasons = Contact reasons
setup-tab-notices = Privacy notices
setup-tab-users = Accounts
setup-edit = Edit
setup-form-has-errors = Some fields are not valid: correct them and save again.

## Privacy settings

setup-privacy-title = Privacy settings
setup-privacy-intro = Each check makes sure, before a contact, that the person gave a valid consent for that channel. Every check is on in a new installation.
setup-privacy-legend = Checks in force
setup-privacy-email-single = Single email
setup-privacy-email-single-hint = On: every email to one person needs a valid consent, otherwise the operator must give the reason for the contact. Off: single emails go out without any consent check.
setup-privacy-email-bulk = Newsletters and bulk sends
setup-privacy-email-bulk-hint = On: the newsletter reaches only people with a valid consent to bulk sends. Off: the newsletter reaches every contact with an email address, consent or not.
setup-privacy-phone = Phone contact
setup-privacy-phone-hint = On: calling a person, also from a connected dialer, needs a valid consent or the reason for the call. Off: calls need neither a consent nor a reason.
setup-privacy-sms = SMS
setup-privacy-sms-hint = On: a single SMS needs a valid consent or a reason; a bulk SMS send reaches only people with a valid consent. Off: SMS go out without a consent check.
setup-privacy-always = Even with a check off, erased contacts, contacts whose processing is restricted (GDPR Art. 18), people who objected to direct marketing (GDPR Art. 21) and addresses on the suppression list stay blocked.
done-setup-privacy-saved = Privacy settings saved.

## Consent types

setup-types-title = Consent types
setup-types-intro = The kinds of consent contacts can be asked for: for each, how many days the consent lasts and which contacts it allows.
setup-types-new = New consent type
setup-types-empty = No consent type has been created yet.
setup-type-new-title = New consent type
setup-type-edit-title = Edit consent type
setup-type-create = Create consent type
setup-type-title = Title
setup-type-title-hint = The type's name, as operators see it and, in the preference center, the person.
setup-type-code = Code
setup-type-code-hint = Unique, used by integrations: letters, digits, "_", "-" or ".", up to 64 characters. It can no longer change once a consent of this type is recorded.
setup-type-code-fixed-hint = The code can no longer change: consents of this type have been recorded, and the consent ledger cites it.
setup-type-description = Description
setup-type-description-hint = Optional: describes in detail what the person agrees to.
setup-type-validity = Days of validity
setup-type-validity-hint = After this many days the consent expires and must be renewed on the contact card. Leave empty for a consent that never expires. A change applies to consents given from now on.
setup-type-permits = Allows
setup-type-permits-legend = What a valid consent allows
setup-type-permits-advice = Usually one type per channel works best, so that a person can agree to one and not the other.
setup-type-permit-email-bulk = Allow bulk sends
setup-type-permit-email-bulk-hint = The person may be included in newsletters and bulk email sends.
setup-type-permit-email-single = Allow single email
setup-type-permit-email-single-hint = The person may be sent a single email.
setup-type-permit-phone-call = Allow phone contact
setup-type-permit-phone-call-hint = The person may be called, also through a connected dialer.
setup-type-permit-sms-single = Allow single SMS
setup-type-permit-sms-single-hint = The person may be sent a single SMS.
setup-type-permit-sms-bulk = Allow bulk SMS
setup-type-permit-sms-bulk-hint = The person may be included in SMS campaigns.
setup-type-short-email-bulk = Newsletter
setup-type-short-email-single = Single email
setup-type-short-phone-call = Phone
setup-type-short-sms-single = Single SMS
setup-type-short-sms-bulk = Bulk SMS
setup-type-preference-center = Show in the preference center
setup-type-preference-center-hint = The person sees this type among the topics of the preference center and can give or withdraw the consent on their own.
setup-type-preference-center-short = Preference center
setup-type-no-expiry = Never expires
setup-type-days =
    { $count ->
        [one] { $count_text } day
       *[other] { $count_text } days
    }
setup-type-purpose = Purpose
setup-type-purpose-hint = What the consents of this type are for. One type, one purpose: a person must be able to agree to one and not the other. It can no longer change once a consent of this type is recorded.
setup-type-purpose-fixed-hint = The purpose can no longer change: consents of this type were given for it. Create a new type for another purpose.
setup-type-purpose-marketing = Marketing by us (newsletters, offers, promotional calls)
setup-type-purpose-profiling = Profiling (analysis of habits and preferences, customer statistics)
setup-type-purpose-third-party = Disclosure to third parties for their marketing
setup-type-purpose-service = Service communications (not marketing)
setup-type-categories = Product categories (disclosure to third parties)
setup-type-categories-hint = Only for a disclosure to third parties, and then required: the sectors of the companies the data may go to, comma separated (for example: telephony, energy, insurance). A consent to any disclosure for anything is not specific.
setup-type-invalid-purpose = Choose one of the purposes in the list.
setup-type-purpose-fixed = The purpose cannot change: consents of this type have been recorded. Create a new type for another purpose.
setup-type-invalid-categories = A disclosure to third parties names at least one product category (lower-case letters, digits, "-" and "_", at most 20); other purposes have none.
setup-type-invalid-title = Enter a title of at most 200 characters, on one line, without control characters.
setup-type-invalid-code = The code must be 1 to 64 letters, digits, "_", "-" or ".", without spaces.
setup-type-code-taken = A consent type with this code already exists (capital and small letters count as the same).
setup-type-code-fixed = The code cannot change: consents of this type have been recorded.
setup-type-invalid-description = The description can be at most 2,000 characters, without control characters.
setup-type-invalid-permits = Tick at least one thing a valid consent of this type permits.
setup-type-invalid-validity = Enter a whole number of days from 1 to 36,500, or leave empty for a consent that never expires.
done-setup-type-created = Consent type created.
done-setup-type-saved = Consent type saved.

## Contact reasons

setup-reasons-title = Contact reasons
setup-reasons-intro = When a person has no valid consent, the operator who reaches them with a single email, a call or an SMS picks the reason from this list. Reasons are not deleted but retired: contacts already justified keep pointing at the reason given.
setup-reasons-empty = No contact reason has been created yet.
setup-reason-label = Reason
setup-reason-label-hint = The text the operator sees in the list, at most 200 characters.
setup-reason-kind = Kind
setup-reason-state = State
setup-reason-marketing = Is direct marketing
setup-reason-marketing-hint = A marketing reason never justifies contacting someone who objected to direct marketing (GDPR Art. 21(3)).
setup-reason-marketing-short = Marketing
setup-reason-service-short = Service
setup-reason-active = Active
setup-reason-active-hint = Only active reasons are offered to operators. Retiring one removes it from the list without touching the contacts already recorded.
setup-reason-active-short = Active
setup-reason-retired-short = Retired
setup-reason-new-title = New reason
setup-reason-create = Add reason
setup-reason-edit-title = Edit reason
setup-reason-invalid-label = Enter the reason, at most 200 characters.
setup-reason-taken = A reason with this text already exists.
done-setup-reason-created = Reason added.
done-setup-reason-saved = Reason saved.

## Privacy notices

setup-notices-title = Privacy notices
setup-notices-intro = The versions of the privacy notice, newest first. Every recorded consent names the version shown to the person, as proof of what they read (GDPR Art. 7 and Art. 13).
setup-notices-empty = No version of the privacy notice has been published yet.
setup-notice-version = Version
setup-notice-version-hint = A unique name for this version, such as the revision date (2025-03).
setup-notice-language = Language
setup-notice-language-hint = The language code of the text, such as it or en.
setup-notice-published = Published
setup-notice-content = Text
setup-notice-fingerprint = SHA-256 fingerprint
setup-notice-show-text = Show the text
setup-notice-url = Web address
setup-notice-url-hint = Where the notice is published (https://…). Give the address, the text or both.
setup-notice-body = Text of the notice
setup-notice-body-hint = The full text, kept here exactly as given.
setup-notice-new-title = Publish a new version
setup-notice-immutable = A published version can never be changed or deleted: to change the notice, publish a new version.
setup-notice-publish = Publish
setup-notice-invalid-version = Enter the version, 1 to 64 characters.
setup-notice-version-taken = This version has already been published: choose another.
setup-notice-invalid-language = Enter a language code, such as it or en.
setup-notice-invalid-url = The address must start with https:// or http://.
setup-notice-invalid-body = Enter the text of the notice, its web address, or both.
done-setup-notice-published = New version of the privacy notice published.

## Accounts

setup-users-title = Console accounts
setup-user-username = Username
setup-user-username-hint = 3 to 64 lower-case letters, digits and . _ - @. It cannot change later.
setup-user-display-name = Display name
setup-user-display-name-hint = The name colleagues see; the username when empty.
setup-user-role = Role
setup-user-role-hint = Administrator: every setting. Data-protection officer: data-subject rights and the audit trail. Operator: contacts, outreach and newsletters. Auditor: read only.
setup-user-created-on = Created
setup-user-locked = Locked
setup-user-locked-until = Until { $when }
setup-user-disabled = Disabled
setup-user-disabled-since = Since { $date }
setup-user-must-change = One-time password to replace
setup-user-password-state = Password
setup-user-password-own = Chosen by the person
setup-user-new-title = New account
setup-user-new-intro = A one-time password is generated and shown once only: give it to the person safely. At the first sign-in they must choose their own.
setup-user-create = Create account
setup-user-edit-title = Edit account
setup-user-disable = Account disabled
setup-user-disable-hint = A disabled account can no longer sign in, and its open sessions end at once. Its actions stay in the audit trail.
setup-user-own-account = This is your own account: it cannot be disabled or lose the administrator role.
setup-user-reset-title = Reset the password
setup-user-reset-hint = Generates a new one-time password, shown once only, and ends every session of the account. At the next sign-in the person must choose their own.
setup-user-reset = Generate a new one-time password
setup-user-created = Account created
setup-user-reset-done = Password reset
setup-user-one-time-password = One-time password
setup-user-one-time-once = This password is shown only once and is not stored in clear: note it now and give it to the person safely. At the first sign-in they must choose their own.
setup-user-back = Back to the accounts
setup-user-invalid-username = The username must be 3 to 64 letters, digits and . _ - @.
setup-user-taken = An account with this username already exists.
setup-user-invalid-display-name = The display name must be 1 to 128 characters.
setup-user-invalid-role = Choose a role from the list.
setup-user-self-demote = You cannot take the administrator role away from yourself: ask another administrator.
setup-user-self-disable = You cannot disable your own account: ask another administrator.
setup-user-self-reset = Your own password is changed from “My account”, giving the current one.
done-setup-user-saved = Account saved.

## The data controller (also the first-run page)

setup-tab-controller = Data controller
setup-controller-title = Data controller
setup-controller-first-title = Before you start: who is the data controller
setup-controller-first-intro = Consento is installed. First, say who the data controller is: its name appears in the emails people receive, on the subscription and preference pages, in consent receipts, and in the data handed to anyone who exercises their right of access. You can also do this later, from Setup › Data controller.
setup-controller-intro = The GDPR (Art. 13 and 15) requires telling people who the data controller is and how to reach it. While any of these details is missing, the dashboard says so.
setup-controller-name = Controller's name
setup-controller-name-hint = The organisation's registered or usual name, for example Rossi Caldaie S.r.l.
setup-controller-address = Address
setup-controller-address-hint = The postal address of its office.
setup-controller-email = Contact email
setup-controller-email-hint = The address people write to about privacy, for example privacy@example.com.
setup-controller-dpo-contact = Data protection officer's contact (DPO)
setup-controller-dpo-contact-hint = How to reach the data protection officer, if one is designated: an email address, a postal address or a phone number.
setup-controller-privacy-notice-url = Privacy notice address
setup-controller-privacy-notice-url-hint = The web page where the privacy notice is published (https://…).
setup-controller-configured = Set in the configuration file (key { $key } of the [controller] section): change it there.
setup-controller-later = Later
setup-controller-invalid-name = Give the name on one line, at most 200 characters.
setup-controller-invalid-address = Give the address, at most 500 characters.
setup-controller-invalid-email = Give a valid email address, for example privacy@example.com.
setup-controller-invalid-dpo-contact = Give the contact, at most 500 characters.
setup-controller-invalid-privacy-notice-url = The address must start with https:// or http://, followed by the site's name.
done-setup-controller-saved = The data controller's details are saved.
setup-type-permits-nothing = Nothing
