# The frame of every page, logging in and out, errors, dates. Keep in step with it/core.ftl.

app-name = Consento
app-tagline = Consent and privacy for your CRM
skip-to-content = Skip to content

nav-dashboard = Dashboard
nav-contacts = Contacts
nav-newsletter = Newsletter
nav-setup = Setup
nav-audit = Activity log
nav-account = My account
nav-main = Main menu
signed-in-as = Signed in as { $name } ({ $role })

role-admin = Administrator
role-dpo = Data-protection officer
role-operator = Operator
role-auditor = Auditor

language = Language
language-apply = Change language

login-title = Sign in
login-username = Username
login-password = Password
login-submit = Sign in
login-failed = Wrong username or password.
login-locked = Too many failed attempts. Try again in { $minutes ->
        [one] one minute
       *[other] { $minutes_text } minutes
    }.
login-throttled = Too many attempts from this address. Wait a minute and try again.
logout = Sign out
done-logged-out = You have signed out.
session-ended = Your session has ended. Please sign in again.

password-title = Change your password
password-must-change = You signed in with a one-time password: choose your own before you go on.
password-current = Current password
password-new = New password
password-new-hint = At least 12 characters. A sentence you can remember works well.
password-confirm = Repeat the new password
password-submit = Change password
done-password-changed = Your password has been changed. Other sessions were signed out.
password-mismatch = The two new passwords differ.
password-wrong-current = The current password is wrong.

done-saved = Saved.
save = Save
cancel = Cancel
back = Back
search = Search
yes = Yes
no = No
actions = Actions
previous-page = Previous
next-page = Next
required = required

error-title = Something went wrong
error-not-found = This page does not exist, or the record it shows is gone.
error-forbidden = Your role does not allow this. Ask an administrator if you need it.
error-csrf = This form has expired or did not come from this site. Go back, reload the page and try again.
error-internal = An unexpected error occurred. It has been logged; please try again. If it happens again, tell your administrator the code { $id }.
error-invalid = Please check the field “{ $field }”: { $reason }
error-busy = The service is busy. Please try again in a moment.
error-too-many = Too many requests from this address. Please wait a minute and try again.
error-too-large = The file is larger than this server accepts. Split it into smaller files and upload each.
error-go-home = Go to the dashboard

month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

dashboard-title = Dashboard
dashboard-welcome = Hello, { $name }.
zone-note = Dates and times in the { $zone } time zone.

error-refused = The value of the field “{ $field }” is not valid: please check it and try again.
error-taken = The value of the field “{ $field }” is already used by another record.

error-choose = choose a value from the list.
