# The restriction of processing (GDPR Art. 18) and the objection (Art. 21): their history on the
# contact card, and what completing such a request does.
flags-history-restriction-raised = Processing restricted (GDPR Art. 18)
flags-history-restriction-lifted = Restriction lifted
flags-history-objection-raised = Objection to direct marketing (GDPR Art. 21)
flags-history-objection-lifted = Objection withdrawn
flags-history-by-request = Data-subject request
flags-history-person-told = The person is told by email (GDPR Art. 18(3)), if an address is known.
flags-request-effect-restriction = Completing this request restricts the processing of the contact's data (GDPR Art. 18): from then on every contact is blocked, until the DPO or an administrator lifts the restriction from the contact card.
flags-request-effect-objection = Completing this request records the contact's objection to direct marketing (GDPR Art. 21(3)): bulk sends are blocked, the address and number go on the suppression list, and single contacts need a reason that is not marketing.
flags-request-needs-contact = This request is not linked to a contact, so completing it could not restrict or record anything: log the request again from the contact's card.
flags-request-contact-erased = The contact was erased: there is nothing left to restrict.
