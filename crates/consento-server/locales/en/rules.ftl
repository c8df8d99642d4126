# Bulk rules over provenance: source, legal basis, purposes. Keep in step with it/rules.ftl.

nav-rules = Bulk rules
rules-title = Bulk rules
rules-intro = A rule sets the source, the legal basis, the purposes or an attribute on every contact that matches its filter. Open a rule to see what it would change before applying it; every run can be reverted.
rules-empty = No rules saved yet.
rules-caption = Saved rules
rules-name = Name
rules-what = Filter → changes
rules-new = New rule
rules-filter = Which contacts
rules-filter-hint = Every condition filled in must hold. Erased contacts are never changed.
rules-source = Source
rules-source-any = Any source
rules-source-equals = Source is exactly
rules-source-empty = No source recorded
rules-source-value = Source text
rules-attr-key = Attribute key
rules-attr-value = Attribute value
rules-legal-basis = Legal basis
rules-any = Any
rules-purpose = Has the purpose
rules-consent-type = Consent type
rules-consent-state = Consent state
rules-state-granted = Granted and valid
rules-state-withdrawn = Withdrawn
rules-state-refused = Refused
rules-state-expired = Expired
rules-state-none = Never recorded
rules-given-after = Consent given on or after
rules-given-before = Consent given before
rules-created-after = Contact created on or after
rules-created-before = Contact created before
rules-changes = What to set
rules-set-source = New source
rules-set-legal-basis = New legal basis
rules-keep = Leave as it is
rules-purposes = Purposes
rules-purposes-add = Add these
rules-purposes-remove = Remove these
rules-purposes-replace = Replace with these
rules-purposes-list = Purposes (separated by commas)
rules-attributes = Attributes
rules-attribute = Attribute
rules-attribute-set = Set this key to this value
rules-attribute-remove = Remove this key
rules-new-hint = Saving changes nothing: the rule's page shows what it would change, and applies it.
rules-save = Save the rule
rules-runs = Runs
rules-runs-empty = No rule has been applied yet.
rules-runs-caption = Runs, newest first
rules-applied = Applied
rules-changed = Contacts changed
rules-revert = Revert
rules-revert-hint = Reverting gives each contact its values before the run back. A contact changed since by someone else is left as it is.
rules-reverted = Reverted on { $when }: { $restored ->
        [one] one contact restored
       *[other] { $restored_text } contacts restored
    }, { $skipped ->
        [one] one left as it was
       *[other] { $skipped_text } left as they were
    }.
rules-back = ← All rules
rules-dry-run = What it would change now
rules-dry-count = { $count ->
    [0] No contact would change.
    [one] 1 contact would change.
   *[other] { $count_text } contacts would change.
}
rules-sample-caption = The first contacts that would change
rules-contact = Contact
rules-now = Now
rules-after = After
rules-apply = Apply the rule
rules-confirm = I have checked the list and want to apply the rule.
rules-confirm-required = Tick the box to confirm.
rules-delete = Delete the rule
rules-error-name = Give a name of at most 200 characters.
rules-error-name-taken = Another rule has this name.
rules-error-no-changes = Set at least one field.
rules-error-value = This value is not valid.
rules-error-key = Give a key of letters, digits, _ and - only, and its value.
rules-error-consent-type = No consent type has this code.
rules-error-period = The end of the period must come after its start.
rules-error-purposes = Give 1 to 50 purposes, separated by commas.
done-rule-saved = Rule saved. Check what it would change before applying it.
done-rule-applied = Rule applied.
done-rule-deleted = Rule deleted.
done-run-reverted = Run reverted.

rules-words-source = source “{ $value }”
rules-words-attribute = attribute { $key } equal to “{ $value }”
rules-words-legal-basis = legal basis: { $value }
rules-words-purpose = with the purpose “{ $value }”
rules-words-consent = consent { $type }: { $state }
rules-words-given-after = consent given on or after { $value }
rules-words-given-before = consent given before { $value }
rules-words-created-after = contact created on or after { $value }
rules-words-created-before = contact created before { $value }
rules-words-every-contact = every contact not erased
rules-words-and = and
rules-words-set-source = sets the source to “{ $value }”
rules-words-set-legal-basis = sets the legal basis: { $value }
rules-words-purposes-add = adds the purposes: { $value }
rules-words-purposes-remove = removes the purposes: { $value }
rules-words-purposes-replace = replaces the purposes with: { $value }
rules-words-attribute-set = sets the attribute { $key } to “{ $value }”
rules-words-attribute-remove = removes the attribute { $key }
