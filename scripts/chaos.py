#!/usr/bin/env python3
"""Chaos run of the write-back engine: many workers, killed workers and a
misbehaving marketplace, against the local sandbox, on a real database.

This is not a test: it is a bounded stress run that prints what happened to
every shipment and exits non-zero when a goal is not met.

Goals, each printed PASS or FAIL at the end (exit status 1 when one fails):
in every scenario, no shipment lost, duplicated, resent after the
marketplace recorded it, left stuck, with a wrong attempt count, *Failed*
although the marketplace holds it (a false failure) or with an attempt
spent without a request, and no worker crashed. What the marketplace saw
and holds comes from the sandbox's own request log and store, not from
Odoo's journal.

Conditions, printed in the first lines of the output: the sandbox's rate
limits off; the clients' pacing off (``--client-pacing`` turns it on);
``verify_delay`` and ``verify_interval`` 0 (the script sets them); engine
batch 20 (``--batch-size``; the crons use 50); W workers at once, forked
from a warm fork server.

Usage (with Odoo's virtualenv, on a database where the addon is installed,
e.g. one built like scripts/test.sh does: createdb -T the template, copy its
filestore, ``-i stock_ecommerce_writeback --stop-after-init``)::

    $ODOO_VENV/bin/python scripts/chaos.py -c odoo.cfg -d DB \\
        [--addons-path PATHS] [--shipments N] [--workers W] [--kills K] \\
        [--kill-shipments M] [--kill-window SEC] [--kill-latency SEC] \\
        [--faults] [--fault-batch B] [--fault-kinds NAME,...] [--seed S] \\
        [--platforms amazon,trading,rest] [--skip-workers-scenario] \\
        [--client-pacing] [--max-rounds R] [--log-dir DIR]

e.g. ``--shipments 2000 --workers 4`` (about 11 minutes on 2 cores),
``--skip-workers-scenario --kills 100 --kill-shipments 500``, or
``--skip-workers-scenario --faults --fault-kinds invalid_grant``. The
scenarios of their own (``--scenario``, repeatable; given, the workers
scenario runs only when named too)::

    $ODOO_VENV/bin/python scripts/chaos.py -c odoo.cfg -d DB \\
        --scenario kill-pause [--pause-kills 20] [--pause-shipments 40] \\
        [--pause-seconds 1800]
    $ODOO_VENV/bin/python scripts/chaos.py --scenario seller-1000 \\
        [--seller-shipments 1000] [--template DB] [--server-timeout SEC]
    $ODOO_VENV/bin/python scripts/chaos.py --scenario prefork-backlog \\
        [--backlog-sellers 3] [--backlog-per-seller 60] [--cron-time-limit 20]

The server scenarios (seller-1000, prefork-backlog) need no ``-d``: they
run on a scratch copy of scripts/test.sh's template database, dropped at
the end.

Chaos mode
==========

Everything talks to an in-process marketplace sandbox (``sandbox/``) on
127.0.0.1, its rate limits off. The script creates (or reuses, by name) one
sandbox account per platform pointing at it (Amazon; eBay Trading and eBay
Sell Fulfillment unless ``--platforms`` says otherwise), sets the system
parameters ``stock_ecommerce_writeback.verify_delay`` and ``verify_interval``
to 0 so read-backs run at once, and retires (marks *manual*) any open
write-back those accounts kept from an earlier run. Orders are created in the
sandbox and as confirmed sale orders with validated deliveries in Odoo, in
chunks of 100 committed one by one. Accounts, product, carrier, orders and
deliveries are built by ``tests/fixtures.py``, as the tests build theirs.
Scenarios, in this order:

``workers``
    N shipments, spread over the platforms, and W worker processes running
    ``_cron_push()`` and ``_cron_verify()`` at once until nothing is due.
``kills`` (``--kills K``)
    M shipments (``--kill-shipments``, default N). K push-only workers, W at
    a time, each killed with SIGKILL at a seeded random moment (0 to
    ``--kill-window`` s after it started). During this phase the sandbox
    takes ``--kill-latency`` s to answer a confirmation, as a real
    marketplace does, so kills land before, during and after sends. Then the
    leases of the shipments left *sending* are moved into the past (what
    time would do) and workers run to completion, so the verify cron
    reconciles the interrupted sends.
fault matrix (``--faults``)
    One Amazon scenario per fault, each on B shipments (``--fault-batch``):
    timeout (the answer comes after the account's timeout, but the
    sandbox records the package), connection reset, refused connection (the
    account points at a closed port), HTTP 500/502/503, 429 with and without
    Retry-After, malformed JSON (token endpoint and getOrder), 503 on
    getOrder, expired access tokens (the sandbox expires every token every
    0.3 s while workers run) and ``invalid_grant`` (refresh token revoked; the
    cure is a new refresh token on the account). Each: inject, run workers,
    clear the fault, make the shipments due, run to completion, check.
    ``--fault-kinds`` runs only the named ones (the names of the table).

``kill-pause`` (``--scenario kill-pause``)
    ``--pause-kills`` (20) kills of a worker over ``--pause-shipments`` (40)
    shipments, one worker at a time (push and verify), each killed with
    SIGKILL 0 to ``--kill-window`` s after it started (confirmations
    answered after ``--kill-latency`` s meanwhile), each kill followed by a
    pause of ``--pause-seconds`` (1800), simulated, no worker running: the
    sandbox's clock (the wall clock plus an offset) moves forward by it, so
    its buckets refill and its tokens age, and every time the engine keeps
    about those shipments moves back by as much (next attempt, lease, last
    attempt, submitted, done and read-back dates, the claim dates of stored
    outcomes, the dates of their calls in the journal, so a claim and its
    requests keep their order; the accounts' saved rate-limit buckets are
    dropped, full after the pause), as ``tests/common.py`` ``make_due``
    does. Then workers run to completion.
``seller-1000`` (``--scenario seller-1000``)
    One Amazon seller validating ``--seller-shipments`` (1000) deliveries at
    once, on a real prefork Odoo server with its crons, the sandbox's
    documented rate limits on (a process of its own) and client pacing on:
    the machinery of ``scripts/benchmark_scaleout.py`` (imported: a scratch
    copy of the template database, 2 HTTP workers, Odoo's default 2 cron
    workers and time limits, ``verify_delay`` and ``verify_interval`` 0).
    The push cron is triggered; the verify cron runs when the engine
    schedules it and at its interval. It ends when no shipment is open, or
    after ``--server-timeout`` s (default twice the time the documented
    limits allow with getOrder reads, plus 1200: a claim cut by a killed
    cron worker waits for its 600 s lease, then for a verify run).
``prefork-backlog`` (``--scenario prefork-backlog``)
    The same server over a backlog of ``--backlog-sellers`` (3) x
    ``--backlog-per-seller`` (60) with ``limit_time_real_cron =
    --cron-time-limit`` (20 s): Odoo kills a cron worker past it; nothing
    may end *Failed* or stranded, the scheduler runs the cron again. The
    notes give the cron workers Odoo killed at their limit, the 429s, and
    the time until every one was *Success*.

"Run to completion" runs W workers until nothing is due, then lets time pass
the way ``tests/common.py`` ``make_due`` does (SQL: ``writeback_next_attempt``
and ``writeback_lease_until`` into the past; a *submitted* shipment's
``writeback_submitted_date`` too, past the verify window), up to
``--max-rounds`` times.

Workers are forked from a fork server (``chaos.py --fork-server``, started
by the script) that loaded the registry once and warmed its caches on a
first delivery (then rolled back): loading a registry takes seconds, forking
milliseconds, so a kill can land in the middle of a send. A worker
opens ``registry.cursor()`` and loops the engine's cron methods, committing as
the engine does (outside an ir.cron run ``ir.cron._commit_progress`` just
commits). Unless ``--client-pacing``, workers switch off the clients' own
pacing, which mirrors Amazon's usage plans (one getOrder every 2 s per
process) and would make the run measure the usage plan, not the engine.

What the table counts, per scenario:

shipments / success
    deliveries created / in state *success* at the end.
lost
    not *success* at the end, or the sandbox order does not hold the
    delivery's tracking number (on the lines it shipped).
dup (duplicated)
    the marketplace holds the package twice (two Amazon packages or eBay
    fulfillments with its tracking number), or its real handler accepted
    the confirmation more than once (request log: answered 2xx with no
    injected fault but a delay; Amazon takes the same packageReferenceId as
    an edit, so the second is harmless there, but it is counted, never
    forgiven).
resent (resent after the marketplace recorded it)
    shipments for which a confirmation request reached the marketplace after
    it had recorded the shipment, whatever the answer (the request log, in
    the order the sandbox answered). A worker killed mid-send, or a send
    whose answer came after the client's timeout, must be read back, not
    sent again, when the marketplace has it. The summary gives the number
    of such requests too; the kill scenario's note says how many sends were
    cut and how many of those the marketplace had recorded.
stuck
    pending, sending or submitted at the end.
wrong att (wrong attempt count)
    attempts above the account's max attempts, or a success with 0 attempts.
false F (false failures)
    *Failed* although the marketplace holds the confirmation exactly (the
    package or fulfillment with its tracking number on its lines).
no req (attempts spent without a request)
    shipments whose attempt count in Odoo is above the confirmation
    requests the sandbox logged for their order (any answer): an attempt
    used although nothing reached the marketplace. The details give the
    attempts too. Only the fault that points the account at a closed port
    spends attempts where no request can arrive: those (the attempt counts
    at the end of its fault phase) are stated, not counted.
crashes
    workers that ended with a non-zero status (including the script's
    per-worker time limit) or a signal, other than the script's SIGKILL.
log err
    ERROR/CRITICAL lines in the worker logs (informative).

429
    requests the sandbox's own rate limits answered 429 (no injected
    fault; only the server scenarios run with limits on).

Exit status: 1 when lost, dup, resent, stuck, wrong att, false F, no req,
429 or crashes is non-zero anywhere (or no scenario ran), else 0. The database is not
dropped; worker logs stay in ``--log-dir``.
"""

import argparse
import collections
import contextlib
import datetime
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ADDON = "stock_ecommerce_writeback"
PLATFORMS = ("amazon", "trading", "rest")
OPEN_STATES = ("pending", "sending", "submitted")
ACCOUNT_TIMEOUT = 2  # seconds: a "timeout" fault sleeps longer than this
CHUNK = 100
# Scenarios run on an Odoo server of their own (scripts/benchmark_scaleout.py).
SERVER_SCENARIOS = ("seller-1000", "prefork-backlog")
READ_OPERATIONS = ("amazon.getOrder", "amazon.searchOrders")
WRITE_OPERATIONS = (
    "amazon.confirmShipment",
    "ebay.CompleteSale",
    "ebay.createShippingFulfillment",
)


# ----------------------------------------------------------------------
# What the marketplace saw and holds (also used by the benchmark scripts)
# ----------------------------------------------------------------------
# "this long ago": how pass_time moves a stored time back.
SQL_SHIFT = "- %(seconds)s * interval '1 second'"
Tally = collections.namedtuple("Tally", "sends accepted resent held")
# What each scenario counts, and must count zero of (the goals).
FIGURES = {
    "lost": "lost (not Success, or not held by the marketplace)",
    "dup": "duplicated (held twice, or accepted twice, by the marketplace)",
    "resent": "resent after the marketplace recorded it",
    "stuck": "stuck (pending, sending or submitted at the end)",
    "wrong": "wrong attempt count",
    "false_fail": (
        "false failures (Failed although the marketplace holds the "
        "confirmation exactly)"
    ),
    "no_request": (
        "attempts spent without a request (Odoo's attempt count above the "
        "confirmation requests the marketplace logged for the order)"
    ),
    "throttled": (
        "429s from the marketplace's own rate limits (requests answered 429 "
        "with no injected fault)"
    ),
    "crashes": "crashed workers",
}


def tracking_key(number):
    """A tracking number as the marketplaces compare it (eBay keeps letters
    and digits only)."""
    return re.sub(r"[^0-9A-Z]", "", str(number or "").upper())


def held_count(platform, order, tracking):
    """How many times the sandbox's stored ``order`` (as its ``amazon_order``
    or ``ebay_order`` gives it; None: unknown) holds ``tracking``."""
    if not order:
        return 0
    key = tracking_key(tracking)
    packages = order["packages"] if platform == "amazon" else order["fulfillments"]
    return sum(
        1 for package in packages if tracking_key(package["tracking_number"]) == key
    )


def marketplace_tally(shipments, entries, orders):
    """Per shipment, what the marketplace saw (its request log) and holds
    (its store), never what Odoo's journal says.

    ``shipments``: ``{key: (platform, order ref, tracking)}``, one delivery
    per marketplace order (platform amazon, trading or rest); ``entries``:
    the sandbox's request log, oldest first (``SandboxServer.requests()`` or
    ``GET /_sandbox/requests``); ``orders``: ``{order ref: stored order}``.

    Returns ``({key: Tally}, number of 429 answers in entries)``, where

    * ``sends``: confirmation requests for the order that reached the
      marketplace (confirmShipment, CompleteSale, createShippingFulfillment;
      any answer, injected faults included);
    * ``accepted``: those the marketplace's real handler recorded: answered
      2xx, no injected fault other than a delay (the answer came late but
      the handler ran). The log does not hold Trading's answer body, so a
      CompleteSale answered 200 counts as recorded when the order holds the
      tracking number at the end;
    * ``resent``: confirmation requests that reached the marketplace after
      it had recorded the shipment (in the order the sandbox answered them,
      whatever their answer): sent again although it was already there;
    * ``held``: how many times the stored order holds the tracking number
      (Amazon packages, eBay fulfillments): 1 is right, 0 unsent, 2 twice.
    """
    by_ref = {ref: key for key, (_p, ref, _t) in shipments.items()}
    sends = collections.Counter()
    accepted = collections.Counter()
    resent = collections.Counter()
    held = {
        key: held_count(platform, orders.get(ref), tracking)
        for key, (platform, ref, tracking) in shipments.items()
    }
    throttled = 0
    for entry in entries:
        status = entry["status"]
        throttled += status == 429
        if entry["operation"] not in WRITE_OPERATIONS:
            continue
        key = by_ref.get(entry["order_ref"])
        if key is None:
            continue
        sends[key] += 1
        if accepted[key]:
            resent[key] += 1
        recorded = (
            status is not None
            and 200 <= status < 300
            and entry["fault"] in (None, "delay")
            and (entry["operation"] != "ebay.CompleteSale" or held[key])
        )
        accepted[key] += recorded
    tally = {
        key: Tally(sends[key], accepted[key], resent[key], held[key])
        for key in shipments
    }
    return tally, throttled


def recorded_exactly(platform, order, picking_id, item_ref, tracking):
    """True when the sandbox's stored ``order`` (None: unknown) holds the
    delivery ``picking_id`` exactly: Amazon, its package (reference
    ``picking_id * 100 + 1``) with this tracking number and one unit of
    ``item_ref``; eBay, a fulfillment with this tracking number over every
    line of the order."""
    if not order:
        return False
    if platform == "amazon":
        for package in order["packages"]:
            if package["package_reference_id"] == str(picking_id * 100 + 1):
                items = {i["order_item_id"]: i["quantity"] for i in package["items"]}
                return package["tracking_number"] == tracking and items == {item_ref: 1}
        return False
    lines = {line["line_item_id"] for line in order["line_items"]}
    return any(
        f["tracking_number"] == tracking
        and {li["line_item_id"] for li in f["line_items"]} == lines
        for f in order["fulfillments"]
    )


def shipment_figures(pickings, rows, tally, orders, allowance=None, cut=None):
    """The shipments each figure of :data:`FIGURES` counts (all but the
    crashes), from Odoo's rows and the marketplace's log and store.

    ``pickings``: ``{picking id: (platform, order ref, item ref, tracking)}``;
    ``rows``: ``{picking id: (state, attempts, max attempts, error)}`` (Odoo
    at the end); ``tally``: :func:`marketplace_tally` keyed by picking id;
    ``orders``: ``{order ref: stored order}``; ``allowance``: ``{picking id:
    attempts}`` spent where no request could reach the marketplace by design
    (a scenario pointing the account at a closed port), said so and not
    counted as attempts without a request; ``cut``: ``{picking id: sends
    cut by a kill}`` (shown, never forgiven). Returns ``({figure: [rows]},
    number of shipments Success)``; the crashes and the 429s are counted
    elsewhere (:func:`rate_limited`)."""
    allowance = allowance or {}
    cut = cut or {}
    found = {key: [] for key in FIGURES if key not in ("crashes", "throttled")}
    success = 0
    for picking_id, (state, attempts, max_attempts, error) in sorted(rows.items()):
        platform, ref, item_ref, tracking = pickings[picking_id]
        recorded = recorded_exactly(
            platform, orders.get(ref), picking_id, item_ref, tracking
        )
        counts = tally[picking_id]
        row = (picking_id, state, attempts, recorded, error[:100])
        sent = (picking_id, state, attempts, *counts, cut.get(picking_id, 0))
        success += state == "success"
        if state != "success" or not recorded:
            found["lost"].append(row)
        if counts.held > 1 or counts.accepted > 1:
            found["dup"].append(sent)
        if counts.resent:
            found["resent"].append(sent)
        if state in OPEN_STATES:
            found["stuck"].append(row)
        if attempts > max_attempts or (state == "success" and attempts == 0):
            found["wrong"].append(row)
        if state == "failed" and recorded:
            found["false_fail"].append(row)
        surplus = attempts - counts.sends - allowance.get(picking_id, 0)
        if surplus > 0:
            found["no_request"].append((*sent, surplus))
    return found, success


FIGURE_TITLES = {
    "lost": "lost (id, state, attempts, recorded, error)",
    "dup": "duplicated ({sent})",
    "resent": "resent after the marketplace recorded it ({sent})",
    "stuck": "stuck (id, state, attempts, recorded, error)",
    "wrong": "wrong attempts (id, state, attempts, recorded, error)",
    "false_fail": "false failures (id, state, attempts, recorded, error)",
    "no_request": "attempts without a request ({sent}, attempts over requests)",
    "crashes": "crashed workers (tag, pid, status, log)",
}
SENT_COLUMNS = "id, state, attempts, sends, accepted, resent, held, cut"


def rate_limited(entries):
    """The requests of ``entries`` (the sandbox's log) its own rate limits
    answered 429 (no injected fault), and their count per operation."""
    counts = collections.Counter(
        e["operation"] for e in entries if e["status"] == 429 and not e["fault"]
    )
    return sum(counts.values()), counts


def figure_details(found):
    """Up to 10 rows of each non-zero figure, as lines."""
    lines = []
    for key, title in FIGURE_TITLES.items():
        items = found.get(key) or []
        if items:
            total = len(items)
            if key == "no_request":
                total = f"{total} shipment(s), {sum(i[-1] for i in items)} attempt(s)"
            lines.append(f"{title.format(sent=SENT_COLUMNS)}: {total}")
            lines.extend(f"    {item}" for item in items[:10])
    return lines


def tally_summary(tally):
    """The counts that matter over a :func:`marketplace_tally`: shipments
    not held (unsent), held twice, accepted more than once, resent after
    the marketplace recorded them (and those requests), and requests."""
    values = tally.values()
    return {
        "unsent": sum(1 for t in values if not t.held),
        "held_twice": sum(1 for t in values if t.held > 1),
        "accepted_twice": sum(1 for t in values if t.accepted > 1),
        "resent": sum(1 for t in values if t.resent),
        "resent_requests": sum(t.resent for t in values),
        "sends": sum(t.sends for t in values),
    }


# ----------------------------------------------------------------------
# Arguments and Odoo bootstrap
# ----------------------------------------------------------------------
def add_option(parser, flag, kind, default, what, unit=""):
    """A ``kind`` option whose help, ``what``, ends with its default (and
    ``unit``): "(default 20 s)"."""
    unit = f" {unit}" if unit else ""
    parser.add_argument(
        flag, type=kind, default=default, help=f"{what} (default {default}{unit})"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-c", "--config", help="Odoo configuration file")
    parser.add_argument(
        "-d", "--database", help="required but for the server scenarios alone"
    )
    parser.add_argument("--addons-path", help="default: the configuration's")
    parser.add_argument("--shipments", type=int, default=200, metavar="N")
    parser.add_argument("--workers", type=int, default=4, metavar="W")
    parser.add_argument("--kills", type=int, default=0, metavar="K")
    parser.add_argument("--kill-shipments", type=int, metavar="M")
    add_option(parser, "--kill-window", float, 1.0, "seconds")
    parser.add_argument(
        "--kill-latency",
        type=float,
        default=0.3,
        help="seconds the sandbox takes to answer a confirmation during the "
        "kill phase (default 0.3, as a real marketplace; 0: none)",
    )
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--fault-batch", type=int, default=10, metavar="B")
    parser.add_argument(
        "--fault-kinds",
        help="comma-separated names of the fault scenarios to run (default: all)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--platforms", default=",".join(PLATFORMS))
    parser.add_argument("--batch-size", type=int, default=20, help="engine batch")
    parser.add_argument("--client-pacing", action="store_true")
    parser.add_argument("--max-rounds", type=int, default=8)
    parser.add_argument(
        "--worker-timeout",
        type=float,
        default=600,
        help="a worker still running after this many seconds stops (crash)",
    )
    parser.add_argument("--skip-workers-scenario", action="store_true")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=("workers", *SERVER_SCENARIOS, "kill-pause"),
        help="run this scenario (repeatable); given, the workers scenario runs "
        "only when named too",
    )
    add_option(
        parser,
        "--seller-shipments",
        int,
        1000,
        "seller-1000: shipments of the one seller",
    )
    add_option(parser, "--backlog-sellers", int, 3, "prefork-backlog")
    add_option(
        parser, "--backlog-per-seller", int, 60, "prefork-backlog: shipments per seller"
    )
    add_option(
        parser,
        "--cron-time-limit",
        int,
        20,
        "prefork-backlog: limit_time_real_cron",
        "s",
    )
    add_option(parser, "--pause-kills", int, 20, "kill-pause: kills")
    add_option(parser, "--pause-shipments", int, 40, "kill-pause: shipments")
    add_option(
        parser,
        "--pause-seconds",
        float,
        1800,
        "kill-pause: the pause after each kill",
        "s",
    )
    parser.add_argument(
        "--template",
        help="server scenarios: the template database (default: scripts/test.sh's)",
    )
    parser.add_argument(
        "--server-timeout",
        type=float,
        help="server scenarios: seconds to wait for every shipment to end "
        "(default: twice the documented time with getOrder reads, plus 1200: "
        "a claim cut by a kill waits for its 600 s lease)",
    )
    parser.add_argument("--log-dir")
    parser.add_argument("--verbose", action="store_true", help="Odoo log on stderr")
    parser.add_argument("--fork-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    unknown = set(args.platforms) - set(PLATFORMS)
    if unknown or not args.platforms:
        parser.error(f"--platforms: choose among {', '.join(PLATFORMS)}")
    if args.kill_shipments is None:
        args.kill_shipments = args.shipments
    if args.scenario:
        args.scenarios = set(args.scenario)
    else:
        args.scenarios = set() if args.skip_workers_scenario else {"workers"}
    args.skip_workers_scenario = "workers" not in args.scenarios
    args.in_process = bool(
        args.fork_server
        or args.kills
        or args.faults
        or args.scenarios & {"workers", "kill-pause"}
    )
    if args.in_process and not args.database:
        parser.error(
            "-d/--database is required (for every scenario but the server ones)"
        )
    return args


def odoo_argv(args, log_level):
    argv = []
    if args.config:
        argv += ["-c", args.config]
    argv += ["-d", args.database, f"--log-level={log_level}"]
    if args.addons_path:
        argv += [f"--addons-path={args.addons_path}"]
    return argv


def load_registry(args, log_level):
    from odoo.modules.registry import Registry
    from odoo.tools import config

    config.parse_config(odoo_argv(args, log_level))
    return Registry(args.database)


def import_fixtures():
    """``tests/fixtures.py``, the one builder of accounts, products, orders
    and deliveries (importable once Odoo knows the addons path)."""
    from odoo.addons.stock_ecommerce_writeback.tests import fixtures

    return fixtures


def shipment_basics(env, label, code):
    """The product (``code``, "<label> Widget"), buyer ("<label> Buyer") and
    carrier ("<label> UPS") of a run's shipments (chaos.py's and
    benchmark_writeback.py's), found by name or made: their ids, for
    :func:`committed_deliveries`."""
    fixtures = import_fixtures()
    product = env["product.product"].search(
        [("default_code", "=", code)], limit=1
    ) or fixtures.untracked_product(env, f"{label} Widget", code)
    carrier = env["delivery.carrier"].search(
        [("name", "=", f"{label} UPS")], limit=1
    ) or fixtures.carrier(env, name=f"{label} UPS")
    partner = env["res.partner"].search([("name", "=", f"{label} Buyer")], limit=1)
    partner = partner or partner.create({"name": f"{label} Buyer"})
    return product.id, partner.id, carrier.id


def committed_deliveries(env, sandbox, orders, basics):
    """``tests/fixtures.py``'s committed deliveries of ``orders``, with the
    product, buyer and carrier ``basics`` of :func:`shipment_basics`: the
    pickings, chunk by chunk."""
    product_id, partner_id, carrier_id = basics
    return import_fixtures().committed_deliveries(
        env,
        sandbox,
        orders,
        env["product.product"].browse(product_id),
        env["res.partner"].browse(partner_id),
        env["delivery.carrier"].browse(carrier_id),
        chunk=CHUNK,
    )


# ----------------------------------------------------------------------
# Worker side: the fork server and the workers it forks
# ----------------------------------------------------------------------
def fork_server(args):
    """Load the registry once, then fork a worker per ``spawn`` line read on
    stdin; report ``pid TAG PID`` and ``exit PID STATUS`` on stdout."""
    import odoo.sql_db

    registry = load_registry(args, "info")
    if not args.client_pacing:
        from odoo.addons.stock_ecommerce_writeback.marketplaces.pacer import PACER

        PACER.acquire = lambda *a, **kw: None
    odoo.sql_db.close_all()  # children open their own connections
    warm = False
    out = sys.stdout

    def say(line):
        out.write(line + "\n")
        out.flush()

    say("ready")
    buffer = b""
    while True:
        while True:  # reap
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if not pid:
                break
            say(f"exit {pid} {status}")
        readable, _w, _x = select.select([0], [], [], 0.02)
        if not readable:
            continue
        data = os.read(0, 65536)
        if not data:
            return 0
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            command = json.loads(line)
            if not warm:
                warm = warm_up(registry)
                odoo.sql_db.close_all()
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os._exit(_worker_child(registry, command))
            say(f"pid {command['tag']} {pid}")


def warm_up(registry):
    """Fill the registry's caches the way a push does (access rules, field
    metadata, a delivery's shipment, its client, the write a claim makes, a
    chatter message), then roll back: every worker forked afterwards
    inherits them and starts sending at once, so that a kill lands while
    work is under way, not during a cold start. Only the engine's public
    surface and the delivery's own methods are used, so a refactoring of
    the engine's internals does not break it. Returns False when there is
    no delivery to warm up with yet."""
    from odoo import SUPERUSER_ID, api

    from odoo.addons.stock_ecommerce_writeback.models.writeback_engine import (
        WritebackRun,
    )

    start = time.monotonic()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        engine = env["ecommerce.writeback.engine"]
        Picking = env["stock.picking"]
        pending = Picking.search(engine._push_domain(), limit=1)
        Picking.search_count(engine._verify_domain())
        env["ecommerce.writeback.outcome"].search_count([])
        if pending:
            try:
                pending._writeback_checked_shipment()
                WritebackRun(env).client(pending.ecommerce_account_id)
                pending.ecommerce_account_id._writeback_policy()
                pending.write({"writeback_state": "sending"})  # as a claim does
                pending.message_post(body="warm-up")
                env.flush_all()
            except Exception:  # noqa: BLE001 - a colder start, not a failure
                traceback.print_exc()
        cr.rollback()
    print(
        f"warm-up ({len(pending)}) in {time.monotonic() - start:.2f} s", file=sys.stderr
    )
    return bool(pending)


def _worker_child(registry, command):
    code = 1
    try:
        fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        random.seed()
        print(f"worker {command['tag']} pid {os.getpid()} mode {command['mode']}")
        code = run_worker(registry, command)
    except BaseException:  # noqa: BLE001 - the log must say what ended it
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
    return code


def run_worker(registry, command):
    """Loop the engine's cron methods until nothing is due (0), or until the
    time limit (3). ``mode``: push, verify or work (both)."""
    from odoo import SUPERUSER_ID, api, fields

    mode = command["mode"]
    batch = command["batch_size"]
    started = time.monotonic()
    deadline = started + command["max_seconds"]
    idle_limit = command.get("idle_seconds", 3.0)
    with registry.cursor() as cr:
        registry.check_signaling(cr)
        env = api.Environment(cr, SUPERUSER_ID, {})
        engine = env["ecommerce.writeback.engine"]
        Picking = env["stock.picking"]
        idle_since = None
        runs = 0
        print(f"cursor open after {time.monotonic() - started:.3f} s", flush=True)
        while time.monotonic() < deadline:
            run_start = time.monotonic()
            if mode in ("push", "work"):
                engine._cron_push(batch_size=batch)
            if mode in ("verify", "work"):
                engine._cron_verify(batch_size=batch)
            runs += 1
            print(f"run {runs}: {time.monotonic() - run_start:.3f} s", flush=True)
            cr.commit()
            env.invalidate_all()
            due = 0
            if mode in ("push", "work"):
                due += Picking.search_count(engine._push_domain())
            if mode in ("verify", "work"):
                due += Picking.search_count(engine._verify_domain())
            # Outcomes stored because a row was held: the next run applies them.
            due += env["ecommerce.writeback.outcome"].search_count([])
            in_flight = Picking.search_count(
                [
                    ("writeback_state", "=", "sending"),
                    ("writeback_lease_until", ">=", fields.Datetime.now()),
                ]
            )
            cr.commit()
            if due:
                idle_since = None
                continue
            if mode == "push" or not in_flight:
                print(f"done after {runs} runs")
                return 0
            # Other workers' sends will land and be due for verification.
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > idle_limit:
                print(f"done after {runs} runs ({in_flight} in flight elsewhere)")
                return 0
            time.sleep(0.1)
    print("worker time limit reached")
    return 3


class ForkServer:
    """The controller's handle on ``chaos.py --fork-server``."""

    def __init__(self, args, log_dir):
        self.args = args
        self.log_dir = log_dir
        cmd = [sys.executable, os.path.abspath(__file__), "--fork-server"]
        cmd += ["-d", args.database]
        if args.config:
            cmd += ["-c", args.config]
        if args.addons_path:
            cmd += ["--addons-path", args.addons_path]
        if args.client_pacing:
            cmd += ["--client-pacing"]
        self._stderr = open(os.path.join(log_dir, "fork-server.log"), "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr
        )
        self._lock = threading.Condition()
        self._pids = {}  # tag -> pid
        self._exits = {}  # pid -> raw wait status
        self._ready = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        with self._lock:
            if not self._lock.wait_for(lambda: self._ready, timeout=300):
                raise SystemExit("the fork server did not start (see fork-server.log)")
        self._count = 0

    def _read(self):
        for raw in self.proc.stdout:
            words = raw.decode().split()
            with self._lock:
                if words[:1] == ["ready"]:
                    self._ready = True
                elif words[:1] == ["pid"]:
                    self._pids[words[1]] = int(words[2])
                elif words[:1] == ["exit"]:
                    self._exits[int(words[1])] = int(words[2])
                self._lock.notify_all()
        with self._lock:
            self._ready = None
            self._lock.notify_all()

    def spawn(self, scenario, mode):
        """Fork a worker for ``scenario`` (its number); returns (tag, pid,
        log path)."""
        self._count += 1
        tag = f"s{scenario:02d}-w{self._count}"
        log = os.path.join(self.log_dir, f"worker-{tag}.log")
        command = {
            "tag": tag,
            "mode": mode,
            "log": log,
            "batch_size": self.args.batch_size,
            "max_seconds": self.args.worker_timeout,
        }
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()
        with self._lock:
            if not self._lock.wait_for(lambda: tag in self._pids, timeout=60):
                raise SystemExit("the fork server stopped answering")
            return tag, self._pids[tag], log

    def status(self, pid):
        with self._lock:
            return self._exits.get(pid)

    def wait(self, pids, timeout=None):
        with self._lock:
            self._lock.wait_for(
                lambda: all(pid in self._exits for pid in pids), timeout=timeout
            )
            return {pid: self._exits.get(pid) for pid in pids}

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.proc.kill()
        self._stderr.close()


# ----------------------------------------------------------------------
# Controller: sandbox, accounts, shipments
# ----------------------------------------------------------------------
class Scenario:
    def __init__(self, name, note=""):
        self.name = name
        self.note = note
        self.picking_ids = []
        self.orders = {}  # picking id -> (platform, order ref, item ref, tracking)
        self.workers = []  # (tag, pid, log, killed_by_us)
        self.interrupted = collections.Counter()  # picking id -> sends cut
        # picking id -> attempts spent where no request could reach the
        # marketplace by design (the account pointed at a closed port)
        self.allowance = {}
        self.setup_seconds = 0.0
        self.run_seconds = 0.0
        self.result = {}
        self.details = []


class Chaos:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.run_id = int(time.time()) % 10_000_000
        self.scenario_count = 0
        self.scenarios = []
        self.log_dir = args.log_dir or tempfile.mkdtemp(prefix="swb-chaos-")
        os.makedirs(self.log_dir, exist_ok=True)
        self.registry = load_registry(args, "info" if args.verbose else "warn")
        from odoo.addons.stock_ecommerce_writeback.sandbox import (
            server as sandbox_server,
        )
        from odoo.addons.stock_ecommerce_writeback.sandbox.ratelimit import (
            DEFAULT_LIMITS,
        )

        # Keep every request of the run: the duplicate count reads them all.
        sandbox_server.LOG_SIZE = 10_000_000
        # The sandbox's clock: the wall clock plus the pauses kill-pause
        # simulates (pass_time).
        self.clock_offset = 0.0
        self.sandbox = sandbox_server.SandboxServer(
            host="127.0.0.1",
            port=0,
            rate_limits=dict.fromkeys(DEFAULT_LIMITS),
            clock=lambda: time.time() + self.clock_offset,
        ).start()
        self.forks = None

    # -- helpers ---------------------------------------------------------
    def env(self):
        """A fresh (cursor, env) pair; the caller commits and closes."""
        from odoo import SUPERUSER_ID, api

        cr = self.registry.cursor()
        return cr, api.Environment(cr, SUPERUSER_ID, {})

    def say(self, text):
        print(text, flush=True)

    # -- set-up ----------------------------------------------------------
    def setup(self):
        fixtures = import_fixtures()
        url = self.sandbox.url
        run = self.run_id
        cr, env = self.env()
        try:
            params = env["ir.config_parameter"].sudo()
            for knob in ("verify_delay", "verify_interval"):
                params.set_param(f"{ADDON}.{knob}", "0")
            # One seller per API, reused by name; the run's own tokens.
            self.accounts = {
                platform: fixtures.seller_account(
                    env,
                    url,
                    platform,
                    seller,
                    name=name,
                    reuse=True,
                    timeout=ACCOUNT_TIMEOUT,
                    max_attempts=5,
                    active=platform in self.args.platforms,
                ).id
                for platform, seller, name in (
                    ("amazon", f"chaos-{run}", "Chaos Amazon (sandbox)"),
                    ("trading", f"chaos-trading-{run}", "Chaos eBay Trading (sandbox)"),
                    ("rest", f"chaos-rest-{run}", "Chaos eBay Fulfillment (sandbox)"),
                )
            }
            retired = self._retire(env, list(self.accounts.values()))
            self.basics = shipment_basics(env, "Chaos", "CHAOS")
            others = env["stock.picking"].search_count(
                [
                    ("writeback_state", "in", OPEN_STATES),
                    ("ecommerce_account_id", "not in", list(self.accounts.values())),
                    ("ecommerce_account_id.active", "=", True),
                ]
            )
            cr.commit()
        finally:
            cr.close()
        self.say(
            f"sandbox {url}; accounts {', '.join(self.args.platforms)}; "
            f"run id {self.run_id}; seed {self.args.seed}; logs {self.log_dir}"
        )
        if retired:
            self.say(f"retired {retired} open write-back(s) left by an earlier run")
        if others:
            self.say(
                f"WARNING: {others} open write-back(s) of other active accounts "
                "exist: workers run until nothing is due in the whole database, "
                "so these may keep them busy until --worker-timeout (a crash); "
                "archive those accounts or use another database"
            )

    def _retire(self, env, account_ids):
        env.cr.execute(
            """UPDATE stock_picking
                  SET writeback_state = 'manual', writeback_next_attempt = NULL,
                      writeback_lease_until = NULL
                WHERE ecommerce_account_id IN %s AND writeback_state IN %s""",
            [tuple(account_ids), OPEN_STATES],
        )
        count = env.cr.rowcount
        env.cr.execute(
            """DELETE FROM ecommerce_writeback_outcome o USING stock_picking p
                WHERE o.picking_id = p.id AND p.ecommerce_account_id IN %s""",
            [tuple(account_ids)],
        )
        return count

    def new_scenario(self, name, note=""):
        self.scenario_count += 1
        scenario = Scenario(name, note)
        scenario.index = self.scenario_count
        scenario.log_start = len(self.sandbox.requests())
        self.scenarios.append(scenario)
        return scenario

    def make_shipments(self, scenario, count, platforms):
        """``count`` marketplace orders in the sandbox and as validated
        deliveries in Odoo, round-robin over ``platforms``, committed in
        chunks (``tests/fixtures.py``)."""
        start = time.monotonic()
        s, run = scenario.index, self.run_id
        cr, env = self.env()
        try:
            account = {
                platform: env["ecommerce.account"].browse(self.accounts[platform])
                for platform in platforms
            }
            platform_of = {record.id: name for name, record in account.items()}
            orders = []
            for i in range(count):
                platform = platforms[i % len(platforms)]
                ref = (
                    f"{100 + s:03d}-{run:07d}-{i:07d}"
                    if platform == "amazon"
                    else f"{run:07d}-{s:03d}{i:06d}"
                )
                tracking = f"1ZCH{run:07d}{s:03d}{i:06d}"
                orders.append((account[platform], ref, s * 10**6 + i, tracking))
            chunks = committed_deliveries(env, self.sandbox, orders, self.basics)
            made = 0
            for pickings in chunks:
                size = min(CHUNK, count - made)
                states = set(pickings.mapped("writeback_state"))
                if states != {"pending"} or len(pickings) != size:
                    raise SystemExit(
                        f"deliveries not queued as expected: {states} ({len(pickings)})"
                    )
                for picking in pickings:
                    order = picking.sale_id
                    scenario.orders[picking.id] = (
                        platform_of[order.ecommerce_account_id.id],
                        order.ecommerce_order_ref,
                        order.order_line.ecommerce_item_ref,
                        picking.carrier_tracking_ref,
                    )
                    scenario.picking_ids.append(picking.id)
                made += size
                if count > CHUNK:
                    self.say(f"  {scenario.name}: {made}/{count} shipments created")
        finally:
            cr.close()
        scenario.setup_seconds = time.monotonic() - start

    # -- running workers -------------------------------------------------
    def run_workers(self, scenario, count, mode="work"):
        spawned = [self.forks.spawn(scenario.index, mode) for _ in range(count)]
        statuses = self.forks.wait([pid for _tag, pid, _log in spawned])
        for tag, pid, log in spawned:
            scenario.workers.append((tag, pid, log, False))
        return statuses

    def open_count(self, scenario):
        cr, env = self.env()
        try:
            env.cr.execute(
                "SELECT count(*) FROM stock_picking WHERE id IN %s "
                "AND writeback_state IN %s",
                [tuple(scenario.picking_ids), OPEN_STATES],
            )
            return env.cr.fetchone()[0]
        finally:
            cr.close()

    def make_due(self, scenario):
        """Time passes: what the engine scheduled for later is due now, a
        lease has run out, a submitted shipment is past its verify window."""
        cr, env = self.env()
        try:
            window = int(
                env["ir.config_parameter"].sudo().get_param(f"{ADDON}.verify_window")
                or 1800
            )
            env.cr.execute(
                """UPDATE stock_picking
                      SET writeback_next_attempt = CASE
                              WHEN writeback_next_attempt IS NULL THEN NULL
                              ELSE LEAST(writeback_next_attempt,
                                         now() at time zone 'utc' - interval '1 second')
                          END,
                          writeback_lease_until = CASE
                              WHEN writeback_state = 'sending' THEN
                                  now() at time zone 'utc' - interval '1 second'
                              ELSE writeback_lease_until END,
                          writeback_submitted_date = CASE
                              WHEN writeback_state = 'submitted' THEN
                                  writeback_submitted_date - %s * interval '1 second'
                              ELSE writeback_submitted_date END
                    WHERE id IN %s AND writeback_state IN %s""",
                [window + 1, tuple(scenario.picking_ids), OPEN_STATES],
            )
            moved = env.cr.rowcount
            cr.commit()
            return moved
        finally:
            cr.close()

    def expire_leases(self, scenario):
        """Only the leases: the shipments whose worker was killed mid-send."""
        cr, env = self.env()
        try:
            env.cr.execute(
                """UPDATE stock_picking
                      SET writeback_lease_until =
                          now() at time zone 'utc' - interval '1 second'
                    WHERE id IN %s AND writeback_state = 'sending'
                RETURNING id""",
                [tuple(scenario.picking_ids)],
            )
            ids = [row[0] for row in env.cr.fetchall()]
            cr.commit()
            return ids
        finally:
            cr.close()

    def run_to_completion(self, scenario):
        rounds = 0
        while True:
            self.run_workers(scenario, self.args.workers)
            rounds += 1
            remaining = self.open_count(scenario)
            if not remaining or rounds >= self.args.max_rounds:
                break
            self.make_due(scenario)
        self.sandbox.wait_idle(10)
        return rounds

    # -- scenarios -------------------------------------------------------
    def scenario_workers(self):
        n, w = self.args.shipments, self.args.workers
        scenario = self.new_scenario(f"workers W={w}")
        self.make_shipments(scenario, n, self.args.platforms)
        start = time.monotonic()
        rounds = self.run_to_completion(scenario)
        scenario.run_seconds = time.monotonic() - start
        scenario.note = f"{rounds} round(s)"
        self.check(scenario)

    def scenario_kills(self):
        args = self.args
        scenario = self.new_scenario(f"kills K={args.kills}")
        self.make_shipments(scenario, args.kill_shipments, args.platforms)
        start = time.monotonic()
        if args.kill_latency:
            for operation in WRITE_OPERATIONS:
                self.sandbox.inject_fault(
                    operation, delay=args.kill_latency, times=None
                )
        alive = {}  # pid -> (tag, log, kill_at)
        started = landed = missed = 0
        while started < args.kills or alive:
            while started < args.kills and len(alive) < args.workers:
                tag, pid, log = self.forks.spawn(scenario.index, "push")
                started += 1
                alive[pid] = (
                    tag,
                    log,
                    time.monotonic() + self.rng.uniform(0, args.kill_window),
                )
            now = time.monotonic()
            for pid, (tag, log, kill_at) in list(alive.items()):
                if self.forks.status(pid) is not None:
                    missed += 1  # ended by itself before its kill
                    scenario.workers.append((tag, pid, log, False))
                    del alive[pid]
                elif now >= kill_at:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    status = self.forks.wait([pid], timeout=30)[pid]
                    ours = (
                        status is not None
                        and os.WIFSIGNALED(status)
                        and (os.WTERMSIG(status) == signal.SIGKILL)
                    )
                    landed += ours
                    missed += not ours
                    scenario.workers.append((tag, pid, log, ours))
                    del alive[pid]
            time.sleep(0.005)
        killed_phase = time.monotonic() - start
        self.sandbox.faults.clear()
        self.sandbox.wait_idle(10)
        after_kills = self.state_summary(scenario)
        interrupted = self.expire_leases(scenario)
        recorded = sum(
            1 for pid_ in interrupted if self.package_recorded(scenario, pid_)
        )
        for picking_id in interrupted:
            scenario.interrupted[picking_id] += 1
        self.say(
            f"  kills: {landed} landed, {missed} worker(s) ended first, "
            f"{killed_phase:.0f} s; then (state/attempts x count): {after_kills}; "
            f"{len(interrupted)} shipment(s) left sending ({recorded} already "
            "recorded by the marketplace)"
        )
        rounds = self.run_to_completion(scenario)
        scenario.run_seconds = time.monotonic() - start
        scenario.note = (
            f"{landed} kills landed, {len(interrupted)} sends cut "
            f"({recorded} recorded), {rounds} round(s)"
        )
        self.check(scenario)

    def scenario_fault(self, name, inject, clear=None, during=None, unreachable=False):
        """Inject, run workers, clear, make due, run to completion, check.
        ``unreachable``: no request can reach the marketplace during the
        fault (a closed port): the attempts spent then are said so, not
        counted as attempts without a request."""
        kinds = self.args.fault_kinds
        if kinds and name not in [k.strip() for k in kinds.split(",")]:
            return
        batch = self.args.fault_batch
        scenario = self.new_scenario(f"fault: {name}")
        self.make_shipments(scenario, batch, ["amazon"])
        start = time.monotonic()
        inject()
        stop = threading.Event()
        thread = None
        if during:
            thread = threading.Thread(target=during, args=(stop,), daemon=True)
            thread.start()
        try:
            self.run_workers(scenario, self.args.workers)
        finally:
            stop.set()
            if thread:
                thread.join()
        self.sandbox.wait_idle(10)
        after = self.state_summary(scenario)
        if unreachable:
            scenario.allowance = {
                picking_id: row[1]
                for picking_id, row in self._picking_rows(scenario).items()
                if row[1]
            }
        self.sandbox.faults.clear()
        if clear:
            clear()
        self.make_due(scenario)
        rounds = self.run_to_completion(scenario)
        scenario.run_seconds = time.monotonic() - start
        scenario.note = f"after fault: {after}; {rounds} round(s)"
        self.check(scenario)

    def scenario_kill_pause(self):
        """``--pause-kills`` kills of a worker (push and verify) over
        ``--pause-shipments`` shipments, each followed by a pause of
        ``--pause-seconds`` (:meth:`pass_time`), then workers to completion."""
        args = self.args
        kills, pause = args.pause_kills, args.pause_seconds
        scenario = self.new_scenario(f"kill-pause K={kills}")
        self.make_shipments(scenario, args.pause_shipments, args.platforms)
        start = time.monotonic()
        if args.kill_latency:
            for operation in WRITE_OPERATIONS:
                self.sandbox.inject_fault(
                    operation, delay=args.kill_latency, times=None
                )
        landed = missed = 0
        claims = set()  # the claims a kill left sending
        for _kill in range(kills):
            tag, pid, log = self.forks.spawn(scenario.index, "work")
            kill_at = time.monotonic() + self.rng.uniform(0, args.kill_window)
            while time.monotonic() < kill_at and self.forks.status(pid) is None:
                time.sleep(0.005)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            status = self.forks.wait([pid], timeout=30)[pid]
            ours = (
                status is not None
                and os.WIFSIGNALED(status)
                and os.WTERMSIG(status) == signal.SIGKILL
            )
            landed += ours
            missed += not ours
            scenario.workers.append((tag, pid, log, ours))
            self.sandbox.wait_idle(10)  # the killed worker's send lands or not
            for claim in self.sending_claims(scenario) - claims:
                claims.add(claim)
                scenario.interrupted[claim[0]] += 1
            self.pass_time(scenario, pause)
        self.sandbox.faults.clear()
        after = self.state_summary(scenario)
        self.say(
            f"  kill-pause: {landed} kills landed, {missed} worker(s) ended "
            f"first, {sum(scenario.interrupted.values())} claims left sending "
            f"by a kill ({len(scenario.interrupted)} shipments); then "
            f"(state/attempts x count): {after}"
        )
        rounds = self.run_to_completion(scenario)
        scenario.run_seconds = time.monotonic() - start
        scenario.note = (
            f"{landed} kills landed, each + {pause:g} s pause; "
            f"{sum(scenario.interrupted.values())} claims cut; {rounds} round(s)"
        )
        self.check(scenario)

    def sending_claims(self, scenario):
        """The claims of the scenario's shipments left *sending*: (id, the
        claim's time on the sandbox's clock, which pass_time does not move)."""
        cr, env = self.env()
        try:
            env.cr.execute(
                """SELECT id, extract(epoch FROM writeback_last_attempt) + %s
                     FROM stock_picking WHERE id IN %s
                      AND writeback_state = 'sending'""",
                [self.clock_offset, tuple(scenario.picking_ids)],
            )
            return {(row[0], round(float(row[1]), 3)) for row in env.cr.fetchall()}
        finally:
            cr.close()

    def pass_time(self, scenario, seconds):
        """``seconds`` pass with no worker running, for the marketplace and
        the engine alike: the sandbox's clock moves forward by ``seconds``
        (its rate-limit buckets refill, its tokens age), and every time the
        engine keeps about the scenario's shipments moves back by as much
        (next attempt, lease, last attempt, submitted, done and read-back
        dates; the claim dates of stored outcomes; the dates of their calls
        in the journal, so a claim and its requests keep their order), as
        ``tests/common.py`` ``make_due`` does, and the accounts' saved
        rate-limit buckets are dropped (full again after the pause)."""
        self.clock_offset += seconds
        ids = tuple(scenario.picking_ids)
        accounts = tuple(self.accounts.values())
        cr, env = self.env()
        try:
            shift = SQL_SHIFT
            env.cr.execute(
                f"""UPDATE stock_picking SET
                        writeback_next_attempt = writeback_next_attempt {shift},
                        writeback_lease_until = writeback_lease_until {shift},
                        writeback_last_attempt = writeback_last_attempt {shift},
                        writeback_submitted_date = writeback_submitted_date {shift},
                        writeback_done_date = writeback_done_date {shift},
                        ecommerce_readback_date = ecommerce_readback_date {shift}
                    WHERE id IN %(ids)s""",
                {"seconds": seconds, "ids": ids},
            )
            env.cr.execute(
                f"""UPDATE ecommerce_writeback_outcome
                       SET claim_date = claim_date {shift}
                     WHERE picking_id IN %(ids)s""",
                {"seconds": seconds, "ids": ids},
            )
            env.cr.execute(
                f"""UPDATE ecommerce_api_call SET call_date = call_date {shift}
                     WHERE picking_id IN %(ids)s OR account_id IN %(accounts)s""",
                {"seconds": seconds, "ids": ids, "accounts": accounts},
            )
            env.cr.execute(
                "UPDATE ecommerce_account SET writeback_pacing_state = NULL "
                "WHERE id IN %s",
                [accounts],
            )
            cr.commit()
        finally:
            cr.close()

    def state_summary(self, scenario):
        cr, env = self.env()
        try:
            env.cr.execute(
                """SELECT writeback_state, writeback_attempt_count, count(*)
                     FROM stock_picking WHERE id IN %s
                    GROUP BY 1, 2 ORDER BY 1, 2""",
                [tuple(scenario.picking_ids)],
            )
            return " ".join(
                f"{state}/{attempts}x{count}"
                for state, attempts, count in env.cr.fetchall()
            )
        finally:
            cr.close()

    def fault_matrix(self):
        srv = self.sandbox
        batch = self.args.fault_batch
        confirm = "amazon.confirmShipment"

        def status(code, **extra):
            return lambda: srv.inject_fault(confirm, status=code, times=batch, **extra)

        self.scenario_fault(
            "timeout",
            lambda: srv.inject_fault(confirm, delay=ACCOUNT_TIMEOUT + 1.5, times=batch),
        )
        self.scenario_fault(
            "connection reset",
            lambda: srv.inject_fault(confirm, drop=True, times=batch),
        )
        self._refused_connection()
        for code in (500, 502, 503):
            self.scenario_fault(f"HTTP {code}", status(code))
        self.scenario_fault(
            "429 Retry-After", status(429, headers={"Retry-After": "30"})
        )
        self.scenario_fault("429 no Retry-After", status(429))
        self.scenario_fault(
            "malformed JSON token",
            lambda: srv.inject_fault("amazon.token", malformed=True, times=batch),
        )
        self.scenario_fault(
            "malformed JSON getOrder",
            lambda: srv.inject_fault("amazon.getOrder", malformed=True, times=batch),
        )
        self.scenario_fault(
            "503 getOrder",
            lambda: srv.inject_fault("amazon.getOrder", status=503, times=batch),
        )

        def expire_tokens(stop):
            while not stop.wait(0.3):
                srv.expire_access_tokens()

        self.scenario_fault("expired access token", lambda: None, during=expire_tokens)
        self._invalid_grant()

    def _account_write(self, platform, vals):
        cr, env = self.env()
        try:
            env["ecommerce.account"].browse(self.accounts[platform]).write(vals)
            cr.commit()
        finally:
            cr.close()

    def _refused_connection(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()  # nothing listens there any more
        closed = f"http://127.0.0.1:{port}"
        url = self.sandbox.url
        self.scenario_fault(
            "refused connection",
            lambda: self._account_write(
                "amazon",
                {"api_base_url": closed, "auth_url": f"{closed}/auth/o2/token"},
            ),
            clear=lambda: self._account_write(
                "amazon", {"api_base_url": url, "auth_url": f"{url}/auth/o2/token"}
            ),
            unreachable=True,
        )

    def _invalid_grant(self):
        cr, env = self.env()
        try:
            account = env["ecommerce.account"].browse(self.accounts["amazon"])
            token = account.lwa_refresh_token
        finally:
            cr.close()
        fresh = f"Atzr|chaos-{self.run_id}-reauthorized"
        self.scenario_fault(
            "invalid_grant",
            lambda: self.sandbox.revoke_refresh_token(token),
            # The seller authorizes the app again: a new refresh token.
            clear=lambda: self._account_write("amazon", {"lwa_refresh_token": fresh}),
        )

    # -- checks ----------------------------------------------------------
    def package_recorded(self, scenario, picking_id):
        platform, ref, item_ref, tracking = scenario.orders[picking_id]
        order = (
            self.sandbox.amazon_order(ref)
            if platform == "amazon"
            else self.sandbox.ebay_order(ref)
        )
        return recorded_exactly(platform, order, picking_id, item_ref, tracking)

    def tally(self, scenario):
        """:func:`marketplace_tally` of the scenario's shipments, over the
        requests the sandbox logged since the scenario began, the 429s, and
        the stored orders."""
        shipments = {
            picking_id: (platform, ref, tracking)
            for picking_id, (platform, ref, _i, tracking) in scenario.orders.items()
        }
        orders = {}
        for platform, ref, _tracking in shipments.values():
            with contextlib.suppress(KeyError):
                orders[ref] = (
                    self.sandbox.amazon_order(ref)
                    if platform == "amazon"
                    else self.sandbox.ebay_order(ref)
                )
        entries = self.sandbox.requests()[scenario.log_start :]
        tally, throttled = marketplace_tally(shipments, entries, orders)
        return tally, throttled, orders

    def check(self, scenario):
        self.sandbox.wait_idle(10)
        rows = self._picking_rows(scenario)
        tally, _throttled, orders = self.tally(scenario)
        found, success = shipment_figures(
            scenario.orders,
            rows,
            tally,
            orders,
            allowance=scenario.allowance,
            cut=scenario.interrupted,
        )
        crashes, errors, error_lines = self._worker_report(scenario)
        found["crashes"] = crashes
        throttled, _by_op = rate_limited(self.sandbox.requests()[scenario.log_start :])
        scenario.result = {
            "shipments": len(rows),
            "success": success,
            **{key: len(items) for key, items in found.items()},
            "throttled": throttled,
            "resent_requests": sum(t.resent for t in tally.values()),
            "log_err": errors,
        }
        scenario.details.extend(figure_details(found))
        if scenario.allowance:
            scenario.details.append(
                f"{sum(scenario.allowance.values())} attempt(s) spent while the "
                "account pointed at a closed port (no request could reach the "
                "marketplace): not counted as attempts without a request"
            )
        scenario.details.append(self.request_summary(scenario))
        for line, count in error_lines.most_common(5):
            scenario.details.append(f"log error x{count}: {line}")
        print_row(scenario)
        for line in scenario.details:
            self.say(f"    {line}")
        left = self._retire_ids(scenario)
        if left:
            self.say(f"    {left} open write-back(s) retired before the next scenario")

    def _picking_rows(self, scenario):
        """{picking id: (state, attempts, max attempts of its account, error)}."""
        cr, env = self.env()
        try:
            return {
                p.id: (
                    p.writeback_state,
                    p.writeback_attempt_count,
                    p.ecommerce_account_id.max_attempts,
                    p.writeback_error or "",
                )
                for p in env["stock.picking"].browse(scenario.picking_ids)
            }
        finally:
            cr.close()

    def _worker_report(self, scenario):
        """(crashed workers, ERROR lines, the most frequent ones)."""
        crashes = []
        errors = 0
        error_lines = collections.Counter()
        for tag, pid, log, killed in scenario.workers:
            status = self.forks.status(pid)
            if not killed and status != 0:
                crashes.append((tag, pid, _describe_status(status), log))
            with contextlib.suppress(OSError), open(log, errors="replace") as handle:
                previous = ""
                for line in handle:
                    if previous:  # "bad query: ..." is followed by the error
                        error_lines[f"{previous} -> {line.strip()[:80]}"] += 1
                        previous = ""
                    if " ERROR " in line or " CRITICAL " in line:
                        errors += 1
                        text = re.sub(r"\d+", "N", line.split(" ", 4)[-1].strip())
                        if "bad query" in text:
                            previous = text[:110]
                        else:
                            error_lines[text[:160]] += 1
        return crashes, errors, error_lines

    def request_summary(self, scenario):
        """What the sandbox got during the scenario: per operation, the
        number of requests and their answers (fault answers marked "f")."""
        by_op = collections.defaultdict(collections.Counter)
        for entry in self.sandbox.requests()[scenario.log_start :]:
            answer = "drop" if entry["status"] is None else str(entry["status"])
            if entry["fault"]:
                answer += "f"
            by_op[entry["operation"].split(".", 1)[1]][answer] += 1
        parts = []
        for op, answers in sorted(by_op.items()):
            total = sum(answers.values())
            detail = ",".join(f"{a}:{n}" for a, n in sorted(answers.items()))
            parts.append(f"{op} {total} ({detail})")
        ships = max(len(scenario.picking_ids), 1)
        return f"requests ({ships} shipments): " + "; ".join(parts)

    def _retire_ids(self, scenario):
        cr, env = self.env()
        try:
            env.cr.execute(
                """UPDATE stock_picking SET writeback_state = 'manual',
                          writeback_next_attempt = NULL, writeback_lease_until = NULL
                    WHERE id IN %s AND writeback_state IN %s""",
                [tuple(scenario.picking_ids), OPEN_STATES],
            )
            count = env.cr.rowcount
            cr.commit()
            return count
        finally:
            cr.close()

    def run(self):
        """The in-process scenarios the arguments ask for; returns them."""
        args = self.args
        self.setup()
        self.say("starting the fork server (loads the registry once)")
        self.forks = ForkServer(args, self.log_dir)
        try:
            self.say(HEADER)
            if "workers" in args.scenarios:
                self.scenario_workers()
            if args.kills:
                self.scenario_kills()
            if args.faults:
                self.fault_matrix()
            if "kill-pause" in args.scenarios:
                self.scenario_kill_pause()
        finally:
            self.forks.close()
            self.sandbox.stop()
        return self.scenarios


# ----------------------------------------------------------------------
# Server scenarios: a prefork Odoo server with its crons, limits on
# ----------------------------------------------------------------------
def server_scenario(args, name):
    """``seller-1000`` or ``prefork-backlog`` on the machinery of
    ``scripts/benchmark_scaleout.py`` (one implementation): a scratch copy
    of the template database with the sellers and validated deliveries, a
    sandbox of its own (separate process, documented rate limits on), a
    prefork Odoo server (2 HTTP workers, Odoo's default 2 cron workers)
    whose push cron is triggered and whose verify cron runs when the engine
    schedules it (and at its interval); client pacing on; ``verify_delay``
    and ``verify_interval`` 0. Waits until no shipment is open (or
    ``--server-timeout``), then counts the figures from the sandbox's log
    and store and Odoo's rows. Everything is dropped at the end."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import benchmark_scaleout as scaleout

    defaults = {"max_cron_threads": None, "limit_time_real": None}
    defaults["limit_time_cpu"] = None  # Odoo's defaults (2, 120 s, 60 s)
    if name == "seller-1000":
        sellers, per_seller, options = 1, args.seller_shipments, defaults
    else:
        sellers, per_seller = args.backlog_sellers, args.backlog_per_seller
        options = {**defaults, "limit_time_real_cron": args.cron_time_limit}
    documented = scaleout.documented_time(sellers, per_seller, verify_delay=0)
    # A claim cut by a killed cron worker waits for its lease (600 s), then
    # for a verify run (every 2 minutes): room for that, and more.
    timeout = args.server_timeout or 2 * documented["get_order_seconds"] + 1200
    bench = scaleout.Bench(
        argparse.Namespace(
            accounts=sellers,
            per_account=per_seller,
            template=args.template or scaleout.find_template(),
            # the server's and the sandbox's logs, with --log-dir
            keep=bool(args.log_dir),
            timeout=timeout,
        )
    )
    scenario = Scenario(f"{name} {sellers}x{per_seller}")
    try:
        start = time.monotonic()
        bench.prepare()
        scenario.setup_seconds = time.monotonic() - start
        raw = bench.run_until_done(
            name,
            workers=2,
            params={f"{ADDON}.verify_delay": "0", f"{ADDON}.verify_interval": "0"},
            options=options,
            timeout=timeout,
        )
    finally:
        bench.cleanup()
    scenario.orders = bench.pickings
    shipments = {
        picking_id: (platform, ref, tracking)
        for picking_id, (platform, ref, _i, tracking) in bench.pickings.items()
    }
    tally, _throttled = marketplace_tally(shipments, raw["entries"], raw["orders"])
    found, success = shipment_figures(bench.pickings, raw["rows"], tally, raw["orders"])
    found["crashes"] = (
        [] if raw["server_exit"] is None else [("odoo", raw["server_exit"])]
    )
    scenario.run_seconds = raw["seconds"]
    limited, by_op = rate_limited(raw["entries"])
    scenario.result = {
        "shipments": len(raw["rows"]),
        "success": success,
        **{key: len(items) for key, items in found.items()},
        "throttled": limited,
        "resent_requests": sum(t.resent for t in tally.values()),
        "log_err": raw["log_errors"],
    }
    reads = collections.Counter(
        e["operation"] for e in raw["entries"] if e["operation"] in READ_OPERATIONS
    )
    all_success = raw["success_seconds"]
    scenario.note = (
        "every one Success after "
        + (f"{all_success:.0f} s" if all_success is not None else "never")
        + f" (documented {documented['seconds']:.0f} s); cron workers killed "
        f"at their time limit: {raw['cron_killed']}"
    )
    scenario.details.extend(figure_details(found))
    scenario.details.append(
        f"429s of the rate limits per operation: {dict(by_op) or 'none'}"
    )
    scenario.details.append(
        "requests: confirmShipment "
        f"{sum(1 for e in raw['entries'] if e['operation'] in WRITE_OPERATIONS)}, "
        + ", ".join(f"{op} {n}" for op, n in sorted(reads.items()))
    )
    print_row(scenario)
    for line in scenario.details:
        print(f"    {line}", flush=True)
    return scenario


# ----------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------
HEADER = (
    f"{'scenario':<26} {'ships':>6} {'success':>7} {'lost':>5} {'dup':>4} "
    f"{'resent':>6} {'stuck':>5} {'wrong att':>9} {'false F':>7} "
    f"{'no req':>6} {'429':>5} {'crashes':>7} {'log err':>7} {'setup s':>7} "
    f"{'wall s':>7}  notes"
)


def print_row(scenario):
    r = scenario.result
    print(
        f"{scenario.name:<26} {r['shipments']:>6} {r['success']:>7} "
        f"{r['lost']:>5} {r['dup']:>4} {r['resent']:>6} {r['stuck']:>5} "
        f"{r['wrong']:>9} {r['false_fail']:>7} {r['no_request']:>6} "
        f"{r['throttled']:>5} "
        f"{r['crashes']:>7} {r['log_err']:>7} "
        f"{scenario.setup_seconds:>7.1f} {scenario.run_seconds:>7.1f}  "
        f"{scenario.note}",
        flush=True,
    )


def goals(scenarios):
    """PASS or FAIL per goal (every figure of :data:`FIGURES` zero in every
    scenario); 1 when one failed."""
    print("\nGoals (every scenario):")
    failed = 0
    for key, goal in FIGURES.items():
        where = [f"{s.name} {s.result[key]}" for s in scenarios if s.result[key]]
        total = sum(s.result[key] for s in scenarios)
        failed += bool(total)
        verdict = "FAIL" if total else "PASS"
        detail = f" ({'; '.join(where)})" if where else ""
        if key == "resent" and total:
            requests = sum(s.result["resent_requests"] for s in scenarios)
            detail += f", {requests} request(s)"
        print(f"  {verdict}  {goal}: {total}{detail}")
    if not scenarios:
        print("  FAIL  no scenario ran")
        failed += 1
    print("RESULT: " + ("FAILED" if failed else "OK"), flush=True)
    return 1 if failed else 0


def print_conditions(args):
    """The run's conditions, first thing printed (the README quotes them)."""
    kills = (
        f"{args.kills} kill -9 of push workers over {args.kill_shipments} "
        f"shipments, each 0 to {args.kill_window:g} s after its start; "
        f"confirmations answered after {args.kill_latency:g} s meanwhile"
        if args.kills
        else "none"
    )
    faults = (
        f"{args.fault_batch} Amazon shipments per fault"
        + (f" ({args.fault_kinds})" if args.fault_kinds else " (all faults)")
        if args.faults
        else "none"
    )
    workers = (
        "none"
        if args.skip_workers_scenario
        else f"{args.shipments} shipments over {','.join(args.platforms)}"
    )
    lines = [
        (
            f"chaos.py conditions: {datetime.date.today()}, "
            f"{os.cpu_count()} cores, seed {args.seed}"
        ),
    ]
    if args.in_process:
        lines += [
            "  in-process scenarios: the sandbox in this process, rate limits off",
            "  client pacing: "
            + ("on" if args.client_pacing else "off (--client-pacing turns it on)"),
            (
                f"  engine: verify_delay 0, verify_interval 0 (set by the script), "
                f"batch {args.batch_size} (--batch-size; the crons' default is "
                f"50), account timeout {ACCOUNT_TIMEOUT} s"
            ),
            (
                f"  workers: {args.workers} at once, forked from a warm fork "
                f"server; between rounds (at most {args.max_rounds}) retries and "
                "leases are made due in SQL"
            ),
            (
                f"  scenarios: workers: {workers}; kills: {kills}; fault matrix: "
                f"{faults}"
            ),
        ]
    if "kill-pause" in args.scenarios:
        lines.append(
            f"  kill-pause: {args.pause_kills} kill -9 of a worker (push and "
            f"verify) over {args.pause_shipments} Amazon/eBay shipments "
            f"({','.join(args.platforms)}), each 0 to {args.kill_window:g} s "
            f"after its start, confirmations answered after "
            f"{args.kill_latency:g} s; after each kill a pause of "
            f"{args.pause_seconds:g} s, simulated with no worker running: the "
            "sandbox's clock moves forward by it (an offset on its wall "
            "clock: buckets refill, tokens age) and every time the engine "
            "stored for the shipments moves back by it (next attempt, lease, "
            "last attempt, submitted, done and read-back dates, stored "
            "outcomes' claim dates, their journal's call dates), as "
            "tests/common.py make_due does; the accounts' saved rate-limit "
            "buckets are dropped (full after the pause)"
        )
    server = [name for name in SERVER_SCENARIOS if name in args.scenarios]
    if server:
        lines.append(
            "  server scenarios (scripts/benchmark_scaleout.py's machinery): a "
            "scratch copy of the template database, a sandbox in a process of "
            "its own with its documented rate limits ON (confirmShipment 2/s "
            "burst 10, getOrder 0.5/s burst 30, per seller), client pacing ON, "
            "a prefork Odoo server (workers 2, Odoo's default 2 cron workers "
            "and limit_time_real 120 s / limit_time_cpu 60 s), verify_delay 0 "
            "and verify_interval 0, engine batch 50 (the crons'); the push "
            "cron triggered, the verify cron as the engine schedules it and "
            "at its interval; until no shipment is open or --server-timeout"
        )
    if "seller-1000" in args.scenarios:
        lines.append(
            f"  seller-1000: 1 seller, {args.seller_shipments} deliveries "
            "validated before the trigger (all at once)"
        )
    if "prefork-backlog" in args.scenarios:
        lines.append(
            f"  prefork-backlog: {args.backlog_sellers} sellers x "
            f"{args.backlog_per_seller}, limit_time_real_cron = "
            f"{args.cron_time_limit} (Odoo kills a cron worker past it; the "
            "scheduler runs the cron again)"
        )
    lines += ["  goals: " + "; ".join(FIGURES.values()) + ": 0 each", ""]
    print("\n".join(lines), flush=True)


def _describe_status(status):
    if status is None:
        return "still running"
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit {os.WEXITSTATUS(status)}"


def main(argv=None):
    args = parse_args(argv)
    if args.fork_server:
        return fork_server(args)
    print_conditions(args)
    start = time.monotonic()
    scenarios = Chaos(args).run() if args.in_process else []
    for name in SERVER_SCENARIOS:
        if name in args.scenarios:
            print(f"{name}: preparing a database and a prefork server ...")
            print(HEADER, flush=True)
            scenarios.append(server_scenario(args, name))
    print(
        f"\nSummary (seed {args.seed}, W={args.workers}, platforms "
        f"{','.join(args.platforms)}, total {time.monotonic() - start:.0f} s)"
    )
    print(HEADER)
    for scenario in scenarios:
        print_row(scenario)
    return goals(scenarios)


if __name__ == "__main__":
    sys.exit(main())
