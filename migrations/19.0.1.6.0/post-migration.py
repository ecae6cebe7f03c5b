# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.6.0: *Send again* only where a tracking number sent is gone.

Up to 19.0.1.5.0 an open *Changed since Success* issue not cancelled on the
marketplace could always be sent again. Now *Send again* needs
``tracking_gone``, which the reconciliation sets when it finds the issue; it
reads only orders changed since its last run, so the issues it found before
would never get it. They keep what they allowed: *Send again* stays offered.
"""

from odoo.tools import SQL


def migrate(cr, version):
    if not version:
        return
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
