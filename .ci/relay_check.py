"""Consento as a CRM's outgoing mail server (set up by .ci/relay): a CRM's emails sent with
smtplib to the relay, authenticated with a token of scope `relay`, and what the sink got read
with Python's `email` parser.

- A single email to Anna (consent) and Carla (processing restricted, GDPR Art. 18): Carla is
  refused at RCPT TO with 550 5.7.1 and the rule, Anna's copy arrives.
- A bulk email (List-Id) to Anna and Erika: one copy each, each with its own List-Unsubscribe and
  List-Unsubscribe-Post (RFC 8058), none of Consento's X-Consento-* headers.
- The server killed (SIGKILL) right after the 250 of a message, then restarted: the message
  still arrives (nothing answered 250 is lost).

Any failed check exits non-zero.

    python3 .ci/relay_check.py --base-url http://127.0.0.1:18240 --token cns_... \
        --relay-token cns_... --relay-port 18241 --sink /tmp/sink \
        --pid-file /tmp/serve.pid --restart /tmp/start-serve.sh
"""

import argparse
import json
import os
import signal
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import EmailMessage

from smtp_sink import received

SENDER = "vendite@esempio.it"
ANNA = "anna.neri@example.com"
CARLA = "carla.blu@example.com"
ERIKA = "erika.rossi@example.com"


def fail(why):
    print(f"FAIL: {why}", file=sys.stderr)
    sys.exit(1)


def check(condition, why):
    if not condition:
        fail(why)


def api(base, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(what, found, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.2)
    fail(f"{what}: not within {seconds} s")


def with_subject(sink, subject):
    return [(env, m) for (env, m) in received(sink) if m["Subject"] == subject]


def message(recipients, subject, headers=()):
    m = EmailMessage()
    m["From"] = SENDER
    m["To"] = ", ".join(recipients)
    m["Subject"] = subject
    for name, value in headers:
        m[name] = value
    m.set_content(f"{subject}\n\nUn messaggio dal CRM.\n")
    return m


def relay(port, token):
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=30)
    smtp.ehlo("crm.esempio.it")
    # AUTH PLAIN with the token as the password: allowed in clear on loopback only.
    smtp.login("crm", token)
    return smtp


def no_consento_headers(m, who):
    leaked = [k for k in m.keys() if k.lower().startswith("x-consento")]
    check(not leaked, f"{who}: Consento's headers left in the copy: {leaked}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--relay-token", required=True)
    p.add_argument("--relay-port", type=int, required=True)
    p.add_argument("--sink", required=True)
    p.add_argument("--pid-file", required=True)
    p.add_argument("--restart", required=True)
    args = p.parse_args()

    print("-- the office: checks on, a consent type, three contacts")
    call = lambda *a: api(args.base_url, args.token, *a)  # noqa: E731
    status, body = call(
        "PUT",
        "/v1/settings",
        {"check_email_single": True, "check_email_bulk": True, "check_phone": True, "check_sms": True},
    )
    check(status == 200, f"settings: {status} {body}")
    status, body = call(
        "POST",
        "/v1/consent-types",
        {
            "code": "NEWS",
            "title": "Newsletter",
            "validity_days": 730,
            "permits": ["email.single", "email.bulk"],
            "purpose": "marketing",
        },
    )
    check(status == 201, f"consent type: {status} {body}")
    ids = {}
    for name, address in [("Anna Neri", ANNA), ("Carla Blu", CARLA), ("Erika Rossi", ERIKA)]:
        status, c = call("POST", "/v1/contacts", {"name": name, "emails": [address]})
        check(status == 201, f"contact: {status} {c}")
        ids[address] = c["id"]
        status, body = call(
            "POST", f"/v1/contacts/{c['id']}/consents", {"kind": "given", "type_code": "NEWS", "method": "email"}
        )
        check(status == 201, f"consent: {status} {body}")
    status, body = call("PUT", f"/v1/contacts/{ids[CARLA]}/restriction", {})
    check(status == 200, f"restriction: {status} {body}")

    print("-- a single email to an allowed and a blocked recipient")
    with relay(args.relay_port, args.relay_token) as smtp:
        refused = smtp.send_message(message([ANNA, CARLA], "Conferma appuntamento"))
        check(CARLA in refused, f"Carla was not refused: {refused}")
        code, text = refused[CARLA]
        print(f"   Carla refused: {code} {text.decode()}")
        check(code == 550, f"Carla refused with {code}, not 550")
        check(text.startswith(b"5.7.1 ") and b"restrict" in text, f"Carla refused with {text!r}")
        check(ANNA not in refused, f"Anna refused: {refused}")
    got = wait_for("Anna's copy", lambda: with_subject(args.sink, "Conferma appuntamento"))
    time.sleep(1)
    got = with_subject(args.sink, "Conferma appuntamento")
    check([env["to"] for env, _ in got] == [[ANNA]], f"single email copies: {[e for e, _ in got]}")
    no_consento_headers(got[0][1], "single")

    print("-- a bulk email (List-Id) to two allowed recipients: a copy each, its own headers")
    with relay(args.relay_port, args.relay_token) as smtp:
        refused = smtp.send_message(
            message(
                [ANNA, ERIKA],
                "Le novita di dicembre",
                [("List-Id", "Novita <news.esempio.it>"), ("X-Consento-Note", "campagna di dicembre")],
            )
        )
        check(refused == {}, f"bulk refused: {refused}")
    got = wait_for(
        "both bulk copies", lambda: (lambda c: c if len(c) >= 2 else None)(with_subject(args.sink, "Le novita di dicembre"))
    )
    links = {}
    for env, m in got:
        check(len(env["to"]) == 1, f"a bulk copy to several recipients: {env}")
        who = env["to"][0]
        unsubscribe = m["List-Unsubscribe"]
        check(
            unsubscribe is not None and "/u/" in str(unsubscribe) and str(unsubscribe).startswith("<http"),
            f"{who}: List-Unsubscribe {unsubscribe}",
        )
        check(m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", f"{who}: List-Unsubscribe-Post {m['List-Unsubscribe-Post']}")
        no_consento_headers(m, who)
        links[who] = str(unsubscribe)
    check(sorted(links) == sorted([ANNA, ERIKA]), f"bulk copies to {sorted(links)}")
    check(links[ANNA] != links[ERIKA], "the two copies share one unsubscribe link")

    print("-- killed right after a 250, restarted: the message still arrives")
    with open(args.pid_file) as f:
        pid = int(f.read().strip())
    smtp = relay(args.relay_port, args.relay_token)
    refused = smtp.send_message(message([ANNA], "Dopo il riavvio"))
    # The 250 is in; the worker polls every 5 s, so it has almost surely not delivered yet.
    os.kill(pid, signal.SIGKILL)
    smtp.close()
    check(refused == {}, f"refused before the kill: {refused}")
    time.sleep(0.5)
    check(not with_subject(args.sink, "Dopo il riavvio"), "delivered before the kill: the check proves nothing")
    subprocess.run(["bash", args.restart], check=True)
    got = wait_for("the message after the restart", lambda: with_subject(args.sink, "Dopo il riavvio"))
    check([env["to"] for env, _ in got] == [[ANNA]], f"after the restart: {[e for e, _ in got]}")
    print("OK: blocked refused at RCPT with 550 5.7.1, copies per recipient with their own headers, none lost to a kill")


if __name__ == "__main__":
    main()
