#!/usr/bin/env python3
"""How close the marketplace clients pace to the documented rate limits.

Starts the marketplace sandbox in a separate process (``python -m sandbox``,
rate limits on, real clock), then for each number of sellers sends N
``confirmShipment`` per seller (one seller = one refresh token, which the
sandbox, like Amazon, meters apart) through the real
:class:`marketplaces.amazon.AmazonClient`, and prints the ratios, the 429s
and the wall time.

Modes:
* ``interleaved`` (default): one thread serves every seller the way the
  write-back engine does: it asks each client's ``send_delay(shipment)``,
  sends for whichever seller is ready and sleeps only when none is;
* ``threads`` (``--threads``): one thread per seller, each blocking in the
  client's pacer.

Ratio, for one seller and one operation with documented rate r and burst b,
N requests sent as fast as allowed: ``(N - b) / (r * (t_last - t_first))``
with t the start of each request: the steady rate after the burst over the
documented rate (1.0 = exactly at the limit). Aggregate over S sellers: the
mean and the minimum of the per-seller ratios, and the total rate
``S * (N - b) / (S * r * (last start of any seller - first start of any))``.

Conditions, printed in the first lines of the output: the date and cores,
the sandbox's limits (on, real clock), the pacer's settings, sellers,
shipments, modes, and that every run starts with full buckets (the sandbox
and the pacer are reset) and runs once.

Goals, printed PASS or FAIL per run (exit status 1 when one fails), from
the sandbox's request log and store: every shipment held by the
marketplace exactly once; no 429; every seller's ratio at least 0.95.

No Odoo import: runs with the pure venv or Odoo's. Usage:
    scripts/benchmark_pacing.py [--sellers 1 3 10] [--shipments 120] [--threads]
"""

import argparse
import collections
import datetime
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# One reading of the sandbox's log and store for every script (chaos.py).
from chaos import marketplace_tally, tally_summary

from marketplaces import base, pacer, tokens
from marketplaces.amazon import CONFIRM_SHIPMENT, AmazonClient
from marketplaces.errors import MarketplaceError, RateLimitedError

MARKETPLACE = "ATVPDKIKX0DER"
RATE, BURST = CONFIRM_SHIPMENT.rate, CONFIRM_SHIPMENT.burst
MIN_RATIO = 0.95  # goal: every seller's ratio


class Sandbox:
    """``python -m sandbox`` in a child process, on free ports."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "--port", "0"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for line in self.process.stderr:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.url = found.group(1)
                break
        else:
            raise SystemExit("the sandbox did not start")
        # Keep reading its log, or it blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for _line in self.process.stderr:
            pass

    def control(self, name, payload=None, method="POST"):
        request = urllib.request.Request(
            f"{self.url}/_sandbox/{name}",
            data=None if method == "GET" else json.dumps(payload or {}).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def shipments_for(sandbox, seller, count):
    shipments = []
    for number in range(count):
        order_ref = f"{100 + seller}-{number:07d}-1234567"
        item = f"{seller:03d}{number:011d}"
        sandbox.control(
            "amazon/orders",
            {
                "order_id": order_ref,
                "marketplace_id": MARKETPLACE,
                "items": [{"order_item_id": item, "quantity": 1}],
            },
        )
        shipments.append(
            base.Shipment(
                order_ref=order_ref,
                carrier_code="UPS",
                carrier_name="UPS",
                shipping_method="Ground",
                ship_date=datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                packages=(
                    base.Package(
                        "1",
                        f"1Z{seller:04d}{number:08d}",
                        (base.ShipmentItem(item, 1),),
                    ),
                ),
            )
        )
    return shipments


def make_client(sandbox, seller, journal):
    return AmazonClient(
        client_id="amzn1.application-oa2-client.benchmark",
        client_secret="benchmark-secret",
        refresh_token=f"Atzr|benchmark-seller-{seller}",
        marketplace_id=MARKETPLACE,
        api_base_url=sandbox.url,
        auth_url=sandbox.url + "/auth/o2/token",
        on_call=journal.append,
        max_wait=60,
    )


def send(client, shipment, errors):
    try:
        client.confirm_shipment(shipment)
    except MarketplaceError as err:
        errors.append(err)


def run_interleaved(work, errors):
    queues = {client: collections.deque(items) for client, items in work.items()}
    while any(queues.values()):
        delays = {c: c.send_delay(q[0]) for c, q in queues.items() if q}
        client = min(delays, key=delays.get)
        if delays[client] > 0:
            time.sleep(delays[client])
            continue
        send(client, queues[client].popleft(), errors)


def run_threads(work, errors):
    def serve(client, items):
        for shipment in items:
            send(client, shipment, errors)

    threads = [
        threading.Thread(target=serve, args=(client, items))
        for client, items in work.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def ratio(starts, count):
    span = (starts[-1] - starts[0]).total_seconds()
    return (count - BURST) / (RATE * span) if span > 0 else float("nan")


def bench(sandbox, sellers, count, mode):
    sandbox.control("reset")
    pacer.PACER.reset()
    tokens.TOKEN_CACHE.clear()
    journals = [[] for _ in range(sellers)]
    work = {
        make_client(sandbox, seller, journals[seller]): shipments_for(
            sandbox, seller, count
        )
        for seller in range(sellers)
    }
    errors = []
    began = time.monotonic()
    (run_threads if mode == "threads" else run_interleaved)(work, errors)
    wall = time.monotonic() - began
    for client in work:
        client.close()

    starts = [
        sorted(r.started_at for r in journal if r.operation == CONFIRM_SHIPMENT.name)
        for journal in journals
    ]
    ratios = [ratio(s, count) for s in starts]
    first = min(s[0] for s in starts)
    last = max(s[-1] for s in starts)
    span = (last - first).total_seconds()
    total = sellers * (count - BURST) / (sellers * RATE * span)
    logged = sandbox.control("requests", method="GET")
    orders = {
        o["order_id"]: o
        for o in sandbox.control("state", method="GET")["amazon_orders"]
    }
    shipments = {
        s.order_ref: ("amazon", s.order_ref, s.packages[0].tracking_number)
        for items in work.values()
        for s in items
    }
    tally, throttled_server = marketplace_tally(shipments, logged, orders)
    summary = tally_summary(tally)
    throttled_client = sum(
        1
        for err in errors
        if isinstance(err, RateLimitedError) and err.http_status == 429
    )
    sent_ok = sum(
        1
        for entry in logged
        if entry["operation"] == "amazon.confirmShipment" and entry["status"] == 204
    )
    return {
        "summary": summary,
        "shipments": len(shipments),
        "mode": mode,
        "sellers": sellers,
        "ratios": ratios,
        "mean": statistics.fmean(ratios),
        "min": min(ratios),
        "total": total,
        "429_sandbox": throttled_server,
        "429_client": throttled_client,
        "other_errors": len(errors) - throttled_client,
        "accepted": sent_ok,
        "wall": wall,
    }


def report(result, count):
    per_seller = " ".join(f"{r:.3f}" for r in result["ratios"])
    print(
        f"{result['mode']:<11} S={result['sellers']:<2} "
        f"ratio mean {result['mean']:.3f} min {result['min']:.3f} "
        f"total {result['total']:.3f} | 429: {result['429_sandbox']} "
        f"(client saw {result['429_client']}) | other errors "
        f"{result['other_errors']} | accepted {result['accepted']}/"
        f"{result['sellers'] * count} | wall {result['wall']:.1f} s"
    )
    if result["sellers"] > 1:
        print(f"{'':<11} per seller: {per_seller}")
    summary = result["summary"]
    once = not (
        summary["unsent"]
        + summary["held_twice"]
        + summary["accepted_twice"]
        + summary["resent"]
    )
    name = f"{result['mode']} S={result['sellers']}"
    verdicts = [
        (
            "every shipment held once by the marketplace",
            once,
            (
                f"{result['shipments'] - summary['unsent']}/{result['shipments']} "
                f"held, {summary['held_twice']} held twice, "
                f"{summary['accepted_twice']} accepted twice, {summary['resent']} "
                "resent"
            ),
        ),
        (
            "no 429 (sandbox log)",
            not result["429_sandbox"],
            f"{result['429_sandbox']} x 429",
        ),
        (
            f"every seller's ratio >= {MIN_RATIO}",
            result["min"] >= MIN_RATIO,
            f"lowest {result['min']:.3f}",
        ),
    ]
    for label, passed, measured in verdicts:
        print(f"{'':<11} {'PASS' if passed else 'FAIL'}  {name}: {label}: {measured}")
    sys.stdout.flush()
    return all(passed for _l, passed, _m in verdicts)


def print_conditions(args, modes):
    """The run's conditions, first thing printed (the README quotes them)."""
    lines = [
        (
            f"benchmark_pacing.py conditions: {datetime.date.today()}, "
            f"{os.cpu_count()} cores"
        ),
        (
            f"  sandbox limits on (Amazon confirmShipment {RATE:g}/s, burst "
            f"{BURST}, per seller: ordersV0.json), real clock, in a process of "
            "its own"
        ),
        (
            f"  client pacing on: refill {pacer.Pacer.SAFETY:g} x rate, lead "
            f"{pacer.Pacer.LAG:g} s ({min(BURST - 1, RATE * pacer.Pacer.LAG):g} "
            "token of the burst kept in hand)"
        ),
        (
            f"  sellers {' '.join(map(str, args.sellers))} x {args.shipments} "
            f"shipments each; modes {', '.join(modes)}; sandbox and pacer reset "
            "before each run (buckets start full); one run each"
        ),
        (
            "  goals: every shipment held once by the marketplace, no 429 "
            f"(the sandbox's log and store), every seller's ratio >= {MIN_RATIO}"
        ),
        "",
    ]
    print("\n".join(lines), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sellers", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--shipments", type=int, default=120, help="per seller")
    parser.add_argument(
        "--threads", action="store_true", help="also run one thread per seller"
    )
    parser.add_argument(
        "--safety", type=float, help=f"override Pacer.SAFETY ({pacer.Pacer.SAFETY})"
    )
    parser.add_argument(
        "--lag", type=float, help=f"override Pacer.LAG ({pacer.Pacer.LAG} s)"
    )
    args = parser.parse_args(argv)
    if args.safety is not None:
        pacer.Pacer.SAFETY = args.safety
    if args.lag is not None:
        pacer.Pacer.LAG = args.lag
    if args.shipments <= BURST + 1:
        parser.error(f"--shipments must exceed the burst ({BURST}) + 1")
    modes = ["interleaved"] + (["threads"] if args.threads else [])
    print_conditions(args, modes)
    print(
        "ratio = (N - b) / (r * (t_last_start - t_first_start)) per seller "
        "(1.0 = at the limit); total = all sellers' steady sends/s over the "
        "sum of their rates."
    )
    sandbox = Sandbox()
    failed = 0
    try:
        for mode in modes:
            for sellers in args.sellers:
                result = bench(sandbox, sellers, args.shipments, mode)
                failed += not report(result, args.shipments)
    finally:
        sandbox.stop()
    print(
        "eBay (Trading CompleteSale, Sell Fulfillment createShippingFulfillment): "
        "no per-second limit is documented (daily call quotas only, read from "
        "the Analytics API) and the sandbox enforces none: not paced, no line."
    )
    print("RESULT: " + ("FAILED" if failed else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
