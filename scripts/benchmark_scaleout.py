#!/usr/bin/env python3
"""Prints how fast the push empties a backlog over many sellers: the push
cron alone, and OCA queue_job jobs on 1 and on 4 Odoo workers.

Each run gets a scratch database cloned from one prepared database (the
addon and queue_job installed, ``--accounts`` Amazon seller accounts bound to
the local sandbox, ``--per-account`` validated deliveries each, validated in
turn across the sellers), a fresh sandbox (separate process, rate limits on:
confirmShipment 2/s, burst 10 per seller) and an Odoo server
(``--workers=N``, ``server_wide_modules = web,queue_job``, queue_job's job runner
configured with one channel of capacity 1 per seller). The push cron is then
triggered; the run ends when Odoo has no shipment pending or sending any
more (or after ``--timeout``), and its time is from the trigger to the last
confirmation the marketplace accepted. Everything is dropped at the end.

What the marketplace saw and holds is read from the sandbox's own request
log and store before it stops, never from Odoo's journal: the shipments it
holds, those it holds twice or accepted twice, those sent again after it had
recorded them, its 429 answers and the confirmShipment requests.

Goals, each printed PASS or FAIL per run (exit status 1 when one fails):

* every shipment held by the marketplace (none unsent);
* exactly once: none held twice, accepted twice or resent after the
  marketplace recorded it;
* no 429 in the sandbox's log;
* pace: at least 0.90 of the aggregate ceiling (the sellers' documented
  rates; the bursts count, so the best is above 1.0).

Conditions, printed in the first lines of the output: the date and cores,
sellers and shipments, the runners and their workers, the sandbox's limits,
the clients' pacing, the verify settings, the batch, and that every run
starts cold (fresh database copy, sandbox and server) and runs once.

Usage (with the Odoo virtualenv; PostgreSQL running; the template database
that scripts/test.sh builds, which has queue_job):

    $ODOO_VENV/bin/python scripts/benchmark_scaleout.py \\
        [--accounts 10] [--per-account 20] [--workers 1,4] [--template DB]
"""

import argparse
import contextlib
import datetime
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import psycopg2

# One reading of the sandbox's log and store for every script (chaos.py).
from chaos import marketplace_tally, tally_summary

ADDON = "stock_ecommerce_writeback"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE, BURST = 2.0, 10  # Amazon confirmShipment, per seller (the sandbox's plan)
ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo19")
MIN_RATIO = 0.90  # goal: share of the aggregate ceiling every run reaches
# The sandbox in a process of its own, its request log large enough to keep
# every request of a run.
SANDBOX_CODE = """
import json, signal, sys, time
sys.path.insert(0, {repo!r})
from sandbox import server
server.LOG_SIZE = 10 ** 7
srv = server.SandboxServer(host="127.0.0.1", port={port})
with open({seed!r}, encoding="utf-8") as fh:
    srv.seed(json.load(fh))
srv.start()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
while True:
    time.sleep(3600)
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sh(*cmd, **kw):
    subprocess.run(cmd, check=True, **kw)


def pg(dbname):
    conn = psycopg2.connect(dbname=dbname)
    conn.autocommit = True
    return conn


def find_template():
    with contextlib.closing(pg("postgres")) as conn, conn.cursor() as cr:
        cr.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [f"{ADDON}_tmpl_%"],
        )
        names = [row[0] for row in cr.fetchall()]
    for name in names:
        with contextlib.closing(pg(name)) as conn, conn.cursor() as cr:
            cr.execute(
                "SELECT 1 FROM ir_module_module WHERE name = 'queue_job' "
                "AND state = 'installed'"
            )
            if cr.fetchone():
                return name
    raise SystemExit(
        "No template database with queue_job: run scripts/test.sh once, "
        "or pass --template."
    )


def wait_http(url, timeout, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"{url}: the server exited ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def stop(proc):
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class SandboxSeed:
    """The orders tests/fixtures.py makes known to a sandbox, kept to seed
    the sandbox of every run with (``SandboxServer.seed``)."""

    def __init__(self):
        self.amazon_orders = []

    def add_amazon_order(self, order_id, **order):
        self.amazon_orders.append(dict(order, order_id=order_id))


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix=f"{ADDON}-scaleout.")
        os.makedirs(f"{self.work}/addons")
        os.symlink(REPO, f"{self.work}/addons/{ADDON}")
        spec = importlib.util.find_spec("odoo.addons.queue_job")
        if spec is None:
            raise SystemExit("queue_job is not installed (scripts/setup_env.sh)")
        queue_job_dir = os.path.dirname(os.path.dirname(spec.origin))
        self.addons_path = f"{ODOO_SRC}/odoo/addons,{queue_job_dir},{self.work}/addons"
        self.base = f"{ADDON}_scaleout_{os.getpid()}"
        self.sandbox_port = free_port()
        self.seed = f"{self.work}/seed.json"
        self.databases = [self.base]
        self.sellers = []
        self.shipments = {}  # order ref -> ("amazon", order ref, tracking)

    def odoo(self, dbname, *extra, workers=0, log=None):
        cfg = f"{self.work}/{dbname}.cfg"
        gevent_port = free_port()  # not 8072: other servers may run here
        channels = ",".join(
            [f"root:{max(workers, 1)}"]
            + [f"root.ecommerce_writeback.seller_{s}:1" for s in self.sellers]
        )
        with open(cfg, "w") as fh:
            fh.write(
                f"[options]\naddons_path = {self.addons_path}\n"
                f"data_dir = {self.work}/data\ndb_name = {dbname}\n"
                f"dbfilter = ^{dbname}$\nhttp_interface = 127.0.0.1\n"
                f"workers = {workers}\nmax_cron_threads = 1\n"
                f"gevent_port = {gevent_port}\n"
                "limit_time_real = 600\nlimit_time_cpu = 600\n"
                "server_wide_modules = web,queue_job\n"
                f"\n[queue_job]\nchannels = {channels}\n"
            )
        cmd = [sys.executable, f"{ODOO_SRC}/setup/odoo", "-c", cfg, *extra]
        return subprocess.Popen(
            cmd,
            stdout=open(log or os.devnull, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    # -- preparation -----------------------------------------------------
    def prepare(self):
        print(f"Preparing {self.base} from {self.args.template} ...", flush=True)
        sh("createdb", "-T", self.args.template, self.base)
        proc = self.odoo(
            self.base,
            "-i",
            ADDON,
            "--stop-after-init",
            "--http-port=0",
            log=f"{self.work}/install.log",
        )
        if proc.wait():
            raise SystemExit(f"install failed, see {self.work}/install.log")
        self.populate()

    def populate(self):
        """Accounts, products, orders and validated deliveries, in the base
        database (with Odoo in this process, by ``tests/fixtures.py``), and
        the sandbox seed."""
        import odoo
        from odoo import SUPERUSER_ID, api
        from odoo.modules.registry import Registry
        from odoo.tools import config

        config.parse_config(["-c", f"{self.work}/{self.base}.cfg"])
        from odoo.addons.stock_ecommerce_writeback.tests import fixtures

        url = f"http://127.0.0.1:{self.sandbox_port}"
        seed = SandboxSeed()
        with Registry(self.base).cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            accounts = [
                fixtures.seller_account(
                    env,
                    url,
                    "amazon",
                    f"bench-seller-{n + 1}",
                    name=f"Amazon seller {n + 1}",
                    timeout=10,
                )
                for n in range(self.args.accounts)
            ]
            self.sellers = [account.id for account in accounts]
            carrier = fixtures.carrier(env)
            product = fixtures.product(env, "Widget", "WA", stock=10**6)
            customer = env["res.partner"].create({"name": "Buyer"})
            start = time.monotonic()
            orders = []
            for n in range(self.args.per_account):  # in turn across sellers
                for index, account in enumerate(accounts):
                    ref = f"{900 + index}-{n:07d}-{account.id:07d}"
                    tracking = f"1Z{index:03d}{n:010d}"
                    orders.append((account, ref, index * 10**7 + n, tracking))
                    self.shipments[ref] = ("amazon", ref, tracking)
            for _chunk in fixtures.committed_deliveries(
                env, seed, orders, product, customer, carrier
            ):
                pass  # each chunk is committed as the next one is made
            cr.commit()
            print(
                f"  {len(seed.amazon_orders)} deliveries validated in "
                f"{time.monotonic() - start:.0f} s",
                flush=True,
            )
            # Nothing runs before the measured trigger.
            cr.execute("DELETE FROM ir_cron_trigger")
            cr.execute(
                "UPDATE ir_cron SET nextcall = now() at time zone 'utc' "
                "+ interval '1 day'"
            )
            self.push_cron = env.ref(f"{ADDON}.ir_cron_writeback_push").id
            cr.commit()
        Registry.delete(self.base)
        import odoo.sql_db

        odoo.sql_db.close_db(self.base)
        with open(self.seed, "w") as fh:
            json.dump({"amazon_orders": seed.amazon_orders}, fh)

    # -- one run -----------------------------------------------------------
    def run(self, mode, workers):
        dbname = f"{self.base}_{mode}_{workers}"
        self.databases.append(dbname)
        sh("createdb", "-T", self.base, dbname)
        with contextlib.closing(pg(dbname)) as conn, conn.cursor() as cr:
            cr.execute(
                "INSERT INTO ir_config_parameter (key, value) VALUES (%s, %s)",
                [f"{ADDON}.use_queue_job", "True" if mode == "queue" else "False"],
            )
        code = SANDBOX_CODE.format(repo=REPO, port=self.sandbox_port, seed=self.seed)
        sandbox = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=open(f"{self.work}/sandbox-{mode}-{workers}.log", "w"),  # noqa: SIM115
            start_new_session=True,
        )
        http_port = free_port()
        server = self.odoo(
            dbname,
            f"--http-port={http_port}",
            workers=workers,
            log=f"{self.work}/odoo-{mode}-{workers}.log",
        )
        try:
            wait_http(f"http://127.0.0.1:{self.sandbox_port}/_sandbox/state", 30)
            wait_http(f"http://127.0.0.1:{http_port}/web/health", 120, server)
            time.sleep(3)  # the job runner connects
            result = self.measure(dbname, mode, workers)
            result.update(self.marketplace(result.pop("triggered")))
            return result
        finally:
            stop(server)
            stop(sandbox)

    def measure(self, dbname, mode, workers):
        total = self.args.accounts * self.args.per_account
        with contextlib.closing(pg(dbname)) as conn, conn.cursor() as cr:
            start = time.monotonic()
            triggered = time.time()
            cr.execute(
                "INSERT INTO ir_cron_trigger (cron_id, call_at) "
                "VALUES (%s, now() at time zone 'utc')",
                [self.push_cron],
            )
            with contextlib.closing(pg("postgres")) as notify, notify.cursor() as ncr:
                ncr.execute("SELECT pg_notify('cron_trigger', %s)", [dbname])
            deadline = start + self.args.timeout
            while time.monotonic() < deadline:
                cr.execute(
                    "SELECT count(*) FROM stock_picking WHERE writeback_state IN "
                    "('pending', 'sending') AND ecommerce_account_id IS NOT NULL"
                )
                if not cr.fetchone()[0]:
                    break
                time.sleep(0.2)
            waited = time.monotonic() - start
            cr.execute(
                "SELECT writeback_state, count(*) FROM stock_picking "
                "WHERE ecommerce_account_id IS NOT NULL GROUP BY 1"
            )
            states = dict(cr.fetchall())
            jobs = 0
            if mode == "queue":
                cr.execute("SELECT count(*) FROM queue_job")
                jobs = cr.fetchone()[0]
        return {
            "mode": "queue_job" if mode == "queue" else "cron",
            "workers": workers,
            "total": total,
            "waited": waited,
            "triggered": triggered,
            "jobs": jobs,
            "states": states,
        }

    def marketplace(self, triggered):
        """What the sandbox saw and holds, from its request log and store:
        the counts that matter, and the time from ``triggered`` (epoch) to
        the last confirmation it accepted."""
        url = f"http://127.0.0.1:{self.sandbox_port}/_sandbox"
        with urllib.request.urlopen(f"{url}/requests", timeout=120) as answer:
            entries = json.load(answer)
        with urllib.request.urlopen(f"{url}/state", timeout=120) as answer:
            orders = {o["order_id"]: o for o in json.load(answer)["amazon_orders"]}
        tally, throttled = marketplace_tally(self.shipments, entries, orders)
        summary = tally_summary(tally)
        accepted = [
            entry["time"]
            for entry in entries
            if entry["operation"] == "amazon.confirmShipment"
            and entry["status"] is not None
            and 200 <= entry["status"] < 300
        ]
        seconds = (max(accepted) - triggered) if accepted else float("inf")
        held = len(tally) - summary["unsent"]
        rate = held / seconds if accepted else 0.0
        return {
            "held": held,
            "seconds": seconds,
            "rate": rate,
            "ratio": rate / (RATE * self.args.accounts),
            "throttled": throttled,
            "confirms": sum(
                1 for e in entries if e["operation"] == "amazon.confirmShipment"
            ),
            **summary,
        }

    def cleanup(self):
        for dbname in reversed(self.databases):
            subprocess.run(["dropdb", "--if-exists", dbname], check=False)
        if self.args.keep:
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def print_conditions(args, runs):
    """The run's conditions, first thing printed (the README quotes them)."""
    total = args.accounts * args.per_account
    runners = ", ".join(
        f"{'cron' if mode == 'cron' else 'queue_job'} on {workers} worker(s)"
        for mode, workers in runs
    )
    lines = [
        (
            f"benchmark_scaleout.py conditions: {datetime.date.today()}, "
            f"{os.cpu_count()} cores"
        ),
        (
            f"  shipments: {args.accounts} Amazon sellers x {args.per_account} "
            f"= {total}, validated in turn across the sellers"
        ),
        (
            f"  runners: {runners}; queue_job channels root:<workers> and one "
            "of capacity 1 per seller; one push cron thread"
        ),
        (
            f"  sandbox limits on: confirmShipment {RATE:g}/s, burst {BURST} "
            f"per seller (aggregate ceiling {RATE * args.accounts:g}/s); "
            "client pacing on"
        ),
        (
            "  engine: batch 50 (the cron's; one job per seller and batch), "
            "verify settings as installed (verify_delay 60 s: no read-back "
            "within the run)"
        ),
        (
            "  each run cold: a fresh database copy, sandbox and Odoo server; "
            "one run each (not best-of)"
        ),
        (
            "  goals: every shipment held by the marketplace, exactly once, "
            f"no 429 (the sandbox's log and store), pace >= {MIN_RATIO:.2f} of "
            "the ceiling"
        ),
        "",
    ]
    print("\n".join(lines), flush=True)


def goals(results):
    """PASS or FAIL per goal and run; 1 when one failed."""
    print("\nGoals (per run; from the sandbox's log and store):")
    failed = 0
    for r in results:
        name = f"{r['mode']} on {r['workers']} worker(s)"
        once = not (r["held_twice"] + r["accepted_twice"] + r["resent"])
        verdicts = (
            (
                "every shipment held",
                r["held"] == r["total"],
                f"{r['held']}/{r['total']} (Odoo: {r['states']})",
            ),
            (
                "exactly once",
                once,
                (
                    f"{r['held_twice']} held twice, {r['accepted_twice']} accepted "
                    f"twice, {r['resent']} resent after it recorded them"
                ),
            ),
            ("no 429", not r["throttled"], f"{r['throttled']} x 429"),
            (
                f"pace >= {MIN_RATIO:.2f} of the ceiling",
                r["ratio"] >= MIN_RATIO,
                f"{r['ratio']:.2f}",
            ),
        )
        for label, passed, measured in verdicts:
            failed += not passed
            print(f"  {'PASS' if passed else 'FAIL'}  {name}: {label}: {measured}")
    if not results:
        print("  FAIL  nothing ran")
        failed += 1
    print("RESULT: " + ("FAILED" if failed else "OK"))
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--per-account", type=int, default=20)
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--no-cron", action="store_true", help="skip the cron run")
    parser.add_argument("--template", help="default: scripts/test.sh's template")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the logs")
    args = parser.parse_args()
    runs = [] if args.no_cron else [("cron", 1)]
    runs += [("queue", int(w)) for w in args.workers.split(",")]
    print_conditions(args, runs)
    args.template = args.template or find_template()
    bench = Bench(args)
    results = []
    try:
        bench.prepare()
        for mode, workers in runs:
            print(f"Running {mode} with {workers} worker(s) ...", flush=True)
            results.append(bench.run(mode, workers))
    finally:
        bench.cleanup()
    header = (
        f"{'runner':<10} {'workers':>7} {'held':>9} {'seconds':>8} "
        f"{'shipments/s':>12} {'ratio':>6} {'429s':>5} {'twice':>5} "
        f"{'resent':>6} {'calls':>5} {'jobs':>5}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        twice = r["held_twice"] + r["accepted_twice"]
        print(
            f"{r['mode']:<10} {r['workers']:>7} {r['held']:>4}/{r['total']:<4} "
            f"{r['seconds']:>8.1f} {r['rate']:>12.2f} {r['ratio']:>6.2f} "
            f"{r['throttled']:>5} {twice:>5} {r['resent']:>6} "
            f"{r['confirms']:>5} {r['jobs']:>5}"
        )
    print(
        "\nFrom the sandbox: held = shipments the marketplace holds; seconds = "
        "from the cron's trigger to the last confirmation it accepted; 429s = "
        "its 429 answers; twice = held or accepted twice; resent = sent again "
        "after it recorded them; calls = confirmShipment requests it got. "
        "jobs: queue_job's jobs (Odoo)."
    )
    return goals(results)


if __name__ == "__main__":
    sys.exit(main())
