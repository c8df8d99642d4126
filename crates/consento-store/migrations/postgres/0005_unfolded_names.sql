-- Contacts whose folded name is still to be filled: the check at every start is then a probe of
-- an (almost always empty) index instead of a scan of every contact.
CREATE INDEX contacts_unfolded_names ON contacts (id) WHERE name IS NOT NULL AND name_folded IS NULL;
