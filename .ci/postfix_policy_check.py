"""Consento's policy service in front of a real Postfix (set up by .ci/postfix-policy): a CRM's
emails sent with smtplib to Postfix, which asks Consento about each recipient.

- Anna gave the consent: Postfix delivers to the sink.
- Carla's processing is restricted (GDPR Art. 18): refused at RCPT TO, 550 5.7.1 with the rule.
- Bruno gave none: accepted, and put in Postfix's hold queue; the sender gets Consento's email
  with a signed link; an operator follows it, signs in to the console and gives the reason; the
  justified contact is recorded, Consento runs `postsuper -H`, and the message reaches the sink.

Any failed check exits non-zero.

    python3 .ci/postfix_policy_check.py --base-url http://127.0.0.1:18230 --token cns_... \
        --smtp-port 12527 --sink /tmp/sink --postfix-config /tmp/pf/etc \
        --username operatore@esempio.it --password '...'
"""

import argparse
import http.cookiejar
import json
import os
import re
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage

from smtp_sink import received

ANNA = "anna.neri@example.com"
BRUNO = "bruno.verdi@example.com"
CARLA = "carla.blu@example.com"


def fail(why):
    print(f"FAIL: {why}", file=sys.stderr)
    sys.exit(1)


def check(condition, why):
    if not condition:
        fail(why)


class Api:
    """The HTTP API with an admin token."""

    def __init__(self, base, token):
        self.base, self.token = base.rstrip("/"), token

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Console:
    """A browser on the console: keeps its cookies, does not follow redirects."""

    def __init__(self, base):
        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
        )

    def send(self, path, form=None):
        data = None if form is None else urllib.parse.urlencode(form).encode()
        url = path if path.startswith("http") else self.base + path
        try:
            with self.opener.open(urllib.request.Request(url, data=data)) as r:
                return r.status, r.headers.get("Location"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location"), e.read().decode()

    @staticmethod
    def csrf(page):
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        check(found, "a console form without its CSRF token")
        return found.group(1)


def wait_for(what, found, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.25)
    fail(f"{what}: not within {seconds} s")


def to(sink, recipient):
    return [m for (env, m) in received(sink) if recipient in env["to"]]


def hold_queue(config):
    """Postfix's queue as `postqueue -p` lists it: held messages carry `!` after their id."""
    listing = subprocess.run(
        ["postqueue", "-c", config, "-p"], capture_output=True, text=True, check=True
    ).stdout
    return re.findall(r"^([0-9A-Za-z]+)!", listing, re.MULTILINE), listing


def message(sender, recipient, subject):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = recipient
    m["Subject"] = subject
    m.set_content(f"{subject}\n\nUn messaggio dal CRM.\n")
    return m


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--smtp-port", type=int, required=True)
    p.add_argument("--sink", required=True)
    p.add_argument("--postfix-config", required=True)
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    args = p.parse_args()
    api = Api(args.base_url, args.token)
    sender = args.username

    print("-- the office: checks on, a consent type, a reason, three contacts")
    status, body = api.call(
        "PUT",
        "/v1/settings",
        {"check_email_single": True, "check_email_bulk": True, "check_phone": True, "check_sms": True},
    )
    check(status == 200, f"settings: {status} {body}")
    status, body = api.call(
        "POST",
        "/v1/consent-types",
        {"code": "INFO", "title": "Informazioni", "validity_days": 730, "permits": ["email.single"], "purpose": "service"},
    )
    check(status == 201, f"consent type: {status} {body}")
    status, reason = api.call(
        "POST", "/v1/reasons", {"label": "Risposta a una richiesta del cliente", "marketing": False}
    )
    check(status == 201, f"reason: {status} {reason}")
    ids = {}
    for name, address in [("Anna Neri", ANNA), ("Bruno Verdi", BRUNO), ("Carla Blu", CARLA)]:
        status, c = api.call("POST", "/v1/contacts", {"name": name, "emails": [address]})
        check(status == 201, f"contact: {status} {c}")
        ids[address] = c["id"]
    status, body = api.call(
        "POST", f"/v1/contacts/{ids[ANNA]}/consents", {"kind": "given", "type_code": "INFO", "method": "email"}
    )
    check(status == 201, f"consent: {status} {body}")
    status, body = api.call("PUT", f"/v1/contacts/{ids[CARLA]}/restriction", {})
    check(status == 200, f"restriction: {status} {body}")

    print("-- sending through Postfix with smtplib")
    with smtplib.SMTP("127.0.0.1", args.smtp_port, timeout=30) as smtp:
        smtp.ehlo("crm.esempio.it")
        refused = smtp.send_message(message(sender, ANNA, "Conferma appuntamento"))
        check(refused == {}, f"Anna refused: {refused}")
        try:
            smtp.send_message(message(sender, CARLA, "Offerta"))
            fail("Carla's email was accepted")
        except smtplib.SMTPRecipientsRefused as e:
            code, text = e.recipients[CARLA]
            print(f"   Carla refused: {code} {text.decode()}")
            check(code == 550, f"Carla refused with {code}, not 550")
            # Postfix puts the address and its own words before the policy's text.
            check(text.startswith(b"5.7.1 ") and b"restricted: " in text, f"Carla refused with {text!r}")
        refused = smtp.send_message(message(sender, BRUNO, "Preventivo richiesto"))
        check(refused == {}, f"Bruno refused: {refused}")

    print("-- the allowed email reaches the sink; the one that needs a reason is held")
    wait_for("Anna's email at the sink", lambda: to(args.sink, ANNA))
    held, listing = wait_for("a held message in Postfix's queue", lambda: hold_queue(args.postfix_config)[0] and hold_queue(args.postfix_config))
    check(len(held) == 1, f"one held message expected:\n{listing}")
    check(BRUNO in listing, f"Bruno's email is not the held one:\n{listing}")
    queue_id = held[0]
    print(f"   held in Postfix as {queue_id}")
    check(not to(args.sink, BRUNO), "Bruno's email was delivered before any reason")
    check(not to(args.sink, CARLA), "Carla's email was delivered")

    print("-- the sender is told, with the signed link")
    notice = wait_for("the notice to the sender", lambda: to(args.sink, sender))[0]
    check(BRUNO in notice["Subject"], f"the notice's subject: {notice['Subject']}")
    text = notice.get_body(preferencelist=("plain",)).get_content()
    link = re.search(re.escape(args.base_url.rstrip("/")) + r"/held/[A-Za-z0-9_-]+", text)
    check(link, f"no link in the notice:\n{text}")
    link = link.group(0)

    print("-- the operator follows it, signs in and gives the reason")
    browser = Console(args.base_url)
    status, location, _ = browser.send(link)
    check(status == 303 and location.startswith("/login"), f"the link without a session: {status} {location}")
    status, _, page = browser.send("/login")
    status, location, page = browser.send(
        "/login",
        {"csrf": Console.csrf(page), "next": location.split("next=", 1)[-1], "username": args.username, "password": args.password},
    )
    check(status == 303, f"login: {status}\n{page}")
    status, location, _ = browser.send(link)
    check(status == 303 and location.startswith("/held?justify="), f"the link signed in: {status} {location}")
    held_id = location.split("justify=", 1)[1].split("#", 1)[0]
    status, _, page = browser.send(location.split("#", 1)[0])
    check(status == 200 and 'id="justify-dialog"' in page, f"the reason pop-up: {status}")
    check(reason["id"] in page, "the reason is not offered")
    status, location, page = browser.send(
        f"/held/{held_id}/release",
        {"csrf": Console.csrf(page), "reason": reason["id"], "note": "Ha chiesto un preventivo"},
    )
    check(status == 303 and location == "/held?done=held-released", f"release: {status} {location}\n{page}")
    status, body = api.call("GET", f"/v1/contacts/{ids[BRUNO]}/interactions")
    check(status == 200, f"interactions: {status} {body}")
    items = body if isinstance(body, list) else body.get("items", body.get("interactions", []))
    check(any(i.get("reason_id") == reason["id"] for i in items), f"no justified contact recorded: {body}")

    print("-- Consento runs postsuper -H: the email leaves Postfix and reaches the sink")
    delivered = wait_for("Bruno's email at the sink", lambda: to(args.sink, BRUNO))
    check(delivered[0]["Subject"] == "Preventivo richiesto", "another email reached Bruno")
    held, listing = hold_queue(args.postfix_config)
    check(not held, f"still held:\n{listing}")
    check(not to(args.sink, CARLA), "Carla's email was delivered")
    print("OK: allowed delivered, blocked refused with 550 5.7.1, held until a reason, then delivered")


if __name__ == "__main__":
    main()
