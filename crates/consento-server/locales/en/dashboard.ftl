# The dashboard and the list of consents about to expire. Keep in step with it/dashboard.ftl.

dashboard-states-title = Consents by type and state
dashboard-states-caption = Contacts per consent type and the current state of their consent
dashboard-no-types = There are no consent types yet.
dashboard-type = Type
dashboard-state-active = Valid
dashboard-state-suspended = Suspended
dashboard-suspended-hint = Suspended: valid consents of people who were erased, whose processing is restricted (GDPR Art. 18) or who objected to marketing (GDPR Art. 21); no decision relies on them.
dashboard-state-expired = Expired
dashboard-state-withdrawn = Withdrawn
dashboard-state-refused = Refused
dashboard-total = Total
dashboard-expiring-title = Consents about to expire
dashboard-expiring-hint = Consents valid today that expire by { $date }: time to ask for a renewal.
dashboard-expiring-caption = Consents expiring in the next 30 days, by type
dashboard-expiring-count = Expiring
dashboard-contacts = Contacts
dashboard-expiring-link = See the contacts ({ $type })
dashboard-justified-title = Justified contacts
dashboard-justified-hint = Contacts without a valid consent, recorded with a reason from { $date } to today.
dashboard-justified-none = No justified contacts in the last 30 days.
dashboard-justified-total = Justified contacts in total: { $count }.
dashboard-by-operator = By operator
dashboard-by-reason = By reason
dashboard-operator = Operator
dashboard-reason = Reason
dashboard-justified-count = Contacts
dashboard-no-reason = No reason

expiring-title = Consents about to expire
expiring-back = Back to the dashboard
expiring-type = Consent type
expiring-days = Within how many days
expiring-show = Show
expiring-days-invalid = Give a number of days from 1 to { $max_text }.
expiring-type-unknown = There is no consent type with code “{ $code }”.
expiring-bad-page = the link to the page is not valid
expiring-summary = { $count ->
    [0] No consent expires by { $date }.
    [one] One consent expires by { $date }.
   *[other] { $count_text } consents expire by { $date }.
}
expiring-none = No contacts on this page.
expiring-caption = Contacts whose consent expires, soonest first
expiring-name = Name
expiring-email = Email
expiring-expires = Expires on
expiring-no-name = (no name)
expiring-pages = Pages
expiring-first-page = First page

dashboard-controller-missing-title = The data controller's details are incomplete
dashboard-controller-missing = Still missing: { $fields }. Until they are given, emails, public pages, receipts and answers to access requests cannot say in full who the data controller is and how to reach it (GDPR Art. 13 and 15).
dashboard-controller-missing-link = Complete the controller's details
dashboard-controller-missing-ask = Ask an administrator to complete them in Setup › Data controller.
