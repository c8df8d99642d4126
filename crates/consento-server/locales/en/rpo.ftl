# The opt-out register (Registro pubblico delle opposizioni, L. 5/2018, DPR 26/2022) and the campaign lists. Keep in step with it/rpo.ftl.
nav-rpo = Opt-out register
rpo-title = Opt-out register
rpo-intro = Before telemarketing, Italian numbers must be checked against the public opt-out register (Registro pubblico delle opposizioni) at least every 15 days. Send the register the list of numbers due, then import its answer here: a number found enrolled loses the phone-marketing and third-party consents given before.
rpo-latest = Latest check
rpo-never = No answer of the register has been imported yet.
rpo-answered-at = Answered on
rpo-valid-until = Counts until
rpo-no-longer-counts = (no longer counts)
rpo-file = File
rpo-sha256 = SHA-256 of the file
rpo-mode = How the answer lists numbers
rpo-mode-enrolled = It lists the enrolled numbers
rpo-mode-callable = It lists the numbers that may be called
rpo-mode-hint = Read when a line holds a number alone; a line stating its outcome (3331234567;1) is read as it says.
rpo-imported-by = Imported by
rpo-by-token = API token “{ $name }”
rpo-numbers = Numbers
rpo-enrolled = Enrolled
rpo-newly-enrolled = Enrolled for the first time
rpo-revoked = Consents revoked
rpo-numbers-now = Numbers now
rpo-due-count = { $count ->
    [0] No number is due for a check.
    [one] One number is due for a check (never checked, or its check no longer counts).
   *[other] { $count_text } numbers are due for a check (never checked, or their check no longer counts).
}
rpo-enrolled-count = { $count ->
    [0] No number is enrolled in the register.
    [one] One number is enrolled in the register.
   *[other] { $count_text } numbers are enrolled in the register.
}
rpo-checked-count = { $count ->
    [0] No number has a check that still counts.
    [one] One number has a check that still counts.
   *[other] { $count_text } numbers have a check that still counts.
}
rpo-due-form = Write the numbers
rpo-form-national = Without the country code (3331234567)
rpo-form-e164 = With +39 (+393331234567)
rpo-due-download = Download the list to send
rpo-due-hint = One number per line, as the register reads them. Keep the file: the import asks for it with the answer.
rpo-import = Import the register's answer
rpo-answer-file = The register's answer
rpo-answer-hint = One number per line, optionally followed by ; and 1 if it is enrolled, 0 if not.
rpo-sent-file = The list sent
rpo-sent-hint = The list downloaded above and sent to the register: every number of the answer must be in it.
rpo-checked-at = When the register answered
rpo-import-start = Import
rpo-imported = The answer was imported. Numbers: { $numbers_text }; enrolled: { $enrolled_text }; enrolled for the first time: { $newly_text }; consents revoked: { $revoked_text }.
rpo-recent = Recent checks
rpo-error-upload = The upload could not be read: choose the files again.
rpo-error-not-utf-8 = The file is not UTF-8 text.
rpo-error-answer-missing = Choose the file of the register's answer.
rpo-error-sent-missing = Choose the file of the list sent.
rpo-error-mode = Choose how the answer lists numbers.
rpo-error-checked-at-missing = Give the date and time the register answered.
rpo-error-checked-at = Give a date and time, such as 2026-03-02 10:00.
rpo-error-checked-at-future = The register cannot have answered in the future.
rpo-error-file-name = The file's name must be 1 to 255 characters.
rpo-error-form = Choose how to write the numbers.
rpo-error-answer-lines = { $count ->
    [one] The register's answer has a bad line; nothing was imported:
   *[other] The register's answer has { $count_text } bad lines; nothing was imported:
}
rpo-error-sent-lines = { $count ->
    [one] The list sent has a bad line; nothing was imported:
   *[other] The list sent has { $count_text } bad lines; nothing was imported:
}
rpo-error-line = Line { $line_text }: { $problem }
rpo-error-more-lines = { $count ->
    [one] and one more line.
   *[other] and { $count_text } more lines.
}
rpo-problem-not-a-phone-number = it is not a phone number.
rpo-problem-not-italian = it is not an Italian number: the register holds none of other countries.
rpo-problem-not-in-list-sent = the number was not in the list sent: the answer is to another list.
rpo-problem-not-an-outcome = the outcome is not one: write 1 if the number is enrolled, 0 if not.
rpo-problem-contradicts = the number is answered otherwise on line { $line_text }.
rpo-campaign = Campaign list
rpo-campaign-intro = The numbers a dialer may call now for a telemarketing campaign, each decided as a call would be (consent, objections, calling hours, silent calls, the register), as CSV.
rpo-campaign-name = Campaign
rpo-campaign-leave-out = Leave out the numbers without a check that counts
rpo-campaign-count = Count
rpo-campaign-download = Download CSV
rpo-campaign-counted-at = Counted at { $at }.
rpo-campaign-callable = Numbers to call now
rpo-campaign-nobody-excluded = No number is left out.
rpo-campaign-excluded = Left out, by cause
rpo-campaign-cause = Cause
rpo-campaign-error-name = Give the campaign's name: 1 to 200 characters on one line.
rpo-campaign-unchecked = { $count ->
    [one] One number has no check against the register that still counts: download the list due, import the register's answer, or leave it out.
   *[other] { $count_text } numbers have no check against the register that still counts: download the list due, import the register's answer, or leave them out.
}
rpo-cause-channel-off = Calls switched off by the person
rpo-cause-suppressed = Number on the suppression list
rpo-cause-outside-calling-hours = Outside the calling hours
rpo-cause-silent-call-cooldown = A silent call reached it recently
rpo-cause-rpo-check-missing = Never checked against the register
rpo-cause-rpo-check-expired = Its check no longer counts
rpo-cause-rpo-enrolled = Enrolled in the register
