# Retention (GDPR Art. 5(1)(e)): the contacts past the retention of their purposes.
nav-retention = Retention
retention-title = Retention
retention-intro = Contacts with no valid consent whose last consent ended longer ago than the retention of their purposes (marketing { $marketing_text } months, profiling { $profiling_text } months), and with no open request.
retention-count = { $count ->
    [one] One contact is past its retention.
   *[other] { $count_text } contacts are past their retention.
}
retention-none = No contact is past its retention.
retention-col-contact = Contact
retention-col-ended = Last consent ended
retention-col-months = Retention (months)
retention-col-purposes = Purposes
retention-open-card = Open the card
retention-more = Only the first { $count_text } are listed.
retention-confirm = Anonymise them for good
retention-confirm-hint = Each one is erased as for an erasure request (reason: retention), in batches; this cannot be undone.
retention-applied = { $count ->
    [0] No contact was anonymised.
    [one] One contact was anonymised.
   *[other] { $count_text } contacts were anonymised.
}
