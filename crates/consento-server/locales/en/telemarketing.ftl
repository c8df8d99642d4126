# The contact card's telemarketing section: the opt-out register (Registro pubblico delle
# opposizioni), its exceptions, the calls' outcomes and the objection. Keep in step with
# it/telemarketing.ftl.

tm-title = Telemarketing and the opt-out register
tm-intro = What lets a marketing call reach each number or stops it: the check against the Italian opt-out register (Registro pubblico delle opposizioni), the public directories, the customer contract and the calls the person asked for. Times are in { $zone }.
tm-numbers = Numbers
tm-no-numbers = The contact has no phone number.
tm-primary = (main)
tm-col-number = Number
tm-col-register = Opt-out register
tm-col-directory = Public directory
tm-register-never = Never checked against the register
tm-register-checked = Checked on { $date }, valid until { $until }
tm-register-expired = Checked on { $date }: expired on { $until }, check it again
tm-register-enrolled = Enrolled in the register since { $date }
tm-register-not-enrolled = Not enrolled
tm-directory-unrecorded = Not recorded: treated as not listed
tm-directory-listed = Listed in a public directory
tm-directory-not-listed = Not listed in any public directory
tm-recorded = Source: { $source }; recorded on { $when } by { $by }.
tm-by-command-line = { $operator } (command line)
tm-directory-record = Record a number's directory listing
tm-field-number = Number
tm-field-listed = In a public directory?
tm-choose = Choose…
tm-listed-yes = Yes, listed
tm-listed-no = No, not listed
tm-field-directory-source = Directory consulted
tm-field-directory-source-hint = Which directory, and when it was consulted (e.g. “public phone directory, consulted on 2 March 2026”).

tm-customer = Customer relationship
tm-customer-none = No customer relationship recorded.
tm-customer-in-force = Contract in force.
tm-customer-ends = The contract ends on { $date }; the exception to the register holds until { $until }.
tm-customer-ended = The contract ended on { $date }; the exception to the register holds until { $until }.
tm-customer-ended-expired = The contract ended on { $date }; the exception to the register ended on { $until }.
tm-customer-hint = While a contract is in force, and for { $days ->
    [one] { $days_text } day
   *[other] { $days_text } days
  } after it ends, our own marketing calls may reach a number enrolled in the register (Law 5/2018, Art. 1); calls for third parties may not.
tm-customer-record = Record or clear the customer relationship
tm-field-contract = Contract
tm-contract-in-force = In force
tm-contract-until = Ends or ended on a date
tm-contract-none = None (clear it)
tm-field-until = Ends or ended on
tm-field-until-hint = Only for a contract that ends: the date and time, local.
tm-field-customer-source = Source
tm-field-customer-source-hint = The contract's reference or the CRM record.

tm-requests = Calls the person asked for
tm-requests-none = The person has not asked for a call.
tm-col-asked = Asked on
tm-col-valid-until = Valid until
tm-col-state = State
tm-col-source = Source
tm-request-used = Used by the call on { $date }
tm-request-open = Open
tm-request-lapsed = Lapsed
tm-request-record = Record a call the person asked for
tm-field-requested-at = Asked on
tm-field-request-source = How the person asked
tm-field-request-source-hint = A web form, a call, a letter…

tm-objection = Objection to direct marketing
tm-objection-none = The person does not object to direct marketing.
tm-objection-said = Said on
tm-objection-recorded = Recorded on
tm-objection-recorded-unknown = not known
tm-objection-how = How
tm-objection-during-call = Refused promotional calls during a call (campaign “{ $campaign }”, operator { $operator }).

tm-calls = Calls' outcomes
tm-calls-none = No call has been recorded.
tm-calls-more = The latest { $shown_text } of { $total_text } calls; the history below lists them all.
tm-col-called-at = When
tm-col-outcome = Outcome
tm-col-campaign = Campaign
tm-col-operator = Operator
tm-call-record = Record a call's outcome
tm-field-outcome = Outcome
tm-field-campaign = Campaign
tm-field-operator = Operator
tm-field-called-at = When
tm-call-hint = If the person refuses promotional calls, that is their objection to direct marketing: it is recorded at once, from the instant of the call, for every campaign (GDPR Art. 21(3)).
tm-call-save = Record the call

tm-error-instant-required = Give the date and the time.
tm-error-instant-time = Give the time of day as well as the date.
tm-error-instant-invalid = This is not a date and time.
tm-error-contract = Choose whether the contract is in force, ends on a date, or there is none.
tm-error-source = Say where this comes from, in 1 to 500 characters.
tm-error-listed = Say whether the number is in a public directory.
tm-error-phone = Choose one of the contact's numbers.
tm-error-requested-future = The person cannot have asked in the future.
tm-error-requested-lapsed = This request has already lapsed ({ $days ->
    [one] { $days_text } day
   *[other] { $days_text } days
  }): the call it asked for may no longer be made.
tm-error-requested-at = The person cannot have asked in the future, nor so long ago that the request has lapsed.
tm-error-outcome = Choose how the call ended.
tm-error-campaign = Give the campaign, in 1 to 200 characters on one line.
tm-error-operator = Give who placed the call, in 1 to 128 characters on one line.
tm-error-called-future = The call cannot be in the future.
tm-error-called-old = The call is more than 30 days old: it can no longer be recorded.
tm-error-called-at = The call cannot be in the future nor more than 30 days old.

done-customer-set = Customer relationship recorded.
done-customer-cleared = Customer relationship cleared.
done-directory-saved = Directory listing recorded.
done-call-request-saved = Call request recorded.
done-call-recorded = Call recorded.
done-call-recorded-objection = Call recorded. The refusal is the person's objection to direct marketing, recorded from the instant of the call.
