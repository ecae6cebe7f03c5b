#!/usr/bin/env python3
"""Prints what one write-back costs and how close the engine runs to the
marketplaces' rate limits, against the local sandbox (started here, in its
own process, so the CPU figures are Odoo's alone).

Usage (with Odoo's virtualenv, on a scratch database where the addon is
installed, e.g. one built like scripts/test.sh does: ``createdb -T`` the
template, copy its filestore, ``-i stock_ecommerce_writeback
--stop-after-init``)::

    $ODOO_VENV/bin/python scripts/benchmark_writeback.py -c odoo.cfg -d DB \\
        [--addons-path PATHS] [engine] [pacing] [latency] [grid]

``engine``
    The sandbox's rate limits and the clients' pacing off: N shipments
    (``--shipments``) validated, then one push run; prints SQL queries (the
    cursor's ``sql_log_count``) and Odoo CPU time (``time.process_time``)
    per write-back, amortised over the run, and the same for the verify run
    that follows; for each mix of ``--mixes``: the three APIs together
    (Amazon, eBay Trading, eBay Sell Fulfillment), then each alone.
``pacing``
    The sandbox's rate limits on (Amazon confirmShipment: 2 per second,
    burst 10, per seller authorization): 1, 3 and 10 Amazon sellers with
    ``--per-seller`` shipments each (default 120), sent by one worker
    running the push; prints per seller the steady-state rate over the
    documented rate, ``(N - burst) / (rate x (last send - first send))``,
    its minimum and mean over the sellers, the aggregate, and the 429s.
``grid``
    The write-back grid's first page over 10,000 and 100,000 deliveries, as
    a warehouse user: runs ``scripts/benchmark_grid.py`` (on a scratch copy
    of the database; see its docstring).
``latency``
    Validate-to-sent: one delivery at a time validated (committed) while an
    Odoo server with one cron thread runs; time until the marketplace holds
    the package (the shipment is *submitted*). Prints min / median / max.

It creates accounts, products and orders of its own (named "Bench ...") and
commits them: use a scratch database.
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADDON = "stock_ecommerce_writeback"
AMAZON_MARKETPLACE = "ATVPDKIKX0DER"
CHUNK = 100


# ---------------------------------------------------------------- sandbox
SANDBOX_CODE = """
import sys, time
sys.path.insert(0, {repo!r})
from sandbox import server
from sandbox.ratelimit import DEFAULT_LIMITS
server.LOG_SIZE = 10 ** 6
limits = None if {limits!r} else dict.fromkeys(DEFAULT_LIMITS)
srv = server.SandboxServer(host="127.0.0.1", port=0, rate_limits=limits).start()
print(srv.url, flush=True)
while True:
    time.sleep(3600)
"""


class Sandbox:
    """The sandbox in a child process, driven over its /_sandbox/ API."""

    def __init__(self, limits):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SANDBOX_CODE.format(repo=REPO, limits=limits)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise SystemExit("the sandbox did not start")
        self.session = requests.Session()

    def control(self, method, name, payload=None, **params):
        response = self.session.request(
            method,
            f"{self.url}/_sandbox/{name}",
            data=json.dumps(payload or {}),
            params=params,
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    def requests(self, operation=None):
        params = {"operation": operation} if operation else {}
        return self.control("GET", "requests", **params)

    def close(self):
        self.proc.kill()
        self.proc.wait()


# ------------------------------------------------------------------- odoo
def load_registry(args):
    from odoo.modules.registry import Registry
    from odoo.tools import config

    argv = ["-c", args.config, "-d", args.database, "--log-level", "warn"]
    if args.addons_path:
        argv += ["--addons-path", args.addons_path]
    config.parse_config(argv)
    return Registry(args.database)


def environment(registry):
    from odoo import SUPERUSER_ID, api

    cr = registry.cursor()
    return cr, api.Environment(cr, SUPERUSER_ID, {})


class Bench:
    def __init__(self, args, registry, sandbox):
        self.args = args
        self.registry = registry
        self.sandbox = sandbox
        self.run_id = int(time.time()) % 10_000_000
        self.serial = 0

    def setup_common(self, env):
        params = env["ir.config_parameter"].sudo()
        for knob in ("verify_delay", "verify_interval"):
            params.set_param(f"{ADDON}.{knob}", "0")
        Product = env["product.product"]
        product = Product.search([("default_code", "=", "BENCH")], limit=1)
        if not product:
            product = Product.create(
                {"name": "Bench Widget", "type": "consu", "default_code": "BENCH"}
            )
        carrier = env["delivery.carrier"].search([("name", "=", "Bench UPS")], limit=1)
        if not carrier:
            shipping = Product.create(
                {"name": "Bench Shipping", "type": "service", "list_price": 0}
            )
            carrier = env["delivery.carrier"].create(
                {
                    "name": "Bench UPS",
                    "delivery_type": "fixed",
                    "product_id": shipping.id,
                    "amazon_carrier_code": "UPS",
                    "ebay_carrier_code": "UPS",
                }
            )
        partner = env["res.partner"].search([("name", "=", "Bench Buyer")], limit=1)
        partner = partner or partner.create({"name": "Bench Buyer"})
        self.product_id, self.carrier_id, self.partner_id = (
            product.id,
            carrier.id,
            partner.id,
        )
        # Nothing of earlier runs may be due: this run measures its own.
        env.cr.execute(
            """UPDATE stock_picking SET writeback_state = 'manual',
                      writeback_next_attempt = NULL, writeback_lease_until = NULL
                WHERE writeback_state IN ('pending', 'sending', 'submitted')"""
        )
        env["ecommerce.account"].search([]).write({"active": False})

    def account(self, env, platform, n=0):
        url = self.sandbox.url
        run = self.run_id
        specs = {
            "amazon": {
                "platform": "amazon",
                "auth_url": f"{url}/auth/o2/token",
                "amazon_marketplace_id": AMAZON_MARKETPLACE,
                "amazon_seller_id": f"A2BENCH{n}",
                "lwa_client_id": "amzn1.application-oa2-client.bench",
                "lwa_client_secret": "bench-amazon-secret",
                "lwa_refresh_token": f"Atzr|bench-{run}-{n}",
            },
            "trading": {
                "platform": "ebay",
                "ebay_api": "trading",
                "auth_url": f"{url}/identity/v1/oauth2/token",
                "ebay_client_id": "Bench-App-SBX-1",
                "ebay_client_secret": "SBX-bench-secret",
                "ebay_dev_id": "bench-dev",
                "ebay_refresh_token": f"v^1.1#bench-trading-{run}-{n}",
            },
            "rest": {
                "platform": "ebay",
                "ebay_api": "fulfillment",
                "auth_url": f"{url}/identity/v1/oauth2/token",
                "ebay_client_id": "Bench-App-SBX-2",
                "ebay_client_secret": "SBX-bench-secret-2",
                "ebay_dev_id": "bench-dev",
                "ebay_refresh_token": f"v^1.1#bench-rest-{run}-{n}",
            },
        }
        return env["ecommerce.account"].create(
            dict(
                specs[platform],
                name=f"Bench {platform} {n} ({run})",
                environment="sandbox",
                api_base_url=url,
                timeout=30,
                max_attempts=5,
            )
        )

    def _order(self, platform, i):
        self.serial += 1
        run, s = self.run_id, self.serial
        tracking = f"1ZBE{run:07d}{s:07d}"
        if platform == "amazon":
            ref = f"{100 + s % 900:03d}-{run:07d}-{s:07d}"
            item = f"{run:07d}{s:07d}"
            self.sandbox.control(
                "POST",
                "amazon/orders",
                {
                    "order_id": ref,
                    "marketplace_id": AMAZON_MARKETPLACE,
                    "items": [{"order_item_id": item, "quantity": 1, "sku": "BENCH"}],
                },
            )
            return ref, item, tracking
        ref = f"{run:07d}-{s:07d}"
        line = f"{run:07d}{s:07d}"
        item_id = f"12{s:010d}"
        self.sandbox.control(
            "POST",
            "ebay/orders",
            {
                "order_id": ref,
                "line_items": [
                    {
                        "line_item_id": line,
                        "quantity": 1,
                        "item_id": item_id,
                        "transaction_id": "0",
                        "sku": "BENCH",
                    }
                ],
            },
        )
        return ref, (f"{item_id}-0" if platform == "trading" else line), tracking

    def make_deliveries(self, accounts, count):
        """``count`` validated deliveries, round-robin over ``accounts``
        ({account id: platform}), committed in chunks; returns their ids."""
        from odoo import Command

        ids = []
        account_ids = list(accounts)
        made = 0
        while made < count:
            size = min(CHUNK, count - made)
            cr, env = environment(self.registry)
            try:
                env = env(context=dict(env.context, tracking_disable=True))
                specs = []
                for i in range(made, made + size):
                    account_id = account_ids[i % len(account_ids)]
                    specs.append((account_id, *self._order(accounts[account_id], i)))
                orders = env["sale.order"].create(
                    [
                        {
                            "partner_id": self.partner_id,
                            "ecommerce_account_id": account_id,
                            "ecommerce_order_ref": ref,
                            "carrier_id": self.carrier_id,
                            "order_line": [
                                Command.create(
                                    {
                                        "product_id": self.product_id,
                                        "product_uom_qty": 1,
                                        "ecommerce_item_ref": item_ref,
                                    }
                                )
                            ],
                        }
                        for account_id, ref, item_ref, _tracking in specs
                    ]
                )
                orders.action_confirm()
                tracking_of = {ref: tracking for _a, ref, _i, tracking in specs}
                pickings = orders.picking_ids
                for picking in pickings:
                    picking.write(
                        {
                            "carrier_id": self.carrier_id,
                            "carrier_tracking_ref": tracking_of[
                                picking.sale_id.ecommerce_order_ref
                            ],
                        }
                    )
                for move in pickings.move_ids:
                    move.quantity = move.product_uom_qty
                    move.picked = True
                pickings.with_context(skip_backorder=True).button_validate()
                ids += pickings.ids
                cr.commit()
            finally:
                cr.close()
            made += size
        return ids


def measured(registry, method):
    """Run ``method(env)`` on a fresh cursor: (queries, CPU seconds, wall)."""
    cr, env = environment(registry)
    try:
        queries = cr.sql_log_count
        cpu, wall = time.process_time(), time.perf_counter()
        method(env)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        queries = cr.sql_log_count - queries
        cr.commit()
    finally:
        cr.close()
    return queries, cpu, wall


def states(registry, ids):
    cr, _env = environment(registry)
    try:
        cr.execute(
            "SELECT writeback_state, count(*) FROM stock_picking WHERE id IN %s "
            "GROUP BY 1",
            [tuple(ids)],
        )
        return dict(cr.fetchall())
    finally:
        cr.close()


PACER_METHODS = ("acquire", "delay")


def client_pacing_on():
    """True unless :func:`no_client_pacing` has the pacer switched off."""
    from odoo.addons.stock_ecommerce_writeback.marketplaces import http

    return not any(name in vars(http.PACER) for name in PACER_METHODS)


@contextlib.contextmanager
def no_client_pacing():
    """The clients' pacer off (no wait, no delay) inside the block, restored
    after it whatever happens: a scenario that follows paces again."""
    from odoo.addons.stock_ecommerce_writeback.marketplaces import http

    pacer = http.PACER
    saved = {name: vars(pacer)[name] for name in PACER_METHODS if name in vars(pacer)}
    pacer.acquire = lambda *a, **kw: None
    pacer.delay = lambda *a, **kw: 0.0
    try:
        yield
    finally:
        for name in PACER_METHODS:
            if name in saved:
                setattr(pacer, name, saved[name])
            else:
                vars(pacer).pop(name, None)


# ---------------------------------------------------------------- scenarios
ENGINE_MIXES = {
    "all": ("amazon", "trading", "rest"),
    "amazon": ("amazon",),
    "trading": ("trading",),
    "rest": ("rest",),
}


def scenario_engine(args, registry):
    sandbox = Sandbox(limits=False)
    try:
        with no_client_pacing():
            bench = Bench(args, registry, sandbox)
            print(
                f"engine: {args.shipments} shipments per mix, sandbox limits and "
                f"client pacing off; per write-back, amortised over the run"
            )
            header = f"{'mix':<9}{'run':<8}{'queries':>9}{'q/ship':>9}"
            print(f"  {header}{'CPU ms/ship':>13}{'wall s':>9}  states after")
            for mix in args.mixes.split(","):
                engine_mix(args, registry, bench, mix)
    finally:
        sandbox.close()


def engine_mix(args, registry, bench, mix):
    cr, env = environment(registry)
    try:
        bench.setup_common(env)
        accounts = {
            bench.account(env, platform).id: platform for platform in ENGINE_MIXES[mix]
        }
        cr.commit()
    finally:
        cr.close()
    # Warm the registry's caches and the clients' tokens first.
    bench.make_deliveries(accounts, len(accounts))
    measured(registry, lambda env: env["ecommerce.writeback.engine"]._cron_push())
    measured(registry, lambda env: env["ecommerce.writeback.engine"]._cron_verify())
    ids = bench.make_deliveries(accounts, args.shipments)
    for name, method in (
        ("push", lambda env: env["ecommerce.writeback.engine"]._cron_push()),
        ("verify", lambda env: env["ecommerce.writeback.engine"]._cron_verify()),
    ):
        queries, cpu, wall = measured(registry, method)
        n = len(ids)
        print(
            f"  {mix:<9}{name:<8}{queries:>9}{queries / n:>9.2f}"
            f"{cpu * 1000 / n:>13.2f}{wall:>9.2f}  {states(registry, ids)}"
        )


def scenario_pacing(args, registry):
    sandbox = Sandbox(limits=True)
    rate, burst = 2.0, 10
    try:
        bench = Bench(args, registry, sandbox)
        for sellers in (1, 3, 10):
            cr, env = environment(registry)
            try:
                bench.setup_common(env)
                accounts = {
                    bench.account(env, "amazon", n).id: "amazon" for n in range(sellers)
                }
                cr.commit()
            finally:
                cr.close()
            ids = bench.make_deliveries(accounts, sellers * args.per_seller)
            start = len(sandbox.requests("amazon.confirmShipment"))
            _q, _cpu, wall = measured(
                registry, lambda env: env["ecommerce.writeback.engine"]._cron_push()
            )
            sends = sandbox.requests("amazon.confirmShipment")[start:]
            by_seller = {}
            throttled = 0
            for record in sends:
                if record.get("status") == 429:
                    throttled += 1
                    continue
                headers = {k.lower(): v for k, v in record["headers"].items()}
                seller = headers.get("x-amz-access-token")
                by_seller.setdefault(seller, []).append(record["time"])
            ratios = []
            for times in by_seller.values():
                times.sort()
                span = times[-1] - times[0]
                if len(times) > burst and span > 0:
                    ratios.append((len(times) - burst) / (rate * span))
            all_times = sorted(t for times in by_seller.values() for t in times)
            print(
                f"pacing: {sellers} seller(s) x {args.per_seller} shipments: "
                f"ratio min {min(ratios):.3f} mean {statistics.mean(ratios):.3f}; "
                f"aggregate {len(all_times) / (all_times[-1] - all_times[0]):.2f} "
                f"sends/s over {rate * sellers:g}/s documented; 429s {throttled}; "
                f"push wall {wall:.1f} s; states {states(registry, ids)}"
            )
    finally:
        sandbox.close()


def odoo_bin():
    """Odoo's launcher in the tree this interpreter imports Odoo from."""
    import odoo

    for path in odoo.__path__:
        root = os.path.dirname(os.path.abspath(path))
        for candidate in ("odoo-bin", os.path.join("setup", "odoo")):
            if os.path.exists(os.path.join(root, candidate)):
                return os.path.join(root, candidate)
    raise SystemExit(f"no odoo-bin or setup/odoo beside {list(odoo.__path__)}")


def scenario_latency(args, registry):
    """Validate one delivery at a time while an Odoo server with one cron
    thread runs, and time until the marketplace holds it (submitted)."""
    sandbox = Sandbox(limits=True)
    server = None
    try:
        bench = Bench(args, registry, sandbox)
        cr, env = environment(registry)
        try:
            bench.setup_common(env)
            account = bench.account(env, "amazon", 0)
            accounts = {account.id: "amazon"}
            env.ref(f"{ADDON}.ir_cron_writeback_push").active = True
            cr.commit()
        finally:
            cr.close()
        command = [
            sys.executable,
            odoo_bin(),
            "-c",
            args.config,
            "-d",
            args.database,
            "--no-http",
            "--max-cron-threads=1",
            f"--log-level={args.server_log_level}",
        ]
        if args.addons_path:
            command.append(f"--addons-path={args.addons_path}")
        log_path = os.path.join(tempfile.gettempdir(), f"swb-latency-{os.getpid()}.log")
        with open(log_path, "w") as logfile:
            server = subprocess.Popen(command, stdout=logfile, stderr=logfile)
            latencies = measure_latency(args, registry, bench, accounts)
        print(
            f"latency: validate -> sent (Amazon holds the package), "
            f"{len(latencies)} deliveries one at a time, one cron thread: "
            f"min {min(latencies):.2f} s, median {statistics.median(latencies):.2f} s,"
            f" max {max(latencies):.2f} s (server log {log_path})"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        sandbox.close()


def measure_latency(args, registry, bench, accounts):
    # The server loads its registry and its cron thread starts listening:
    # a first delivery, not counted, waits for that.
    ids = bench.make_deliveries(accounts, 1)
    start = time.monotonic()
    while time.monotonic() - start < 600:
        if set(states(registry, ids)) & {"submitted", "success"}:
            break
        time.sleep(0.2)
    latencies = []
    for _n in range(args.latency_samples):
        ids = bench.make_deliveries(accounts, 1)  # validated and committed
        start = time.monotonic()
        while time.monotonic() - start < 120:
            if set(states(registry, ids)) & {"submitted", "success"}:
                latencies.append(time.monotonic() - start)
                break
            time.sleep(0.05)
        else:
            print(f"  delivery {ids} not sent within 120 s")
    return latencies


def scenario_grid(args, registry):
    """The grid's first page at 10k and 100k deliveries: scripts/
    benchmark_grid.py, on a scratch copy of this database."""
    from odoo import sql_db

    sql_db.close_db(args.database)  # the copy needs the database unused
    command = [
        sys.executable,
        os.path.join(REPO, "scripts", "benchmark_grid.py"),
        "-c",
        args.config,
        "-d",
        args.database,
        "--sizes",
        args.grid_sizes,
    ]
    print("grid: scripts/benchmark_grid.py", flush=True)
    subprocess.run(command, check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--addons-path")
    parser.add_argument("--shipments", type=int, default=300)
    parser.add_argument(
        "--mixes",
        default="all,amazon,trading,rest",
        help="engine scenario: platform mixes to measure (all = the three)",
    )
    parser.add_argument("--per-seller", type=int, default=120)
    parser.add_argument("--latency-samples", type=int, default=10)
    parser.add_argument("--server-log-level", default="warn")
    parser.add_argument("--grid-sizes", default="10000,100000")
    parser.add_argument(
        "scenarios",
        nargs="*",
        default=["engine", "pacing", "latency", "grid"],
        metavar="SCENARIO",
    )
    args = parser.parse_args(argv)
    registry = load_registry(args)
    for name in args.scenarios:
        {
            "engine": scenario_engine,
            "pacing": scenario_pacing,
            "latency": scenario_latency,
            "grid": scenario_grid,
        }[name](args, registry)


if __name__ == "__main__":
    tempfile.tempdir = None
    main()
