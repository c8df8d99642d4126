#!/usr/bin/env python3
"""What remembering contacts costs a server in resident memory: starts `consento serve` on a
loaded data set twice, once remembering up to --entries contacts for its decisions and once
remembering none (decision_cache_entries = 0), waits each time until its start-up work is done
(the decision cache's fill, the audience index), and prints the anonymous resident memory
(RssAnon, /proc) of both, their difference per remembered contact, and what the cache itself
counts (`consento_decision_cache_contacts` and `_bytes` on /metrics).

    cargo build --release
    python3 bench/serve_rss.py --db bench-data/http.db --entries 1000000
    python3 bench/serve_rss.py --postgres postgres://postgres@127.0.0.1:5432/test --pg-schema hb1m

Run it on a quiet machine: nothing else should write to the data set meanwhile.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def gauges(base, token):
    req = urllib.request.Request(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"})
    text = urllib.request.urlopen(req, timeout=30).read().decode()
    out = {}
    for name in ("consento_decision_cache_contacts", "consento_decision_cache_bytes"):
        m = re.search(rf"^{name} (\d+)$", text, re.M)
        out[name] = int(m.group(1)) if m else None
    return out


def measure(binary, target, entries, token, settle):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENTO_")}
    env.update(CONSENTO_LOG_LEVEL="warn", CONSENTO_WEBHOOKS__ENABLED="false",
               CONSENTO_DECISION_CACHE_ENTRIES=str(entries))
    server = subprocess.Popen([binary, *target, "serve", "--listen", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        line = server.stdout.readline()
        m = re.search(r"http://(\S+)", line)
        if not m:
            sys.exit(f"server did not start: {line!r}")
        base = "http://" + m.group(1)
        started = time.monotonic()
        last, stable_since, seen = None, time.monotonic(), None
        while True:
            time.sleep(1)
            now = (rss_anon_kib(server.pid), gauges(base, token)["consento_decision_cache_contacts"])
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= settle:
                break
        seen = gauges(base, token)
        return {
            "rss_kib": rss_anon_kib(server.pid),
            "seconds": round(stable_since - started, 1),
            "contacts": seen["consento_decision_cache_contacts"],
            "bytes": seen["consento_decision_cache_bytes"],
        }
    finally:
        server.terminate()
        server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db")
    ap.add_argument("--postgres", help="a postgres:// URL: measure on PostgreSQL instead of --db")
    ap.add_argument("--pg-schema")
    ap.add_argument("--entries", type=int, default=1_000_000,
                    help="decision_cache_entries of the first run")
    ap.add_argument("--settle", type=float, default=10.0,
                    help="seconds without change that end a run's start-up")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "consento"))
    args = ap.parse_args()
    if args.postgres:
        target = ["--database-url", args.postgres, "--pg-schema", args.pg_schema]
    elif args.db:
        target = ["--database-url", f"sqlite:{args.db}"]
    else:
        sys.exit("give --db or --postgres")
    token = json.loads(subprocess.run(
        [args.binary, *target, "--json", "tokens", "create", "--name", "rss-bench", "--scope", "read"],
        check=True, capture_output=True, text=True).stdout)["secret"]
    full = measure(args.binary, target, args.entries, token, args.settle)
    none = measure(args.binary, target, 0, token, args.settle)
    print("| run | contacts remembered | cache's own count (bytes) | RssAnon | start-up work |")
    print("|---|---|---|---|---|")
    for name, r in ((f"decision_cache_entries = {args.entries}", full),
                    ("decision_cache_entries = 0", none)):
        contacts = "?" if r["contacts"] is None else f"{r['contacts']:,}"
        own = "?" if r["bytes"] is None else f"{r['bytes']:,}"
        print(f"| {name} | {contacts} | {own} | {r['rss_kib'] / 1024:,.0f} MiB | {r['seconds']} s |")
    # A build without the cache's gauges: the count asked for stands in for the count kept.
    count = full["contacts"] if full["contacts"] is not None else args.entries
    if count:
        per = (full["rss_kib"] - none["rss_kib"]) * 1024 / count
        print(f"\nper remembered contact: {per:.0f} bytes of resident memory"
              + ("" if full["bytes"] is None else
                 f", {full['bytes'] / count:.0f} bytes by the cache's own count")
              + ("" if full["contacts"] is not None else
                 f" (this build does not show its count: {args.entries:,} assumed)"))


if __name__ == "__main__":
    main()
