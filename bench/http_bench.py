#!/usr/bin/env python3
"""HTTP benchmark of `consento serve` against the minimal axum handler, in the same run on the
same machine, with wrk on loopback (bounded runs, interleaved rounds, medians).

    cargo build --release
    python3 bench/http_bench.py --db bench-data/http.db          # loads 1M demo contacts if absent
    python3 bench/http_bench.py --postgres postgres://postgres@127.0.0.1:5432/test --pg-schema httpbench
    python3 bench/http_bench.py --postgres … --processes 2   # two `consento serve` on one database

Measures POST /v1/decisions, the dialer's GET /v1/dialer, and durable consent writes
(POST /v1/contacts/{id}/consents with synchronous=FULL), each at --connections connections.
Prints a table: requests/s, p99, and the ratio to the minimal handler.

With --processes N (PostgreSQL), N `consento serve` processes share the database, as a business
runs them behind a load balancer, and N minimal handlers make the baseline: each target is
measured by N wrk runs at once, one per process with its share of the connections; requests/s
are summed and the p99 is the worst of the N.

The dialer asks about a random number of the first --contacts contacts (by id, the ones a
server fills its cache with): a marketing call its consent allows is
then checked at the ring (register, silent calls, exceptions). The demo data has no register
check, so the ring finds none and blocks (rpo_check_missing); --register-check first records the
register's answer for every number (one in twenty enrolled), as `consento rpo export|import`
would, so that the ring reads a check.
"""

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def wait_listening(proc):
    line = proc.stdout.readline()
    m = re.search(r"http://(\S+)", line)
    if not m:
        sys.exit(f"server did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return m.group(1)


def parse_wrk(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


def wrk(urls, script, duration, connections, env):
    """One wrk per URL at once, the connections shared out; summed req/s, worst p99."""
    threads = 2 if len(urls) == 1 else 1
    each = max(connections // len(urls), threads)
    procs = [subprocess.Popen(["wrk", f"-t{threads}", f"-c{each}", f"-d{duration}", "--latency",
                               "-s", script, url], env=env, stdout=subprocess.PIPE, text=True)
             for url in urls]
    outs = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            sys.exit(f"wrk failed: {out}")
        outs.append(parse_wrk(out))
    return (sum(o[0] for o in outs), max(o[1] for o in outs), sum(o[2] for o in outs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=os.path.join(ROOT, "bench-data", "http.db"))
    ap.add_argument("--postgres", help="a postgres:// URL: measure on PostgreSQL instead of --db")
    ap.add_argument("--pg-schema", default="httpbench")
    ap.add_argument("--contacts", type=int, default=1_000_000)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    # Long enough for a uniform random choice among 1M contacts to have asked about nearly all
    # of them (≈ 4M requests): a server that has run a while remembers the facts of whom it is
    # asked about (decision_cache_entries) and has the data set's pages in memory.
    ap.add_argument("--warmup", default="90s")
    ap.add_argument("--only", default="minimal,decisions,dialer,writes")
    # Another build (an earlier commit's, say) to compare with, against its own baseline.
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "consento"))
    ap.add_argument("--serve-env", action="append", default=[], metavar="KEY=VALUE",
                    help="configuration for the servers, e.g. CONSENTO_DECISION_CACHE_ENTRIES=0")
    ap.add_argument("--processes", type=int, default=1,
                    help="PostgreSQL: this many `consento serve` processes on the one database")
    ap.add_argument("--register-check", action="store_true",
                    help="record a register answer for every number first (once per database)")
    args = ap.parse_args()
    if args.processes > 1 and not args.postgres:
        sys.exit("--processes needs --postgres: SQLite is served by one process")
    binary = args.binary
    if args.postgres:
        target = ["--database-url", args.postgres, "--pg-schema", args.pg_schema]
        work_dir = os.path.join(ROOT, "bench-data")
        os.makedirs(work_dir, exist_ok=True)
    else:
        target = ["--database-url", f"sqlite:{args.db}"]
        work_dir = os.path.dirname(args.db)
        if not os.path.exists(args.db):
            os.makedirs(work_dir, exist_ok=True)
    if args.postgres:
        def rows(sql):
            out = run(["psql", args.postgres, "-At", "-c", f"SET search_path TO {args.pg_schema}; {sql}"])
            return [line for line in out.splitlines() if line and line != "SET"]
        loaded = rows("SELECT count(*) FROM contacts") if run(
            ["psql", args.postgres, "-At", "-c",
             f"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{args.pg_schema}' AND table_name = 'contacts'"]).strip() == "1" else ["0"]
        if loaded[0] == "0":
            print(f"loading {args.contacts} demo contacts into schema {args.pg_schema}…", file=sys.stderr)
            run([binary, *target, "demo", "--contacts", str(args.contacts)])
    else:
        if not os.path.exists(args.db):
            print(f"loading {args.contacts} demo contacts into {args.db}…", file=sys.stderr)
            run([binary, *target, "demo", "--contacts", str(args.contacts)])
        db = sqlite3.connect(args.db)
        def rows(sql):
            return [r[0] for r in db.execute(sql)]
    if args.register_check and rows("SELECT count(*) FROM rpo_checks")[0] in (0, "0"):
        sent = os.path.join(work_dir, "rpo-sent.txt")
        answer = os.path.join(work_dir, "rpo-answer.txt")
        run([binary, *target, "rpo", "export", "--all", "--output", sent])
        with open(sent) as f:
            numbers = f.read().split()
        with open(answer, "w") as f:
            f.write("".join(n + "\n" for n in numbers[::20]))
        answered = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        print(run([binary, *target, "rpo", "import", answer, "--sent", sent,
                   "--checked-at", answered, "--mode", "enrolled"]).strip(), file=sys.stderr)
    token = json.loads(run([binary, *target, "--json", "tokens", "create",
                            "--name", "http-bench", "--scope", "write"]))["secret"]
    # The numbers of the first --contacts contacts by id: those a server remembers from its
    # start (decision_cache_entries), as the decisions' external ids are.
    phones = rows("SELECT p.phone FROM contact_phones p JOIN (SELECT id FROM contacts ORDER BY id "
                  f"LIMIT {args.contacts}) c ON c.id = p.contact_id ORDER BY p.phone LIMIT 200000")
    types = rows("SELECT code FROM consent_types")
    if args.postgres:
        uuids = rows("SELECT id::text FROM contacts WHERE erased_at IS NULL ORDER BY id LIMIT 200000")
    else:
        ids = rows("SELECT lower(hex(id)) FROM contacts WHERE erased_at IS NULL ORDER BY id LIMIT 200000")
        uuids = [f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}" for h in ids]
    phones_file = os.path.join(work_dir, "phones.txt")
    with open(phones_file, "w") as f:
        f.write("\n".join(phones) + "\n")
    ids_file = os.path.join(work_dir, "ids.txt")
    with open(ids_file, "w") as f:
        f.write("\n".join(uuids) + "\n")
    env = dict(os.environ, CONSENTO_BENCH_TOKEN=token, CONSENTO_BENCH_PHONES=phones_file, CONSENTO_BENCH_IDS=ids_file,
               CONSENTO_BENCH_CONTACTS=str(args.contacts), CONSENTO_BENCH_TYPES=",".join(types))
    serve_env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENTO_")}
    serve_env.update(CONSENTO_LOG_LEVEL="warn", CONSENTO_SQLITE_FULL_SYNC="true",
                     CONSENTO_WEBHOOKS__ENABLED="false")
    serve_env.update(kv.split("=", 1) for kv in args.serve_env)
    servers = [subprocess.Popen([binary, *target, "serve", "--listen", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, text=True, env=serve_env)
               for _ in range(args.processes)]
    baselines = [subprocess.Popen([binary, "bench-baseline", "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, text=True)
                 for _ in range(args.processes)]
    try:
        apis = ["http://" + wait_listening(s) for s in servers]
        minimal = ["http://" + wait_listening(b) for b in baselines]
        targets = {
            "minimal": (minimal, "minimal.lua"),
            "decisions": (apis, "decisions.lua"),
            "dialer": (apis, "dialer.lua"),
            "writes": (apis, "writes.lua"),
        }
        chosen = [t for t in args.only.split(",") if t in targets]
        results = {t: [] for t in chosen}
        # A warm-up pass, not recorded: a long-running server has the data set's pages in
        # memory and remembers the contacts it was asked about; a fresh one first reads them.
        for t in [t for t in chosen if t in ("decisions", "dialer")]:
            base, script = targets[t]
            wrk(base, os.path.join(HERE, script), args.warmup, args.connections, env)
        for r in range(args.rounds):
            for t in chosen:
                base, script = targets[t]
                res = wrk(base, os.path.join(HERE, script), args.duration, args.connections, env)
                results[t].append(res)
                print(f"round {r + 1} {t:10} {res[0]:10.0f} req/s  p99 {res[1]:7.2f} ms"
                      f"  non-2xx {res[2]}", file=sys.stderr)
        base_rps = statistics.median(x[0] for x in results.get("minimal", [(0, 0, 0)])) or None
        base_p99 = statistics.median(x[1] for x in results.get("minimal", [(0, 0, 0)])) or None
        processes = f", {args.processes} processes" if args.processes > 1 else ""
        print(f"| endpoint ({args.connections} connections{processes}, {args.duration} x {args.rounds}) "
              "| req/s (median) | p99 ms (median) | vs minimal: req/s | vs minimal: p99 |")
        print("|---|---|---|---|---|")
        for t in chosen:
            rps = statistics.median(x[0] for x in results[t])
            p99 = statistics.median(x[1] for x in results[t])
            rr = f"{rps / base_rps:.2f}" if base_rps else "-"
            pr = f"{p99 / base_p99:.2f}" if base_p99 else "-"
            print(f"| {t} | {rps:,.0f} | {p99:.2f} | {rr} | {pr} |")
        for api in apis:
            with urllib.request.urlopen(api + "/readyz") as r:
                assert r.status == 200
    finally:
        for p in servers + baselines:
            p.terminate()
            p.wait(timeout=60)


if __name__ == "__main__":
    main()
