"""A CRM's integration, written against the Python client generated from Consento's served
OpenAPI document (openapi-python-client, package `consento_client`): create a consent type and a
contact, give consent, ask a decision and a batch, read the consent history, fetch the contact's
links, download the zip export and a signed receipt. Then a dialer's telemarketing campaign end to
end: the numbers due for the opt-out register and its answer imported, the campaign's list, the
decision at the ring, the calls' outcomes (a refusal objects at once, a silent call keeps the number
away) and the campaign's report. Every answer is checked; any failure exits non-zero.

    python3 .ci/openapi_client_check.py --base-url http://127.0.0.1:18223 --token cns_...
"""

import argparse
import base64
import datetime
import random
import io
import json
import sys
import uuid
import zipfile

from consento_client import AuthenticatedClient
from consento_client.api.consent_types import create_consent_type
from consento_client.api.consents import (
    get_consent_history,
    get_consent_receipt,
    get_receipt_keys,
    record_consent_event,
)
from consento_client.api.contacts import create_contact, export_contact, get_contact_links
from consento_client.api.calls import (
    campaign_list,
    campaign_report,
    get_telemarketing,
    record_call_outcome,
)
from consento_client.api.decisions import decide, decide_batch, decide_for_dialer
from consento_client.api.rpo import get_rpo_status, import_rpo_answer, list_rpo_due_numbers
from consento_client.api.settings import update_settings
from consento_client.models import (
    ActionName,
    ActorKindName,
    Attributes,
    BatchRecipient,
    BatchRequest,
    CallOutcomeName,
    CallOutcomeOut,
    CallOutcomeRequest,
    CampaignListOut,
    CampaignReportOut,
    CauseName,
    ConsentEventRequest,
    ConsentHistory,
    ConsentTypeCreate,
    ConsentTypeOut,
    ContactCreate,
    ContactOut,
    ContactSelector,
    DecisionRequest,
    DecisionResponse,
    DecisionRuleName,
    EventKindName,
    ExportFormat,
    PurposeName,
    Jwks,
    LegalBasisName,
    LinksOut,
    MethodName,
    Outcome,
    Problem,
    ReceiptFormat,
    RecipientError,
    RecordedEventOut,
    RpoAnswerModeName,
    RpoAnswerRequest,
    RpoImportOut,
    RpoNumberFormName,
    RpoStatusOut,
    Settings,
    TelemarketingOut,
)
from consento_client.types import File

PASSED = []


class CheckFailed(Exception):
    pass


def check(name, condition, detail=""):
    if not condition:
        raise CheckFailed(f"{name}: {detail}")
    PASSED.append(name)
    print(f"ok   {name}")


def answer(response, status, kind):
    """The parsed body of a generated client's answer, after checking its status and type."""
    if response.status_code != status or not isinstance(response.parsed, kind):
        raise CheckFailed(
            f"expected {status} {kind.__name__}, got {int(response.status_code)}: "
            f"{response.content[:500]!r}"
        )
    return response.parsed


def b64url(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def run(base_url, token):
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
    run_id = uuid.uuid4().hex[:10]
    code = f"ci_news_{run_id}"
    email = f"ci.{run_id}@example.it"

    with client:
        # A consent type that permits newsletters and single emails, valid a year.
        created = answer(
            create_consent_type.sync_detailed(
                client=client,
                body=ConsentTypeCreate(
                    code=code,
                    title=f"Newsletter {run_id}",
                    permits=[ActionName.EMAIL_BULK, ActionName.EMAIL_SINGLE],
                    validity_days=365,
                ),
            ),
            201,
            ConsentTypeOut,
        )
        check("consent type created", created.code == code, created.code)

        # A contact, as a CRM would send it.
        attributes = Attributes.from_dict({"segment": "retail"})
        contact = answer(
            create_contact.sync_detailed(
                client=client,
                body=ContactCreate(
                    external_id=f"ci-{run_id}",
                    name="Giulia Bianchi",
                    emails=[email],
                    attributes=attributes,
                    source="ci",
                    legal_basis=LegalBasisName.CONSENT,
                    purposes=["newsletter"],
                ),
            ),
            201,
            ContactOut,
        )
        check("contact created", contact.emails == [email], contact.emails)
        check(
            "contact's attributes and legal basis read back",
            contact.attributes.to_dict() == {"segment": "retail"}
            and contact.legal_basis == LegalBasisName.CONSENT,
            f"{contact.attributes.to_dict()} {contact.legal_basis}",
        )

        # The person consents on a paper form.
        event = answer(
            record_consent_event.sync_detailed(
                id=contact.id,
                client=client,
                body=ConsentEventRequest(
                    kind=EventKindName.GIVEN,
                    type_code=code,
                    method=MethodName.PAPER,
                    evidence=f"paper form {run_id}",
                ),
                idempotency_key=f"ci-{run_id}",
            ),
            201,
            RecordedEventOut,
        )
        check("consent given", event.kind == EventKindName.GIVEN, event.kind)

        # May the newsletter reach them? May someone call them?
        allowed = answer(
            decide.sync_detailed(
                client=client,
                body=DecisionRequest(
                    contact=ContactSelector(email=email), action=ActionName.EMAIL_BULK
                ),
            ),
            200,
            DecisionResponse,
        )
        check(
            "a newsletter is allowed by the consent",
            allowed.outcome == Outcome.ALLOWED
            and allowed.rule in (DecisionRuleName.CONSENT, DecisionRuleName.CHECK_DISABLED)
            and (allowed.rule != DecisionRuleName.CONSENT or allowed.consent.code == code),
            f"{allowed.outcome} {allowed.rule}",
        )
        call = answer(
            decide.sync_detailed(
                client=client,
                body=DecisionRequest(
                    contact=ContactSelector(external_id=f"ci-{run_id}"),
                    action=ActionName.PHONE_CALL,
                ),
            ),
            200,
            DecisionResponse,
        )
        check(
            "a call without consent needs a reason (or the check is off)",
            (call.outcome == Outcome.NEEDS_JUSTIFICATION and call.cause.code == CauseName.NO_CONSENT)
            or (call.outcome == Outcome.ALLOWED and call.rule == DecisionRuleName.CHECK_DISABLED),
            f"{call.outcome} {call.rule}",
        )
        unknown = answer(
            decide.sync_detailed(
                client=client,
                body=DecisionRequest(
                    contact=ContactSelector(external_id=f"nobody-{run_id}"),
                    action=ActionName.EMAIL_BULK,
                ),
            ),
            404,
            Problem,
        )
        check("an unknown contact is a problem document", unknown.status == 404, unknown.status)

        # A send list at once: one known recipient, one unknown.
        batch = decide_batch.sync(
            client=client,
            body=BatchRequest(
                action=ActionName.EMAIL_BULK,
                recipients=[
                    BatchRecipient(email=email),
                    BatchRecipient(external_id=f"nobody-{run_id}"),
                ],
            ),
        )
        results = batch.results
        check(
            "a batch answers each recipient in order",
            len(results) == 2
            and isinstance(results[0], DecisionResponse)
            and results[0].outcome == allowed.outcome
            and isinstance(results[1], RecipientError)
            and results[1].error.status == 404,
            repr(results),
        )

        # The proof: the history with its method and actor.
        history = answer(
            get_consent_history.sync_detailed(id=contact.id, client=client), 200, ConsentHistory
        )
        items = history.items
        check(
            "the history holds the event with its proof",
            len(items) == 1
            and items[0].event_id == event.event_id
            and items[0].kind == EventKindName.GIVEN
            and items[0].method == MethodName.PAPER
            and items[0].actor.kind == ActorKindName.TOKEN
            and items[0].evidence == f"paper form {run_id}",
            repr(items),
        )

        # The links a mail sender puts in the newsletter.
        links = answer(
            get_contact_links.sync_detailed(id=contact.id, client=client, type_=code),
            200,
            LinksOut,
        )
        check(
            "the links carry the RFC 8058 headers",
            links.list_unsubscribe == f"<{links.unsubscribe_url}>"
            and links.list_unsubscribe_post == "List-Unsubscribe=One-Click"
            and links.preferences_url.startswith("http"),
            repr(links),
        )

        # The access export: the zip of CSV files, and the JSON document.
        archive = answer(
            export_contact.sync_detailed(
                id=contact.id, client=client, format_=ExportFormat.CSV
            ),
            200,
            File,
        )
        data = archive.payload.read()
        check("the CSV export is a zip", data.startswith(b"PK\x03\x04"), repr(data[:8]))
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
            contact_csv = z.read("contact.csv").decode("utf-8") if "contact.csv" in names else ""
        check(
            "the zip holds the contact's CSV files",
            {"contact.csv", "consents.csv", "consent_events.csv"} <= names
            and email in contact_csv,
            repr(sorted(names)),
        )
        document = answer(
            export_contact.sync_detailed(
                id=contact.id, client=client, format_=ExportFormat.JSON
            ),
            200,
            File,
        )
        exported = json.loads(document.payload.read())
        check(
            "the JSON export is the contact's",
            exported["contact"]["id"] == str(contact.id),
            repr(exported.get("contact")),
        )

        # The signed receipt of the consent, and the keys that verify it.
        jws = answer(
            get_consent_receipt.sync_detailed(
                id=event.event_id, client=client, format_=ReceiptFormat.JWS
            ),
            200,
            str,
        )
        parts = jws.split(".")
        check(
            "the receipt is a compact JWS of three parts",
            len(parts) == 3 and all(parts),
            jws[:80],
        )
        header = json.loads(b64url(parts[0]))
        payload = json.loads(b64url(parts[1]))
        check(
            "the JWS is EdDSA and names the event",
            header.get("alg") == "EdDSA" and payload.get("consentReceiptID") == str(event.event_id),
            f"{header} {payload.get('consentReceiptID')}",
        )
        receipt = json.loads(
            answer(
                get_consent_receipt.sync_detailed(
                    id=event.event_id, client=client, format_=ReceiptFormat.JSON
                ),
                200,
                str,
            )
        )
        check(
            "the JSON receipt holds the receipt, the record and the JWS",
            receipt["receipt"]["consentReceiptID"] == str(event.event_id)
            and receipt["jws"].count(".") == 2
            and "dpvRecord" in json.loads(b64url(receipt["jws"].split(".")[1])),
            repr(list(receipt)),
        )
        keys = answer(get_receipt_keys.sync_detailed(client=client), 200, Jwks)
        check(
            "the key set holds the receipt's key",
            any(k.kid == header.get("kid") and k.alg == "EdDSA" for k in keys.keys),
            repr([k.kid for k in keys.keys]),
        )


def run_dialer(client, run_id):
    """A dialer's telemarketing campaign through the API. The server's calling hours must be open
    at every hour (the CI starts it so), since the check runs at the wall clock's time."""
    code = f"ci_calls_{run_id}"
    campaign = f"ci-campaign-{run_id}"
    answer(
        update_settings.sync_detailed(
            client=client,
            body=Settings(
                check_email_bulk=True, check_email_single=True, check_phone=True, check_sms=True
            ),
        ),
        200,
        Settings,
    )
    answer(
        create_consent_type.sync_detailed(
            client=client,
            body=ConsentTypeCreate(
                code=code,
                title=f"Offerte telefoniche {run_id}",
                permits=[ActionName.PHONE_CALL],
                purpose=PurposeName.MARKETING,
                validity_days=365,
            ),
        ),
        201,
        ConsentTypeOut,
    )
    # Three people who agreed to promotional calls, on numbers of this run's own.
    base = random.randrange(10_000_000, 99_999_000)
    people = []
    for i in range(3):
        national = f"35{base + i:08d}"
        contact = answer(
            create_contact.sync_detailed(
                client=client,
                body=ContactCreate(external_id=f"ci-call-{run_id}-{i}", phones=[f"+39 {national}"]),
            ),
            201,
            ContactOut,
        )
        answer(
            record_consent_event.sync_detailed(
                id=contact.id,
                client=client,
                # Given an hour ago, on the phone: before the register's answer below.
                body=ConsentEventRequest(
                    kind=EventKindName.GIVEN,
                    type_code=code,
                    method=MethodName.PHONE,
                    event_time=datetime.datetime.now(datetime.timezone.utc)
                    - datetime.timedelta(hours=1),
                ),
            ),
            201,
            RecordedEventOut,
        )
        people.append((contact, national, f"+39{national}"))

    # Before the register is asked, the list is refused: its numbers have no check.
    refused = campaign_list.sync_detailed(campaign, client=client)
    check(
        "a campaign list with unchecked numbers is refused",
        refused.status_code == 409
        and isinstance(refused.parsed, Problem)
        and refused.parsed.field == "unchecked",
        f"{int(refused.status_code)} {refused.content[:200]!r}",
    )
    # The numbers due go to the register; it answers that the third is enrolled.
    due = answer(
        list_rpo_due_numbers.sync_detailed(client=client, form=RpoNumberFormName.NATIONAL), 200, str
    )
    lines = due.split()
    check(
        "the numbers due for the register hold this run's numbers, national form",
        all(n in lines for _, n, _ in people),
        f"{len(lines)} numbers",
    )
    imported = answer(
        import_rpo_answer.sync_detailed(
            client=client,
            body=RpoAnswerRequest(
                answer=f"{people[2][1]}\n",
                sent=due,
                file_name=f"esito-{run_id}.txt",
                checked_at=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1),
                mode=RpoAnswerModeName.ENROLLED,
            ),
        ),
        201,
        RpoImportOut,
    )
    check(
        "the register's answer is imported and revokes the enrolled number's consent",
        imported.enrolled == 1 and imported.revoked >= 1 and imported.numbers == len(lines),
        f"{imported.numbers} {imported.enrolled} {imported.revoked}",
    )
    status = answer(get_rpo_status.sync_detailed(client=client), 200, RpoStatusOut)
    check("nothing is due after the check", status.due == 0, status.due)
    summary = answer(
        get_telemarketing.sync_detailed(id=people[2][0].id, client=client), 200, TelemarketingOut
    )
    check(
        "the contact's numbers show the register's answer",
        summary.numbers[0].register is not None and summary.numbers[0].register.enrolled,
        summary.to_dict(),
    )

    # The campaign's list: the first two, not the enrolled one.
    listed = answer(campaign_list.sync_detailed(campaign, client=client), 200, CampaignListOut)
    numbers = {n.phone for n in listed.numbers}
    check(
        "the campaign list holds the callable numbers and not the enrolled one",
        people[0][2] in numbers and people[1][2] in numbers and people[2][2] not in numbers,
        f"{listed.count} numbers",
    )

    def ring(phone):
        return answer(
            decide_for_dialer.sync_detailed(client=client, phone=phone, action=ActionName.PHONE_CALL),
            200,
            DecisionResponse,
        )

    first = ring(people[0][2])
    check(
        "a listed number may be called at the ring",
        first.outcome == Outcome.ALLOWED and first.rule == DecisionRuleName.CONSENT,
        f"{first.outcome} {first.rule}",
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    for (_, _, phone), outcome in zip(
        people[:2], [CallOutcomeName.REFUSED_MARKETING, CallOutcomeName.SILENT]
    ):
        answer(
            record_call_outcome.sync_detailed(
                client=client,
                body=CallOutcomeRequest(
                    phone=phone,
                    outcome=outcome,
                    campaign=campaign,
                    operator="ci.dialer",
                    called_at=now - datetime.timedelta(seconds=30),
                ),
            ),
            201,
            CallOutcomeOut,
        )
    refused_ring = ring(people[0][2])
    check(
        "after \"no\" the person objects: no marketing call again",
        refused_ring.outcome != Outcome.ALLOWED and refused_ring.rule == DecisionRuleName.OBJECTED,
        f"{refused_ring.outcome} {refused_ring.rule}",
    )
    silent_ring = ring(people[1][2])
    check(
        "after a silent call the number is kept away",
        silent_ring.outcome == Outcome.BLOCKED
        and silent_ring.rule == DecisionRuleName.SILENT_CALL_COOLDOWN,
        f"{silent_ring.outcome} {silent_ring.rule}",
    )
    report = answer(campaign_report.sync_detailed(campaign, client=client), 200, CampaignReportOut)
    check(
        "the campaign report counts the calls and flags the silent rate",
        report.calls == 2
        and report.connected == 2
        and report.counts.silent == 1
        and report.counts.refused_marketing == 1
        and report.silent_flag,
        report.to_dict(),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    failed = 0
    try:
        run(args.base_url, args.token)
        with AuthenticatedClient(
            base_url=args.base_url, token=args.token, raise_on_unexpected_status=True
        ) as client:
            run_dialer(client, uuid.uuid4().hex[:10])
    except Exception as e:  # any failure, a crash of the generated client included
        failed = 1
        print(f"FAIL {type(e).__name__}: {e}", file=sys.stderr)
    print(f"openapi-client: {len(PASSED)} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
