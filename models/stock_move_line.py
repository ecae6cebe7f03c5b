# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..marketplaces.policy import State


class StockMoveLine(models.Model):
    _inherit = "stock.move.line"

    def write(self, vals):
        res = super().write(vals)
        if "result_package_id" in vals:
            # Packages fixed after the delivery was validated: a write-back
            # waiting for them is checked again at once.
            blocked = self.picking_id.filtered(
                lambda p: (
                    p.writeback_state == State.PENDING and not p.writeback_next_attempt
                )
            )
            if blocked:
                blocked._writeback_queue(keep_attempts=True)
        return res
