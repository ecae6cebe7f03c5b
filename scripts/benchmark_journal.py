#!/usr/bin/env python3
"""Prints how the call journal scales: the status recompute (what the status
cron and the Update button run) and the journal clean-up, against journals
of growing size. Nothing is kept: everything runs in one transaction that is
rolled back.

Conditions, printed in the first lines of the output: the date and cores,
the journal sizes, the accounts and API statuses, best of how many runs.
On a database without marketplace accounts (a test database), the script
creates three like the demo's (Amazon, eBay Trading, eBay Sell
Fulfillment) in the transaction it rolls back.

Goals, printed PASS or FAIL (exit status 1 when one fails): the status
recompute takes at most 100 ms at every journal size and stays flat (the
largest journal's at most twice the smallest's, plus 5 ms: every query is
bounded by the status window or an index); the clean-up of the largest
journal takes at most 10 s and leaves no row older than 90 days.

Usage (with the Odoo virtualenv, on a database that has the addon, e.g. the
demo's):

    $ODOO_VENV/bin/python scripts/benchmark_journal.py \\
        -c /tmp/stock_ecommerce_writeback-demo/odoo.cfg \\
        -d stock_ecommerce_writeback_demo [--rows 10000,100000,500000]
"""

import argparse
import datetime
import os
import sys
import time

import odoo
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tools import SQL, config


def fill_journal(env, accounts, rows):
    """``rows`` journal rows spread over the accounts' APIs and the last 120
    days (about 1 % failures), inserted in one statement."""
    env.cr.execute(
        SQL(
            """
        INSERT INTO ecommerce_api_call
            (account_id, company_id, api, operation, call_date, duration_ms,
             http_status, outcome, error_message)
        SELECT s.account_id, a.company_id, s.api, 'getOrder',
               now() at time zone 'utc' - (g * interval '120 days' / %(rows)s),
               50 + g %% 200, CASE WHEN g %% 100 = 0 THEN 503 ELSE 200 END,
               CASE WHEN g %% 100 = 0 THEN 'transient' ELSE 'success' END,
               CASE WHEN g %% 100 = 0 THEN 'HTTP 503' END
          FROM generate_series(1, %(rows)s) g
          JOIN (SELECT account_id, api, row_number() OVER () - 1 AS n,
                       count(*) OVER () AS total
                  FROM ecommerce_api_status
                 WHERE account_id IN %(accounts)s) s ON s.n = g %% s.total
          JOIN ecommerce_account a ON a.id = s.account_id
        """,
            rows=rows,
            accounts=tuple(accounts.ids),
        )
    )
    env.cr.execute("ANALYZE ecommerce_api_call")


RECOMPUTE_MS, FLAT_FACTOR, FLAT_SLACK_MS, CLEANUP_S = 100, 2, 5, 10
RECOMPUTE_REPEAT = 3


def timed(label, func, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<44} {best * 1000:9.1f} ms (best of {repeat})")
    return best


def demo_like_accounts(env):
    """Three sandbox accounts like the demo's, for a database that has none
    (rolled back with everything else), from ``tests/fixtures.py``; nothing
    calls their sandbox."""
    from odoo.addons.stock_ecommerce_writeback.tests import fixtures

    url = "http://127.0.0.1:9"
    return (
        fixtures.amazon_account(env, url, "Amazon US (benchmark)")
        | fixtures.ebay_account(
            env, url, "eBay US (benchmark, Trading)", ebay_api="trading"
        )
        | fixtures.ebay_account(
            env, url, "eBay US (benchmark, Sell Fulfillment)", ebay_api="fulfillment"
        )
    )


def goal(label, passed, measured):
    print(f"  {'PASS' if passed else 'FAIL'}  {label}: {measured}")
    return passed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--rows", default="10000,100000,500000")
    args = parser.parse_args()
    sizes = sorted(int(r) for r in args.rows.split(","))
    config.parse_config(["-c", args.config, "-d", args.database])
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        # The clean-up commits per batch in a cron; here nothing may be kept.
        cron_class = type(env["ir.cron"])
        cron_class._commit_progress = lambda self, *a, **kw: float("inf")
        Status = env["ecommerce.api.status"]
        accounts = env["ecommerce.account"].search([("active", "=", True)])
        origin = "of the database"
        if not accounts:
            accounts = demo_like_accounts(env)
            origin = "created like the demo's, rolled back"
        Status._ensure_rows(accounts)
        statuses = Status.search([("account_id", "in", accounts.ids)])
        print(
            f"benchmark_journal.py conditions: {datetime.date.today()}, "
            f"{os.cpu_count()} cores; Odoo {odoo.release.version}\n"
            f"  journal sizes {', '.join(f'{n:,}' for n in sizes)} rows (over "
            f"the last 120 days, about 1 % failures), one transaction rolled "
            f"back at the end\n"
            f"  {len(accounts)} account(s) ({origin}), {len(statuses)} API statuses\n"
            f"  status recompute: best of {RECOMPUTE_REPEAT} (warm caches); "
            f"clean-up: one run per size (batches of 50,000), rolled back to a "
            f"savepoint after it\n"
            f"  goals: recompute <= {RECOMPUTE_MS} ms at every size and flat "
            f"(largest <= {FLAT_FACTOR} x smallest + {FLAT_SLACK_MS} ms); "
            f"clean-up of the largest <= {CLEANUP_S} s, no row older than 90 "
            f"days left\n",
            flush=True,
        )
        recompute, cleanup, left = {}, {}, {}
        total = 0
        for rows in sizes:
            fill_journal(env, accounts, rows - total)
            total = rows
            print(f"journal of {total:,} rows")
            recompute[rows] = timed(
                "status recompute (every API of every account)",
                statuses._recompute,
                repeat=RECOMPUTE_REPEAT,
            )
            cr.execute("SAVEPOINT gc")
            cleanup[rows] = timed(
                "journal clean-up (rows older than 90 days)",
                lambda: env["ecommerce.api.call"]._gc_journal(90, batch_size=50000),
                repeat=1,
            )
            env.flush_all()
            cr.execute(
                "SELECT count(*) FROM ecommerce_api_call WHERE account_id IN %s"
                " AND picking_id IS NULL AND order_ref IS NULL"
                " AND call_date < now() at time zone 'utc' - interval '90 days'",
                [tuple(accounts.ids)],
            )
            left[rows] = cr.fetchone()[0]
            cr.execute("ROLLBACK TO SAVEPOINT gc")
            env.invalidate_all()
        cr.rollback()
    smallest, largest = sizes[0], sizes[-1]
    slowest = max(recompute.values()) * 1000
    print("\nGoals:")
    passed = [
        goal(
            f"status recompute <= {RECOMPUTE_MS} ms at every size",
            slowest <= RECOMPUTE_MS,
            f"slowest {slowest:.1f} ms",
        ),
        goal(
            "status recompute flat",
            recompute[largest] * 1000
            <= FLAT_FACTOR * recompute[smallest] * 1000 + FLAT_SLACK_MS,
            f"{recompute[smallest] * 1000:.1f} ms at {smallest:,} rows, "
            f"{recompute[largest] * 1000:.1f} ms at {largest:,}",
        ),
        goal(
            f"clean-up of {largest:,} rows <= {CLEANUP_S} s",
            cleanup[largest] <= CLEANUP_S,
            f"{cleanup[largest]:.1f} s",
        ),
        goal(
            "clean-up leaves no row older than 90 days",
            not any(left.values()),
            ", ".join(f"{n:,} left at {rows:,}" for rows, n in left.items()),
        ),
    ]
    print("RESULT: " + ("OK" if all(passed) else "FAILED"))
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
