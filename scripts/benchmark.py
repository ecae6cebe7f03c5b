#!/usr/bin/env python3
"""Prints how the call journal scales: the status recompute (what the status
cron and the Update button run) and the journal clean-up, against journals
of growing size. Nothing is kept: everything runs in one transaction that is
rolled back.

Usage (with the Odoo virtualenv, on a database that has the addon, e.g. the
demo's):

    $ODOO_VENV/bin/python scripts/benchmark.py \\
        -c /tmp/stock_ecommerce_writeback-demo/odoo.cfg \\
        -d stock_ecommerce_writeback_demo [--rows 10000,100000,500000]
"""

import argparse
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


def timed(label, func, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    print(f"  {label:<44} {best * 1000:9.1f} ms (best of {repeat})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--rows", default="10000,100000,500000")
    args = parser.parse_args()
    config.parse_config(["-c", args.config, "-d", args.database])
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        # The clean-up commits per batch in a cron; here nothing may be kept.
        cron_class = type(env["ir.cron"])
        cron_class._commit_progress = lambda self, *a, **kw: float("inf")
        Status = env["ecommerce.api.status"]
        accounts = env["ecommerce.account"].search([("active", "=", True)])
        if not accounts:
            raise SystemExit("No marketplace account here (use the demo database).")
        Status._ensure_rows(accounts)
        statuses = Status.search([("account_id", "in", accounts.ids)])
        print(
            f"Odoo {odoo.release.version}, {len(accounts)} accounts, "
            f"{len(statuses)} API statuses"
        )
        total = 0
        for rows in sorted(int(r) for r in args.rows.split(",")):
            fill_journal(env, accounts, rows - total)
            total = rows
            print(f"journal of {total:,} rows")
            timed("status recompute (every API of every account)", statuses._recompute)
            cr.execute("SAVEPOINT gc")
            timed(
                "journal clean-up (rows older than 90 days)",
                lambda: env["ecommerce.api.call"]._gc_journal(90, batch_size=50000),
                repeat=1,
            )
            cr.execute("ROLLBACK TO SAVEPOINT gc")
            env.invalidate_all()
        cr.rollback()


if __name__ == "__main__":
    main()
