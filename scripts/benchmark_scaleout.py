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
triggered, and the time until no shipment is pending or sending any more is
measured. Everything is dropped at the end.

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

ADDON = "stock_ecommerce_writeback"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKETPLACE = "ATVPDKIKX0DER"
RATE, BURST = 2.0, 10  # Amazon confirmShipment, per seller (the sandbox's plan)
ODOO_SRC = os.environ.get("ODOO_SRC", "/opt/odoo19")


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
        database (with Odoo in this process), and the sandbox seed."""
        import odoo
        from odoo import SUPERUSER_ID, Command, api
        from odoo.modules.registry import Registry
        from odoo.tools import config

        config.parse_config(["-c", f"{self.work}/{self.base}.cfg"])
        url = f"http://127.0.0.1:{self.sandbox_port}"
        seed = []
        with Registry(self.base).cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            accounts = env["ecommerce.account"].create(
                [
                    {
                        "name": f"Amazon seller {n + 1}",
                        "platform": "amazon",
                        "environment": "sandbox",
                        "api_base_url": url,
                        "auth_url": f"{url}/auth/o2/token",
                        "amazon_marketplace_id": MARKETPLACE,
                        "amazon_seller_id": f"A{n + 1:02d}SELLER",
                        "lwa_client_id": "amzn1.application-oa2-client.bench",
                        "lwa_client_secret": "bench-secret",
                        "lwa_refresh_token": f"Atzr|bench-seller-{n + 1}",
                        "timeout": 10,
                    }
                    for n in range(self.args.accounts)
                ]
            )
            self.sellers = accounts.ids
            carrier = env["delivery.carrier"].create(
                {
                    "name": "UPS Ground",
                    "delivery_type": "fixed",
                    "product_id": env["product.product"]
                    .create({"name": "Shipping", "type": "service"})
                    .id,
                    "amazon_carrier_code": "UPS",
                }
            )
            product = env["product.product"].create(
                {
                    "name": "Widget",
                    "type": "consu",
                    "is_storable": True,
                    "default_code": "WA",
                }
            )
            warehouse = env["stock.warehouse"].search([], limit=1)
            env["stock.quant"]._update_available_quantity(
                product, warehouse.lot_stock_id, 10**6
            )
            customer = env["res.partner"].create({"name": "Buyer"})
            start = time.monotonic()
            for n in range(self.args.per_account):  # in turn across sellers
                for index, account in enumerate(accounts):
                    ref = f"{900 + index}-{n:07d}-{account.id:07d}"
                    item = f"{index:03d}{n:011d}"
                    seed.append(
                        {
                            "order_id": ref,
                            "marketplace_id": MARKETPLACE,
                            "items": [
                                {"order_item_id": item, "quantity": 1, "sku": "WA"}
                            ],
                        }
                    )
                    order = env["sale.order"].create(
                        {
                            "partner_id": customer.id,
                            "ecommerce_account_id": account.id,
                            "ecommerce_order_ref": ref,
                            "carrier_id": carrier.id,
                            "order_line": [
                                Command.create(
                                    {
                                        "product_id": product.id,
                                        "product_uom_qty": 1,
                                        "ecommerce_item_ref": item,
                                    }
                                )
                            ],
                        }
                    )
                    order.action_confirm()
                    picking = order.picking_ids
                    picking.carrier_id = carrier
                    picking.carrier_tracking_ref = f"1Z{index:03d}{n:010d}"
                    picking.move_ids.quantity = 1
                    picking.move_ids.picked = True
                    picking.button_validate()
            cr.commit()
            print(
                f"  {len(seed)} deliveries validated in "
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
            json.dump({"amazon_orders": seed}, fh)

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
        sandbox = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "--port",
                str(self.sandbox_port),
                "--seed",
                self.seed,
            ],
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
            return self.measure(dbname, mode, workers)
        finally:
            stop(server)
            stop(sandbox)

    def measure(self, dbname, mode, workers):
        total = self.args.accounts * self.args.per_account
        with contextlib.closing(pg(dbname)) as conn, conn.cursor() as cr:
            start = time.monotonic()
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
            elapsed = time.monotonic() - start
            cr.execute(
                "SELECT writeback_state, count(*) FROM stock_picking "
                "WHERE ecommerce_account_id IS NOT NULL GROUP BY 1"
            )
            states = dict(cr.fetchall())
            cr.execute(
                "SELECT count(*) FILTER (WHERE http_status = 429), "
                "count(*) FILTER (WHERE operation = 'confirmShipment') "
                "FROM ecommerce_api_call"
            )
            throttled, confirms = cr.fetchone()
            jobs = 0
            if mode == "queue":
                cr.execute("SELECT count(*) FROM queue_job")
                jobs = cr.fetchone()[0]
        sent = states.get("submitted", 0) + states.get("success", 0)
        return {
            "mode": "queue_job" if mode == "queue" else "cron",
            "workers": workers,
            "sent": sent,
            "total": total,
            "seconds": elapsed,
            "rate": sent / elapsed,
            "ratio": sent / elapsed / (RATE * self.args.accounts),
            "throttled": throttled,
            "confirms": confirms,
            "jobs": jobs,
            "states": states,
        }

    def cleanup(self):
        for dbname in reversed(self.databases):
            subprocess.run(["dropdb", "--if-exists", dbname], check=False)
        if self.args.keep:
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


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
    args.template = args.template or find_template()
    runs = [] if args.no_cron else [("cron", 1)]
    runs += [("queue", int(w)) for w in args.workers.split(",")]
    bench = Bench(args)
    results = []
    try:
        bench.prepare()
        for mode, workers in runs:
            print(f"Running {mode} with {workers} worker(s) ...", flush=True)
            results.append(bench.run(mode, workers))
    finally:
        bench.cleanup()
    ceiling = RATE * args.accounts
    print(
        f"\n{args.accounts} sellers x {args.per_account} shipments, sandbox limits "
        f"on (confirmShipment {RATE:g}/s, burst {BURST} per seller; "
        f"aggregate ceiling {ceiling:g}/s), "
        f"{datetime.date.today()}, {os.cpu_count()} CPU(s)\n"
    )
    header = (
        f"{'runner':<10} {'workers':>7} {'sent':>9} {'seconds':>8} "
        f"{'shipments/s':>12} {'ratio':>6} {'429s':>5} {'calls':>5} {'jobs':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['mode']:<10} {r['workers']:>7} {r['sent']:>4}/{r['total']:<4} "
            f"{r['seconds']:>8.1f} {r['rate']:>12.2f} {r['ratio']:>6.2f} "
            f"{r['throttled']:>5} {r['confirms']:>5} {r['jobs']:>5}"
        )
    print(
        "\ncalls: confirmShipment calls in the journal (one per shipment: "
        "none sent twice); 429s: answers 429 among all calls"
    )
    if any(r["sent"] < r["total"] for r in results):
        print("\nNot everything was sent:", [(r["mode"], r["states"]) for r in results])


if __name__ == "__main__":
    main()
