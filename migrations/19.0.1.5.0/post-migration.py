# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.5.0: orders cancelled on the marketplace get states of their own.

Up to 19.0.1.4.0 a write-back whose order the marketplace showed cancelled
was *Failed* (its read-back saying so), and *Mark as handled* closed it as
*Manually confirmed* with the reason "cancelled". Now the first is *Differs
on marketplace* (a person intercepts the parcel) and the second *Cancelled
on marketplace*; the old error of a handled one goes.
"""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
    cr.execute(
        SQL(
            """
        UPDATE stock_picking
           SET writeback_state = 'cancelled', writeback_error = NULL
         WHERE writeback_state = 'manual' AND writeback_manual_reason = 'cancelled'
            """
        )
    )
    cr.execute(
        SQL(
            """
        UPDATE stock_picking
           SET writeback_state = 'disagrees', writeback_next_attempt = NULL
         WHERE writeback_state = 'failed'
           AND (ecommerce_readback ->> 'cancelled')::boolean IS TRUE
            """
        )
    )
