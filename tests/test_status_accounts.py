# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Connection Status cards, their drill-down and Test connection on the
account form (issue 10)."""

from odoo import fields

from ..marketplaces.policy import State
from .common import WritebackCase
from .status_common import StatusScreenMixin


class TestAccountCards(StatusScreenMixin, WritebackCase):
    def setUp(self):
        super().setUp()
        self._status_screen_data()

    def test_account_card_drills_down_to_validated_deliveries_only(self):
        unshipped = self.make_order(
            self.amazon, "114-7100009-0000009", [(self.product_a, 1, "71000000000009")]
        ).picking_ids
        action = self.amazon.action_open_writebacks()
        found = self.env["stock.picking"].search(action["domain"])
        self.assertNotIn(unshipped, found)
        self.assertEqual(found, self.ok | self.bad | self.cancelled | self.to_fix)
        self.assertTrue(action["context"]["writeback_grid"])
        failed = self.amazon.action_open_writebacks_failed()
        self.assertEqual(failed["context"].get("search_default_filter_failed"), 1)

    def test_account_card_counts(self):
        # the cancelled order differs on the marketplace: not a failure
        self.assertEqual(self.amazon.writeback_failed_count, 1)
        self.assertEqual(self.amazon.writeback_pending_count, 2)
        self.assertEqual(self.amazon.writeback_success_today_count, 0)
        self.ok.with_context(writeback_engine=True).write(
            {
                "writeback_state": State.SUCCESS.value,
                "writeback_done_date": fields.Datetime.now(),
            }
        )
        self.amazon.invalidate_recordset()
        self.assertEqual(self.amazon.writeback_success_today_count, 1)
        self.run_cron("ir_cron_api_status_refresh")
        self.assertTrue(self.amazon.status_checked_on)

    def test_test_connection_shows_each_api(self):
        """Test connection probes each of the account's API keys on the
        marketplace (Amazon: a token exchange each, with the account's
        credentials, nothing written) and shows each result."""
        before = len(self.sandbox.requests())
        self.amazon.action_test_connection()
        result = self.amazon.connection_test_result
        self.assertTrue(self.amazon.connection_test_ok, result)
        for api in ("Amazon Products API", "Amazon Writeback API", "Amazon Orders API"):
            self.assertIn(f"✔ {api}: Connected", result)
        self.assertTrue(self.amazon.status_checked_on)
        probes = self.sandbox.requests()[before:]
        self.assertEqual(
            [(r["operation"], r["status"]) for r in probes],
            [("amazon.token", 200)] * 3,
            "one token exchange per API, and nothing else",
        )
        for probe in probes:
            self.assertEqual(probe["form"]["grant_type"], "refresh_token")
            self.assertEqual(
                probe["form"]["refresh_token"], self.amazon.lwa_refresh_token
            )

    def test_test_connection_probes_ebay_with_a_read(self):
        """An eBay account is probed with a read of its orders, journaled
        and shown per API; nothing is written on eBay."""
        before = len(self.sandbox.requests())
        self.ebay.action_test_connection()
        self.assertTrue(self.ebay.connection_test_ok, self.ebay.connection_test_result)
        operations = [r["operation"] for r in self.sandbox.requests()[before:]]
        self.assertTrue(operations)
        self.assertFalse(
            set(operations) & {"ebay.CompleteSale", "ebay.createShippingFulfillment"},
            operations,
        )
        self.assertTrue(
            {"ebay.GetOrders", "ebay.getOrders"} & set(operations), operations
        )

    def test_test_connection_shows_a_refusal(self):
        self.sandbox.inject_fault(
            "amazon.token",
            status=400,
            body={"error": "invalid_grant", "error_description": "revoked"},
        )
        before = len(self.requests_of("amazon.token"))
        self.amazon.action_test_connection()
        self.assertFalse(self.amazon.connection_test_ok)
        self.assertIn("✘ Amazon", self.amazon.connection_test_result)
        refused = self.requests_of("amazon.token")[before:]
        self.assertEqual(refused[0]["status"], 400, "Amazon itself refused")
