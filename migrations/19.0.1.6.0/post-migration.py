# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.6.0.

* *Tracking Sent* is empty until a send went out. Up to 19.0.1.5.0 it was
  written when a delivery was claimed, before its send, and stayed when
  nothing went out (the client holding the call back, a 429, credentials
  refused). Now it is written once the marketplace took the send in. A
  delivery that shows no sign of a send (never accepted, no attempt counted
  as failed, no answer lost, not settled by the marketplace) loses the value
  it got at its claim.
* *Send again* only where a tracking number sent is gone. Up to 19.0.1.5.0
  an open *Changed since Success* issue not cancelled on the marketplace
  could always be sent again. Now *Send again* needs ``tracking_gone``,
  which the reconciliation sets when it finds the issue; it reads only
  orders changed since its last run, so the issues it found before would
  never get it. They keep what they allowed: *Send again* stays offered.
"""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """
        UPDATE stock_picking
           SET writeback_sent_tracking = NULL
         WHERE writeback_sent_tracking IS NOT NULL
           AND writeback_submitted_date IS NULL
           AND COALESCE(writeback_error_count, 0) = 0
           AND NOT COALESCE(writeback_sent_unanswered, FALSE)
           AND writeback_state NOT IN ('success', 'disagrees')
            """
        )
    )
    cr.execute(
        SQL(
            """
        UPDATE ecommerce_reconciliation_issue
           SET tracking_gone = TRUE
         WHERE kind = 'changed_since_success'
           AND state = 'open'
           AND marketplace_cancelled IS NOT TRUE
            """
        )
    )
