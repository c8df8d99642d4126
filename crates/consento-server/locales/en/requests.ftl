# Data-subject requests (GDPR Arts. 15-22) and their deadlines. Keep in step with it/requests.ftl.

nav-requests = Data-subject requests
requests-title = Data-subject requests
requests-detail-title = Data-subject request
requests-intro = Access, rectification, erasure and the other rights: the answer is due within one month of receipt (GDPR Art. 12(3)), extendable by two months. Overdue requests first, then by deadline.
requests-show = Show
requests-show-open = Open
requests-show-overdue = Overdue
requests-show-soon = Due within 7 days
requests-show-all = All
requests-kind = Kind of request
requests-kind-all = All kinds
requests-filter = Filter
requests-empty = No request matches the filters.
requests-caption = Requests, most urgent first
requests-deadline = Deadline
requests-status = Status
requests-received = Received on
requests-description = What is asked
requests-channel = How it arrived
requests-overdue = Overdue
requests-due-soon = Due soon
requests-new = Log a request
requests-new-hint = The deadline is counted from the day of receipt, on working days.
requests-create = Log
requests-back = All requests
requests-due = Deadline (one month)
requests-extended-due = Extended deadline
requests-extension-reason = Reason for the extension
requests-person = Data subject
requests-person-card = Open the contact card
requests-closed = Closed on
requests-outcome = Outcome
requests-rejection-reason = Reason for refusing
requests-remedies = Remedies told to the person
requests-remedies-hint = A refusal must give the reasons and say that the person may complain to the Garante and seek a judicial remedy (GDPR Art. 12(4)).
requests-default-remedies = You may lodge a complaint with the Garante per la protezione dei dati personali (www.garanteprivacy.it) and seek a judicial remedy (GDPR Arts. 77 and 79).
requests-extend-hint = The two-month extension is possible once, within the first month, and the person must be told why.
requests-history = History
requests-when = When
requests-who = Who
requests-from = From
requests-to = To
requests-note = Note
requests-by-token = Integration { $id }

requests-action-identity-verification = Verify identity
requests-action-in-progress = Start work
requests-action-completed = Complete
requests-action-rejected = Refuse
requests-action-extend = Extend by two months

requests-error-received = Give a valid date of receipt, not in the future.
requests-error-too-long = The text is too long (at most 4,000 characters).
requests-error-reason = Give the reason for refusing.
requests-error-remedies = Give the person's remedies.
requests-error-move = The request cannot move to this status.
requests-error-extension-reason = Give the reason for the extension.
requests-error-extension = The extension is no longer possible: it was already granted, the request is closed, or the first month has passed.

done-request-created = Request logged.
done-request-moved = Request status updated.
done-request-extended = Deadline extended.

requests-kind-access = Access
requests-kind-rectification = Rectification
requests-kind-erasure = Erasure
requests-kind-restriction = Restriction
requests-kind-portability = Portability
requests-kind-objection = Objection
requests-kind-human-review = Human review of an automated decision
requests-kind-information = Information

requests-status-received = Received
requests-status-identity-verification = Identity verification
requests-status-in-progress = In progress
requests-status-completed = Completed
requests-status-rejected = Rejected

requests-channel-email = Email
requests-channel-letter = Letter
requests-channel-phone = Phone
requests-channel-form = Online form
requests-channel-in-person = In person

audit-target-request = Request
audit-action-request-create = Logged a data-subject request
audit-action-request-move = Changed a data-subject request's status
audit-action-request-extend = Extended a data-subject request
requests-rectify = Rectify on the contact card
requests-contact = The person (optional)
requests-contact-hint = Their email address, phone number or CRM id, once known: the request is then linked to their contact card and their data export.
requests-error-contact = No contact matches: check the address, the number or the id.
requests-link = Link to the contact
done-request-linked = Request linked to the contact.
requests-log-for-contact = Log a data-subject request
audit-action-request-link = Linked a data-subject request to its contact

requests-outcome-erased = Contact erased (GDPR Art. 17).

requests-note-linked = Linked to the person's contact.
requests-note-extended = Deadline extended to { $date }: { $reason }
