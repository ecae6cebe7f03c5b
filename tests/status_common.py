# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared data of the eCommerce Status screen tests: four Amazon
deliveries, one per kind of write-back the Needs-attention queue sorts."""

import datetime

from odoo import fields

from ..marketplaces.policy import State
from .fixtures import AMAZON_MARKETPLACE

OK = "114-7100001-0000001"
BAD = "114-7100002-0000002"
CANCELLED = "114-7100003-0000003"
TO_FIX = "114-7100004-0000004"


class StatusScreenMixin:
    """Four Amazon deliveries, one per kind of write-back the queue sorts:
    submitted, failed (invalid tracking), differs (order cancelled on
    Amazon), pending with something to fix (no tracking number)."""

    def _amazon_delivery(self, ref, item, tracking, status="UNSHIPPED"):
        self.sandbox.add_amazon_order(
            ref,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": item, "quantity": 1}],
            status=status,
        )
        order = self.make_order(self.amazon, ref, [(self.product_a, 1, item)])
        return self.ship(order.picking_ids, tracking)

    def _status_screen_data(self):
        self.amazon_error(
            "amazon.confirmShipment",
            400,
            "InvalidInput",
            # as long as Amazon's messages are: it must wrap in the grid
            "Invalid tracking number. The tracking number 1Z7100002 is not valid "
            "for carrier UPS: check the number printed on the label and the "
            "carrier selected, then submit the shipment confirmation again.",
            order_ref=BAD,
        )
        self.ok = self._amazon_delivery(OK, "71000000000001", "1Z7100001")
        self.bad = self._amazon_delivery(BAD, "71000000000002", "1Z7100002")
        self.cancelled = self._amazon_delivery(
            CANCELLED, "71000000000003", "1Z7100003", status="CANCELLED"
        )
        self.to_fix = self._amazon_delivery(TO_FIX, "71000000000004", False)
        self.push()
        self.assertEqual(self.ok.writeback_state, State.SUBMITTED)
        self.assertEqual(self.bad.writeback_state, State.FAILED)
        # refused: Amazon's view shows it cancelled, a person decides
        self.assertEqual(self.cancelled.writeback_state, State.DISAGREES)
        self.assertEqual(self.to_fix.writeback_state, State.PENDING)
        # a stable order on the grid: newest attempt first
        base = fields.Datetime.now() - datetime.timedelta(hours=1)
        for minutes, picking in enumerate((self.ok, self.bad, self.cancelled)):
            picking.with_context(writeback_engine=True).write(
                {"writeback_last_attempt": base + datetime.timedelta(minutes=minutes)}
            )
