# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.6.0: *Tracking Sent* is empty until a send went out.

Up to 19.0.1.5.0 it was written when a delivery was claimed, before its
send, and stayed when nothing went out (the client holding the call back,
a 429, credentials refused). Now it is written once the marketplace took
the send in. A delivery that shows no sign of a send (never accepted, no
attempt counted as failed, no answer lost, not settled by the marketplace)
loses the value it got at its claim.
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
