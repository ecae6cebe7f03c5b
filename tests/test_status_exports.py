# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Exports that match the screen: the grid's columns, headings and times,
a download without popup, 'not yet confirmed only', eBay ids of Sell
Fulfillment orders (issue 10)."""

import datetime

from ..marketplaces.policy import State
from .common import WritebackCase
from .status_common import BAD, CANCELLED, OK, StatusScreenMixin


class TestExportsMatchTheScreen(StatusScreenMixin, WritebackCase):
    def setUp(self):
        super().setUp()
        self._status_screen_data()
        self.env.user.group_ids |= self.env.ref(
            "stock_ecommerce_writeback.group_writeback_accountant"
        )

    def _wizard(self, export_format, pickings, **context):
        return (
            self.env["ecommerce.writeback.export"]
            .with_context(
                active_model="stock.picking", export_ids=pickings.ids, **context
            )
            .create({"export_format": export_format})
        )

    def test_grid_csv_has_the_grid_columns_in_the_screen_zone(self):
        wizard = self._wizard(
            "grid_csv",
            self.bad,
            export_columns=[
                ["ecommerce_order_ref", "Order"],
                ["carrier_tracking_ref", "Tracking Number"],
                ["writeback_last_attempt", "Last Attempt"],
                ["writeback_lease_until", "Lease"],  # not a grid column
            ],
            export_tz="America/New_York",
        )
        lines = wizard._export_file()[0].decode("utf-8-sig").splitlines()
        self.assertEqual(lines[0], "Order,Tracking Number,Last Attempt")
        local = (
            self.bad.writeback_last_attempt.replace(tzinfo=datetime.UTC)
            .astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
            .strftime("%Y-%m-%d %H:%M:%S")
        )
        self.assertEqual(lines[1], f"{BAD},1Z7100002,{local}")

    def test_export_downloads_without_a_popup(self):
        action = self._wizard("grid_csv", self.bad).action_export()
        self.assertEqual(action["type"], "ir.actions.client")
        self.assertEqual(action["tag"], "stock_ecommerce_writeback.download")

    def test_amazon_file_not_yet_confirmed_only(self):
        self.ok.with_context(writeback_engine=True).write(
            {"writeback_state": State.SUCCESS.value}
        )
        wizard = self._wizard(
            "amazon_flat", self.ok | self.bad, default_unconfirmed_only=True
        )
        self.assertTrue(wizard.unconfirmed_only)
        content = wizard._export_file()[0].decode()
        self.assertIn(BAD, content)
        self.assertNotIn(OK, content)
        self.assertIn("already confirmed", wizard.export_warning)
        wizard.unconfirmed_only = False
        self.assertIn(OK, wizard._export_file()[0].decode())

    def test_ebay_file_of_a_sell_fulfillment_order_has_trading_ids(self):
        self.ebay.ebay_api = "fulfillment"
        order = self.make_order(
            self.ebay, "23-45678-90199", [(self.product_a, 1, "10000000099")]
        )
        line = order.order_line
        self.assertEqual(line.ebay_line_item_id, "10000000099")
        line.ebay_order_line_item_id = "110000000099-2000000099"
        picking = self.ship(order.picking_ids, "9400100000000099")
        content = self._wizard("ebay_csv", picking)._export_file()[0].decode()
        row = content.splitlines()[1].split(",")
        self.assertEqual(row[1:3], ["23-45678-90199", "110000000099"])
        self.assertIn("2000000099", row)

    # Issue 19, point 3: the upload files hold only what can be confirmed.
    def test_amazon_file_leaves_out_the_order_cancelled_on_amazon(self):
        wizard = self._wizard("amazon_flat", self.cancelled | self.bad)
        self.assertFalse(wizard.unconfirmed_only)
        self.assertEqual(wizard.export_count, 1)
        content = wizard._export_file()[0].decode()
        self.assertIn(BAD, content)
        self.assertNotIn(CANCELLED, content)
        self.assertIn(
            "1 Amazon deliveries cannot be confirmed, their order is cancelled on "
            f"Amazon: left out:\n- {self.cancelled.name} ({CANCELLED})",
            wizard.export_warning,
        )
        self.assertNotIn("until fixed", wizard.export_warning)

    def test_confirmed_deliveries_are_not_called_to_fix(self):
        self.ok.with_context(writeback_engine=True).write(
            {"writeback_state": State.SUCCESS.value}
        )
        wizard = self._wizard(
            "amazon_flat", self.ok | self.bad, default_unconfirmed_only=True
        )
        self.assertEqual(
            wizard.export_warning,
            "1 Amazon deliveries are already confirmed: left out (untick 'Not yet "
            f"confirmed only' to include them):\n- {self.ok.name} ({OK})",
        )

    def test_ebay_fulfillment_file_has_a_line_per_item(self):
        self.ebay.ebay_api = "fulfillment"
        self.product_a.default_code = "SKU-A"
        self.product_b.default_code = "SKU-B"
        order = self.make_order(
            self.ebay,
            "23-45678-90200",
            [(self.product_a, 1, "10000000201"), (self.product_b, 2, "10000000202")],
        )
        order.order_line[0].ebay_legacy_item_id = "110000000201"
        order.order_line[1].ebay_legacy_item_id = "110000000202"
        picking = self.ship(order.picking_ids, "9400100000000200")
        lines = self._wizard("ebay_csv", picking)._export_file()[0].decode()
        rows = [line.split(",") for line in lines.splitlines()[1:]]
        self.assertEqual(
            rows,
            [
                [
                    "Shipped",
                    "23-45678-90200",
                    "110000000201",
                    self.product_a.name,
                    "SKU-A",
                    "",
                    "UPS",
                    "9400100000000200",
                ],
                [
                    "Shipped",
                    "23-45678-90200",
                    "110000000202",
                    self.product_b.name,
                    "SKU-B",
                    "",
                    "UPS",
                    "9400100000000200",
                ],
            ],
        )
