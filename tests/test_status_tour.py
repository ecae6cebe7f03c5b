# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo.tests import new_test_user, tagged

from .common import WritebackHttpCase
from .fixtures import AMAZON_MARKETPLACE


@tagged("post_install", "-at_install")
class TestStatusTour(WritebackHttpCase):
    """The eCommerce Status screen in a real browser (headless Chromium)."""

    def test_status_screen_tour(self):
        for ref, item in (("114-7000001-0000001", "71"), ("114-7000002-0000002", "72")):
            self.sandbox.add_amazon_order(
                ref,
                marketplace_id=AMAZON_MARKETPLACE,
                items=[{"order_item_id": item * 7, "quantity": 1}],
            )
        ok = self.make_order(
            self.amazon, "114-7000001-0000001", [(self.product_a, 1, "71" * 7)]
        )
        bad = self.make_order(
            self.amazon, "114-7000002-0000002", [(self.product_a, 1, "72" * 7)]
        )
        self.amazon_error(
            "amazon.confirmShipment",
            400,
            "InvalidInput",
            # a refusal no correction of the delivery cures: the steps to
            # confirm it by hand are what helps
            "The order is on hold for review.",
            order_ref="114-7000002-0000002",
        )
        self.ship(ok.picking_ids, "1Z7000001")
        self.ship(bad.picking_ids, "1Z7000002")
        # A delivery of the other account: the account click must filter it out.
        self.sandbox.add_ebay_order(
            "17-70003-70003",
            line_items=[
                {
                    "line_item_id": "10000000007003",
                    "quantity": 1,
                    "item_id": "110000007003",
                    "transaction_id": "0",
                }
            ],
        )
        other = self.make_order(
            self.ebay, "17-70003-70003", [(self.product_b, 1, "110000007003-0")]
        )
        self.ship(other.picking_ids, "1Z7000003")
        self.push()
        self.assertEqual(other.picking_ids.writeback_state, "submitted")
        self.run_cron("ir_cron_api_status_refresh")
        failed = bad.picking_ids
        self.assertEqual(failed.writeback_state, "failed")
        ok.picking_ids.with_context(writeback_engine=True).write(
            {
                "writeback_last_attempt": failed.writeback_last_attempt
                - timedelta(hours=1)
            }
        )
        exports_before = self.env["ir.attachment"].search_count(
            [("res_model", "=", "ecommerce.writeback.export")]
        )

        # The round of the accountant who confirms failed orders (README,
        # Access rights: Manual Confirmation and Export), not the admin's.
        new_test_user(
            self.env,
            "wb_tour_accountant",
            groups="stock_ecommerce_writeback.group_writeback_accountant",
        )
        self.start_tour(
            "/odoo/inventory",
            "stock_ecommerce_writeback_status_tour",
            login="wb_tour_accountant",
        )

        failed.invalidate_recordset()
        self.assertEqual(failed.writeback_state, "pending", "Retry now from the form")
        self.assertEqual(failed.writeback_attempt_count, 0)
        export = self.env["ir.attachment"].search(
            [("res_model", "=", "ecommerce.writeback.export")], order="id desc", limit=1
        )
        self.assertEqual(
            self.env["ir.attachment"].search_count(
                [("res_model", "=", "ecommerce.writeback.export")]
            ),
            exports_before + 1,
        )
        # Sorted by last attempt, ascending, as the user left the grid.
        lines = export.raw.decode("utf-8-sig").splitlines()
        self.assertEqual(len(lines), 3)
        self.assertIn("114-7000001-0000001", lines[1])
        self.assertIn("114-7000002-0000002", lines[2])
        self.assertNotIn("17-70003-70003", export.raw.decode("utf-8-sig"))
        self.assertEqual(export.create_uid.login, "wb_tour_accountant")
