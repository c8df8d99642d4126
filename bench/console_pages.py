#!/usr/bin/env python3
"""How long the console's pages take on a large database: signs in as an administrator and
fetches each main page repeatedly, one at a time (a person's browser, not a load test), printing
the median and the slowest time per page.

    cargo build --release
    ./target/release/consento --database-url sqlite:bench-data/console1m.db demo --contacts 1000000
    python3 bench/console_pages.py --db bench-data/console1m.db
    python3 bench/console_pages.py --postgres postgres://postgres@127.0.0.1:5432/test --pg-schema d1m

The server is started on the database with CONSENTO_ADMIN_PASSWORD set, so a database without
accounts gets an administrator `admin` with a known password (an existing `admin` must have it).
"""

import argparse
import http.cookiejar
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PASSWORD = "benchmark password 2026"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--db", help="the SQLite file")
    p.add_argument("--postgres", help="a postgres:// URL: measure on PostgreSQL instead of --db")
    p.add_argument("--pg-schema", default="public")
    p.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "consento"))
    p.add_argument("--listen", default="127.0.0.1:18310")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--user", default="admin",
                   help="an administrator whose password is the benchmark's (`consento users create "
                        "--role admin --password-stdin`), where `admin` already has another")
    p.add_argument("--type", default="NEWSLETTER", help="a consent type that permits bulk email")
    args = p.parse_args()
    if not args.db and not args.postgres:
        sys.exit("give --db or --postgres")
    binary = args.binary
    if args.postgres:
        target = ["--database-url", args.postgres, "--pg-schema", args.pg_schema]
    else:
        target = ["--database-url", f"sqlite:{args.db}"]
    env = dict(os.environ, CONSENTO_ADMIN_PASSWORD=PASSWORD, CONSENTO_LOG_LEVEL="warn",
               CONSENTO_WEBHOOKS__ENABLED="false")
    server = subprocess.Popen(
        [binary, *target, "serve", "--listen", args.listen],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        line = server.stdout.readline()
        if "listening" not in line:
            sys.exit(f"server did not start: {line!r}")
        base = f"http://{args.listen}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
        html = opener.open(base + "/login").read().decode()
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)
        form = urllib.parse.urlencode({"csrf": csrf, "username": args.user, "password": PASSWORD,
                                       "next": "/"}).encode()
        try:
            opener.open(base + "/login", form)
        except urllib.error.HTTPError as e:
            if e.code != 303:
                sys.exit(f"sign-in failed: {e.code}")
        if args.postgres:
            def one(sql):
                return subprocess.run(
                    ["psql", args.postgres, "-At", "-c", f"SET search_path TO {args.pg_schema}; {sql}"],
                    check=True, capture_output=True, text=True).stdout.split()[-1]
            contact = one("SELECT id::text FROM contacts ORDER BY id LIMIT 1 OFFSET 500000")
            email = one("SELECT email FROM contacts WHERE email IS NOT NULL LIMIT 1 OFFSET 700000")
        else:
            db = sqlite3.connect(args.db)
            contact_id = db.execute("SELECT lower(hex(id)) FROM contacts ORDER BY id LIMIT 1 OFFSET 500000").fetchone()[0]
            contact = "-".join([contact_id[:8], contact_id[8:12], contact_id[12:16], contact_id[16:20], contact_id[20:]])
            email = db.execute("SELECT email FROM contacts WHERE email IS NOT NULL LIMIT 1 OFFSET 700000").fetchone()[0]
            db.close()
        code = args.type
        pages = [
            ("dashboard", "/"),
            ("contacts, first page", "/contacts"),
            ("contacts, a page deep in the list", None),
            ("search by a common name", "/contacts?q=rossi"),
            ("search by a rare name", "/contacts?q=zzyzx"),
            ("search by email", "/contacts?q=" + urllib.parse.quote(email)),
            ("contact card", f"/contacts/{contact}"),
            ("newsletter count, one type", f"/newsletter?type={code}"),
            ("audit trail", "/audit"),
        ]
        # A page deep in the list: follow the "next" link ten times and time the eleventh page.
        path = "/contacts"
        for _ in range(10):
            html = opener.open(base + path).read().decode()
            m = re.search(r'id="next-page"[^>]*href="([^"]+)"|href="([^"]+)"[^>]*id="next-page"', html)
            path = (m.group(1) or m.group(2)).replace("&amp;", "&")
        pages[2] = (pages[2][0], path)
        print(f"{'page':40} {'median ms':>10} {'max ms':>8}")
        for name, path in pages:
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                body = opener.open(base + path).read().decode()
                times.append((time.perf_counter() - start) * 1000)
                assert 'class="error"' not in body and "field-error" not in body, (name, body)
            print(f"{name:40} {statistics.median(times):10.1f} {max(times):8.1f}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
