# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""README.rst's promises, end to end (real HTTP to the sandbox, real crons):
the *Retry timings* and their system parameters, rows of the *Outcomes*
table, archived accounts, and deliveries that wait for a fix. The numbers
asserted are the README's, not the code's constants."""

import datetime

from odoo import fields
from odoo.tests import tagged

from ..marketplaces import policy
from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

ORDER = "115-0000001-0000001"
EBAY_ORDER = "15-00001-00001"
TRACKING = "1Z0000000000000015"


@tagged("post_install", "-at_install")
class TestReadmeOutcomes(WritebackCase):
    def setUp(self):
        super().setUp()
        self.params = self.env["ir.config_parameter"].sudo()

    def amazon_picking(self, status="UNSHIPPED"):
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "15111111111111", "quantity": 1}],
            status=status,
        )
        order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "15111111111111")]
        )
        return order.picking_ids

    def ebay_picking(self):
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "10000000000015",
                    "quantity": 1,
                    "item_id": "110000000015",
                    "transaction_id": "0",
                }
            ],
        )
        order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_b, 1, "110000000015-0")]
        )
        return order.picking_ids

    def wait_of(self, picking):
        """Seconds from now until the engine looks at ``picking`` again."""
        return (picking.writeback_next_attempt - fields.Datetime.now()).total_seconds()

    def assertWait(self, picking, nominal, jitter=0.0):
        low, high = nominal * (1 - jitter), nominal * (1 + jitter)
        # a few seconds of slack for the time the cron itself takes
        self.assertGreaterEqual(self.wait_of(picking), low - 5)
        self.assertLessEqual(self.wait_of(picking), high + 1)

    # ------------------------------------------------------------ timings
    def test_every_retry_timing_is_a_system_parameter(self):
        knobs = {
            "base_delay": 11,
            "max_delay": 222,
            "rate_limit_delay": 33,
            "auth_retry_delay": 44,
            "verify_delay": 55,
            "verify_interval": 66,
            "verify_window": 777,
        }
        self.assertEqual(
            self.amazon._writeback_policy(),
            policy.RetryPolicy(
                max_attempts=5,
                base_delay=300,
                factor=3.0,
                max_delay=14400,
                jitter=0.2,
                rate_limit_delay=60,
                auth_retry_delay=1800,
                verify_delay=60,
                verify_interval=120,
                verify_window=1800,
            ),
            "no parameter: the README's defaults (Retry timings)",
        )
        for name, value in knobs.items():
            self.params.set_param(f"stock_ecommerce_writeback.{name}", str(value))
        self.assertEqual(self.amazon._writeback_policy(), policy.RetryPolicy(**knobs))

    def test_base_delay_300_s_then_overridden(self):
        picking = self.amazon_picking()
        self.sandbox.inject_fault("amazon.confirmShipment", status=503, times=2)
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertWait(picking, 300, jitter=0.2)

        self.params.set_param("stock_ecommerce_writeback.base_delay", "20")
        self.make_due(picking)
        self.push()
        self.assertEqual(picking.writeback_attempt_count, 2)
        self.assertWait(picking, 20 * 3, jitter=0.2)  # x3 after the second

    def test_accepted_is_read_back_after_verify_delay_then_every_interval(self):
        self.params.set_param("stock_ecommerce_writeback.verify_delay", "90")
        self.params.set_param("stock_ecommerce_writeback.verify_interval", "400")
        picking = self.amazon_picking()
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertWait(picking, 90)
        # The marketplace swallows nothing but the read-back fails: every
        # verify_interval.
        self.sandbox.inject_fault("amazon.getOrder", status=503)
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertWait(picking, 400)

    def test_auth_failure_waits_1800_s_then_auth_retry_delay(self):
        picking = self.amazon_picking()
        self.sandbox.revoke_refresh_token("Atzr|amazon-refresh-token")
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0, "not counted")
        self.assertTrue(self.amazon.auth_error)
        self.assertWait(picking, 1800)

        self.params.set_param("stock_ecommerce_writeback.auth_retry_delay", "600")
        self.make_due(picking)
        self.push()
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertWait(picking, 600)

    def test_429_without_retry_after_waits_rate_limit_delay_overridden(self):
        self.params.set_param("stock_ecommerce_writeback.rate_limit_delay", "45")
        picking = self.amazon_picking()
        self.sandbox.inject_fault("amazon.confirmShipment", status=429, times=2)
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertWait(picking, 45)
        self.make_due(picking)
        self.push()
        self.assertWait(picking, 90)  # doubled on the 429 in a row

    def test_max_delay_caps_the_backoff(self):
        self.params.set_param("stock_ecommerce_writeback.base_delay", "1000")
        self.params.set_param("stock_ecommerce_writeback.max_delay", "1500")
        picking = self.amazon_picking()
        self.sandbox.inject_fault("amazon.confirmShipment", status=503, times=2)
        self.ship(picking, TRACKING)
        self.push()
        self.make_due(picking)
        self.push()
        self.assertEqual(picking.writeback_attempt_count, 2)
        self.assertWait(picking, 1500, jitter=0.2)  # 3000 without the cap

    # ------------------------------------------------------------ outcomes
    def test_cancelled_order_differs_at_once(self):
        """Amazon refuses the confirmation of a cancelled order; its own view
        of the order says why: a person intercepts the parcel (never
        Failed, never resent)."""
        picking = self.amazon_picking(status="CANCELLED")
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(picking.writeback_state, "disagrees")
        self.assertEqual(picking.writeback_issue, "cancelled")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        self.assertEqual(len(self.requests_of("amazon.getOrder")), 1)
        self.assertIn("intercept the parcel", picking.writeback_error)
        self.assertEqual(picking.activity_ids.user_id, self.responsible)

    def _trading_token_error(self, code):
        return {
            "code": code,
            "classification": "RequestError",
            "short": "Auth token is invalid.",
            "long": "Validation of the authentication token in API request failed.",
        }

    def _refreshes_the_token_once(self, code):
        picking = self.ebay_picking()
        self.sandbox.inject_fault(
            "ebay.CompleteSale", trading_error=self._trading_token_error(code)
        )
        self.ship(picking, TRACKING)
        self.push()
        # one refused call, one fresh token, the same call again
        self.assertEqual(len(self.requests_of("ebay.CompleteSale")), 2)
        self.assertEqual(len(self.requests_of("ebay.token")), 2, "refreshed once")
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertFalse(self.ebay.auth_error)

    def test_ebay_930_refreshes_the_token_once(self):
        self._refreshes_the_token_once("930")

    def test_ebay_931_refreshes_the_token_once(self):
        self._refreshes_the_token_once("931")

    def test_ebay_931_twice_flags_the_account_after_one_refresh(self):
        picking = self.ebay_picking()
        self.sandbox.inject_fault(
            "ebay.CompleteSale", trading_error=self._trading_token_error("931"), times=2
        )
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(len(self.requests_of("ebay.token")), 2, "one refresh only")
        self.assertEqual(len(self.requests_of("ebay.CompleteSale")), 2)
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertTrue(self.ebay.auth_error)
        self.assertWait(picking, 1800)

    def test_ebay_932_flags_the_account_without_a_refresh(self):
        picking = self.ebay_picking()
        self.sandbox.inject_fault(
            "ebay.CompleteSale", trading_error=self._trading_token_error("932")
        )
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(len(self.requests_of("ebay.token")), 1)
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertTrue(self.ebay.auth_error)

    def test_ebay_21919089_combined_order_is_accepted_then_read_back(self):
        picking = self.ebay_picking()
        self.sandbox.inject_fault(
            "ebay.CompleteSale",
            trading_error={
                "code": "21919089",
                "classification": "RequestError",
                "short": "Tracking number already uploaded.",
                "long": "The tracking number was already uploaded for this "
                "combined order.",
            },
        )
        self.ship(picking, TRACKING)
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertFalse(picking.activity_ids)
        self.assertWait(picking, 60)  # verify_delay: read back as any accepted

    def test_archived_account_waits_untouched_then_resumes(self):
        picking = self.amazon_picking()
        self.amazon.active = False
        self.ship(picking, TRACKING)
        self.make_due(picking)
        self.push()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertEqual(self.sandbox.requests(), [], "nothing is called")
        self.amazon.active = True
        self.make_due(picking)
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertEqual(picking.writeback_attempt_count, 1)

    def test_several_tracking_numbers_without_as_many_packages_wait(self):
        picking = self.amazon_picking()
        self.ship(picking, "1Z0000000000000016, 1Z0000000000000017")
        self.push()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertTrue(picking.writeback_error)
        self.assertIn("package", picking.writeback_error.lower())
        self.assertEqual(self.sandbox.requests(), [])
        # Fixed by keeping one tracking number: it goes at once.
        picking.carrier_tracking_ref = TRACKING
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertLess(
            picking.writeback_next_attempt,
            fields.Datetime.now() + datetime.timedelta(seconds=65),
        )
