#!/usr/bin/env python3
"""SMTP benchmark of Consento's relay against the same clients sending straight to the sink, in
the same run on the same machine, on loopback.

    cargo build --release --bin consento
    python3 bench/relay_bench.py --bin target/release/consento

Concurrent smtplib clients (threads, one kept-open connection each) send --messages messages of
1 and of 10 recipients: through the relay (AUTH PLAIN with a relay token; every recipient decided
at RCPT TO, the message stored before 250), and straight to a sink (.ci/smtp_sink.py). The
relay hands copies to its own sink asynchronously (its worker), so two things are measured:
submission (messages/s and p99 of one SMTP transaction, MAIL to the 250 after DATA) and the time
until the relay's sink holds every copy. Prints a table with the ratio relay/direct.
"""

import argparse
import glob
import json
import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from email.message import EmailMessage

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def api(base, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def wait_port(port, seconds=30):
    import socket

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listening on {port}")


def message(recipients, i):
    m = EmailMessage()
    m["From"] = "vendite@esempio.it"
    m["To"] = ", ".join(recipients)
    m["Subject"] = f"Benchmark {i}"
    m.set_content("Buongiorno,\n\n" + "una riga del messaggio di prova.\n" * 40)
    return m


def clients(port, token, recipients, total, concurrency):
    """Sends `total` messages over `concurrency` connections; (elapsed s, latencies ms)."""
    per = [total // concurrency + (1 if i < total % concurrency else 0) for i in range(concurrency)]
    latencies, errors = [], []
    lock = threading.Lock()
    start_gate = threading.Barrier(concurrency + 1)

    def work(n, k):
        try:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=60)
            smtp.ehlo("bench.esempio.it")
            if token:
                smtp.login("bench", token)
            mine = []
            start_gate.wait()
            for j in range(n):
                msg = message(recipients, f"{k}-{j}")
                t = time.perf_counter()
                refused = smtp.send_message(msg)
                mine.append((time.perf_counter() - t) * 1000)
                if refused:
                    raise RuntimeError(f"refused: {refused}")
            smtp.quit()
            with lock:
                latencies.extend(mine)
        except Exception as e:  # noqa: BLE001 (reported below)
            with lock:
                errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(n, k)) for k, n in enumerate(per)]
    for t in threads:
        t.start()
    start_gate.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        sys.exit(f"client errors: {errors[:3]}")
    return elapsed, latencies


def p99(values):
    return statistics.quantiles(values, n=100)[98]


def count(sink):
    return len(glob.glob(os.path.join(sink, "*.eml")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "consento"))
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--port-base", type=int, default=18250)
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    http, relay_port, direct_port, upstream_port = (args.port_base + i for i in range(4))
    work = tempfile.mkdtemp(prefix="relay-bench-")
    procs = []
    try:
        sinks = {}
        for name, port in [("direct", direct_port), ("upstream", upstream_port)]:
            sinks[name] = os.path.join(work, name)
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(ROOT, ".ci", "smtp_sink.py"), "--port", str(port), "--out", sinks[name]],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(port)
        home = os.path.join(work, "consento")
        os.makedirs(home)

        def token(name, scope):
            out = subprocess.run([args.bin, "--json", "tokens", "create", "--name", name, "--scope", scope],
                                 cwd=home, check=True, capture_output=True, text=True).stdout
            return json.loads(out)["secret"]

        admin, relay_token = token("bench-admin", "admin"), token("bench-relay", "relay")
        env = dict(os.environ, CONSENTO_LOG_LEVEL="warn", CONSENTO_WEBHOOKS__ENABLED="false",
                   CONSENTO_RELAY__LISTEN=f"127.0.0.1:{relay_port}",
                   CONSENTO_RELAY__UPSTREAM__HOST="127.0.0.1",
                   CONSENTO_RELAY__UPSTREAM__PORT=str(upstream_port),
                   CONSENTO_RELAY__UPSTREAM__TLS="none", CONSENTO_RELAY__POLL_INTERVAL_MS="20",
                   CONSENTO_RELAY__BATCH_SIZE="200", CONSENTO_RELAY__MESSAGES_PER_MINUTE="1000000",
                   CONSENTO_RELAY__MAX_CONNECTIONS="1000")
        procs.append(subprocess.Popen([args.bin, "serve", "--listen", f"127.0.0.1:{http}"], cwd=home, env=env,
                                      stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "serve.err"), "w")))
        wait_port(http)
        wait_port(relay_port)
        base = f"http://127.0.0.1:{http}"
        api(base, admin, "PUT", "/v1/settings", {"check_email_single": True, "check_email_bulk": True,
                                                  "check_phone": True, "check_sms": True})
        api(base, admin, "POST", "/v1/consent-types", {"code": "INFO", "title": "Informazioni", "validity_days": 730,
                                                        "permits": ["email.single"], "purpose": "service"})
        people = [f"cliente{i}@example.com" for i in range(10)]
        for p in people:
            c = api(base, admin, "POST", "/v1/contacts", {"emails": [p]})
            api(base, admin, "POST", f"/v1/contacts/{c['id']}/consents",
                {"kind": "given", "type_code": "INFO", "method": "email"})

        rows = []
        expected = 0  # copies the relay's sink should hold so far

        def wait_copies(since):
            while count(sinks["upstream"]) < expected:
                if time.perf_counter() - since > 600:
                    sys.exit(f"the relay's sink has {count(sinks['upstream'])} of {expected} copies after 600 s")
                time.sleep(0.02)
            return time.perf_counter() - since

        for n_rcpt in (1, 10):
            rcpts = people[:n_rcpt]
            warm = args.concurrency * 5
            # Warm-up, not counted: connections, caches, the first copies delivered.
            clients(direct_port, None, rcpts, warm, args.concurrency)
            clients(relay_port, relay_token, rcpts, warm, args.concurrency)
            expected += warm * n_rcpt
            wait_copies(time.perf_counter())
            d_el, d_lat = clients(direct_port, None, rcpts, args.messages, args.concurrency)
            t0 = time.perf_counter()
            r_el, r_lat = clients(relay_port, relay_token, rcpts, args.messages, args.concurrency)
            expected += args.messages * n_rcpt
            all_in = wait_copies(t0)
            rows.append((n_rcpt, args.messages / d_el, p99(d_lat), args.messages / r_el, p99(r_lat), all_in,
                         args.messages * n_rcpt / all_in))
        print(f"{args.messages} messages per size, {args.concurrency} concurrent clients, loopback, SQLite")
        print(f"{'rcpts':>5} | {'direct msg/s':>12} {'p99 ms':>7} | {'relay msg/s':>11} {'p99 ms':>7} | "
              f"{'ratio':>5} {'+p99 ms':>7} | {'all copies in s':>15} {'copies/s':>8}")
        for n, dr, dp, rr, rp, t, cps in rows:
            print(f"{n:>5} | {dr:>12.0f} {dp:>7.1f} | {rr:>11.0f} {rp:>7.1f} | {rr / dr:>5.2f} {rp - dp:>7.1f} | "
                  f"{t:>15.1f} {cps:>8.0f}")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
