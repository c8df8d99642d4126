-- The contacts no consent of whom may be used, whatever it says: erased (GDPR Art. 17),
-- restricted (Art. 18) or objecting to direct marketing (Art. 21(3)); the decision's rules 1 to 3
-- stop before consents are read. Few in any data set: the dashboard counts their valid consents
-- apart from this partial index instead of joining every consent to its contact.
CREATE INDEX contacts_suspended ON contacts (id)
    WHERE erased_at IS NOT NULL OR restricted_at IS NOT NULL OR objected_at IS NOT NULL;
