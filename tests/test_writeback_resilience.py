# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from psycopg2 import IntegrityError

from odoo import fields
from odoo.tests import freeze_time, tagged
from odoo.tools import mute_logger

from ..marketplaces import tokens as marketplace_tokens
from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

ORDER = "113-0000001-0000001"
OTHER_ORDER = "113-0000002-0000002"
EBAY_ORDER = "12-00001-00001"


@tagged("post_install", "-at_install")
class TestWritebackResilience(WritebackCase):
    def setUp(self):
        super().setUp()
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[
                {
                    "order_item_id": "11111111111111",
                    "quantity": 1,
                    "asin": "B0A",
                    "sku": "WA",
                }
            ],
        )
        self.order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "11111111111111")]
        )
        self.picking = self.order.picking_ids

    def _seconds_until(self, when):
        return (when - fields.Datetime.now()).total_seconds()

    def test_five_transient_failures_fail_with_activity(self):
        self.sandbox.inject_fault("amazon.confirmShipment", status=503, times=5)
        self.ship(self.picking, "1Z0001")
        for attempt in range(1, 6):
            self.push()
            self.assertEqual(self.picking.writeback_attempt_count, attempt)
            if attempt < 5:
                self.assertEqual(self.picking.writeback_state, "pending")
                self.assertGreater(
                    self._seconds_until(self.picking.writeback_next_attempt), 60
                )
                self.make_due(self.picking)
        self.assertEqual(self.picking.writeback_state, "failed")
        self.assertEqual(self.picking.writeback_error_count, 5)
        self.assertIn("5 attempts", self.picking.writeback_error)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 5)
        self.assertEqual(self.picking.activity_ids.user_id, self.responsible)
        self.assertFalse(self.picking.writeback_next_attempt)
        self.push()
        self.assertEqual(
            len(self.requests_of("amazon.confirmShipment")), 5, "failed is final"
        )

    def test_backoff_grows(self):
        self.sandbox.inject_fault("amazon.confirmShipment", status=500, times=3)
        self.ship(self.picking, "1Z0001")
        waits = []
        for _attempt in range(3):
            self.push()
            waits.append(self._seconds_until(self.picking.writeback_next_attempt))
            self.make_due(self.picking)
        self.assertLess(waits[0], waits[1])
        self.assertLess(waits[1], waits[2])

    def test_rate_limited_burns_no_attempt(self):
        self.amazon_error(
            "amazon.confirmShipment",
            429,
            "QuotaExceeded",
            "You exceeded your quota for the requested resource.",
            headers={"Retry-After": "120"},
        )
        self.ship(self.picking, "1Z0001")
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 0)
        self.assertAlmostEqual(
            self._seconds_until(self.picking.writeback_next_attempt), 120, delta=10
        )
        self.assertEqual(self.picking.writeback_call_ids[0].outcome, "rate_limited")
        self.make_due(self.picking)
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(self.picking.writeback_attempt_count, 1)

    def test_auth_failure_flags_account_and_other_account_goes_through(self):
        """A revoked refresh token: the account is flagged, its deliveries
        wait without using attempts, and the eBay account still ships."""
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "10000000000001",
                    "quantity": 1,
                    "item_id": "110000000001",
                    "transaction_id": "0",
                }
            ],
        )
        ebay_order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_b, 1, "110000000001-0")]
        )
        self.sandbox.revoke_refresh_token("Atzr|amazon-refresh-token")
        self.ship(self.picking, "1Z0001")
        self.ship(ebay_order.picking_ids, "1Z0002")
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 0)
        self.assertTrue(self.amazon.auth_error)
        self.assertNotIn("amazon-secret-value", self.amazon.auth_error)
        self.assertNotIn("Atzr|amazon-refresh-token", self.amazon.auth_error)
        self.assertFalse(self.requests_of("amazon.confirmShipment"))
        self.assertEqual(ebay_order.picking_ids.writeback_state, "submitted")
        self.assertEqual(len(self.requests_of("ebay.CompleteSale")), 1)
        for call in self.env["ecommerce.api.call"].search([]):
            self.assertNotIn("amazon-secret-value", call.error_message or "")

        # The admin pastes a new refresh token: the delivery goes at once.
        self.amazon.lwa_refresh_token = "Atzr|new-refresh-token"
        self.assertFalse(self.amazon.auth_error)
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(self.picking.writeback_attempt_count, 1)

    def test_refused_credentials_pause_the_account_for_the_run(self):
        """A revoked refresh token and three deliveries: one token exchange
        fails, the account's other shipments (and read-backs) wait for the
        rest of the run instead of each repeating it, attempts unused."""
        pickings = self.ship_amazon_orders(self.amazon, 3, "115")
        self.sandbox.revoke_refresh_token("Atzr|amazon-refresh-token")
        self.push()
        self.assertEqual(len(self.requests_of("amazon.token")), 1)
        self.assertEqual(set(pickings.mapped("writeback_state")), {"pending"})
        self.assertEqual(set(pickings.mapped("writeback_attempt_count")), {0})
        self.assertTrue(self.amazon.auth_error)

    def test_forbidden_after_token_refresh_is_auth_error(self):
        self.amazon_error(
            "amazon.confirmShipment",
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            times=2,
        )
        self.ship(self.picking, "1Z0001")
        self.push()
        self.assertEqual(
            len(self.requests_of("amazon.token")), 2, "one token refresh, then give up"
        )
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 2)
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 0)
        self.assertIn("Access to requested resource is denied", self.amazon.auth_error)

    def test_client_timeout_is_transient(self):
        """A marketplace slower than the account's timeout: the attempt
        counts and is retried later."""
        self.amazon.timeout = 1
        self.sandbox.inject_fault("amazon.confirmShipment", delay=2.5)
        self.ship(self.picking, "1Z0001")
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(self.picking.writeback_call_ids[0].outcome, "transient")

    def test_dropped_connection_and_malformed_answer_are_transient(self):
        self.sandbox.inject_fault("amazon.confirmShipment", drop=True)
        self.ship(self.picking, "1Z0001")
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.make_due(self.picking)
        marketplace_tokens.TOKEN_CACHE.clear()  # as in a freshly started worker
        # the read before the resend (the answer was lost) and the resend
        # both meet the malformed token answer
        self.sandbox.inject_fault("amazon.token", malformed=True, times=2)
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 2)

    def test_worker_killed_after_send_is_reconciled_without_resend(self):
        """The worker claimed the delivery, the marketplace recorded it, and
        the worker died before writing the result."""
        self.ship(self.picking, "1Z0001")
        self.push_killed(after_send=True)
        self.assertEqual(self.picking.writeback_state, "sending")
        # The push cron leaves a sending delivery alone, even after its lease.
        self.make_due(self.picking)
        self.push()
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(
            len(self.requests_of("amazon.confirmShipment")), 1, "never sent twice"
        )

    def test_worker_killed_before_send_is_resent_once_its_attempt_given_back(self):
        """The worker was killed between its claim and its request: once the
        lease ends the order is read back (nothing there), and since the
        journal shows no request of that claim, its attempt is given back
        and the shipment goes at once."""
        self.ship(self.picking, "1Z0001")
        self.push_killed(after_send=False)
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertIn("before any request", self.picking.writeback_error)
        self.assertEqual(self.picking.writeback_attempt_count, 0)
        self.assertFalse(self.requests_of("amazon.confirmShipment"))
        self.push()
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        self.assertEqual(self.picking.writeback_attempt_count, 1)

    def test_worker_killed_after_a_refused_send_keeps_its_attempt(self):
        """The claim produced a request (the journal shows it) that the
        marketplace did not record: the attempt stays counted."""
        self.ship(self.picking, "1Z0001")
        self.sandbox.inject_fault("amazon.confirmShipment", swallow=True)
        self.push()  # accepted (204) but not recorded
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.picking.with_context(writeback_engine=True).write(
            {"writeback_state": "sending"}  # as if its worker had died
        )
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertIn("sending it again", self.picking.writeback_error)

    def test_a_dead_workers_claim_is_reconciled_once_its_10_minute_lease_ends(self):
        """A worker killed right after Amazon recorded its confirmation:
        the delivery stays *sending* (nobody reads the order back, nothing
        is sent again) for the 10 minutes of its lease, then the verify
        cron reads the order back and finds it recorded: *Success*, one
        confirmation, the attempt counted once."""
        claimed_at = fields.Datetime.now()
        with freeze_time(claimed_at):
            self.ship(self.picking, "1Z0001")
            self.push_killed()
        self.assertEqual(self.picking.writeback_state, "sending")
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        lease = datetime.timedelta(minutes=10)
        with freeze_time(claimed_at + lease - datetime.timedelta(seconds=2)):
            self.push()
            self.verify()
        self.assertEqual(self.picking.writeback_state, "sending")
        self.assertFalse(self.requests_of("amazon.getOrder"), "lease still running")
        with freeze_time(claimed_at + lease + datetime.timedelta(seconds=1)):
            self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(len(self.requests_of("amazon.getOrder")), 1)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        [package] = self.sandbox.amazon_order(ORDER)["packages"]
        self.assertEqual(package["tracking_number"], "1Z0001")

    def test_lease_not_expired_is_left_alone(self):
        self.ship(self.picking, "1Z0001")
        self.push_killed(after_send=False)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "sending")
        self.assertFalse(self.requests_of("amazon.getOrder"))

    def test_silently_dropped_confirmation_is_caught(self):
        """Amazon answered 204 but never recorded the package: the verify
        cron waits for the window, then sends it again (same package id)."""
        self.sandbox.inject_fault("amazon.confirmShipment", swallow=True)
        self.ship(self.picking, "1Z0001")
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(
            self.picking.writeback_state, "submitted", "still inside the window"
        )

        window = self.amazon._writeback_policy().verify_window
        self.picking.with_context(writeback_engine=True).write(
            {
                "writeback_submitted_date": fields.Datetime.now()
                - datetime.timedelta(seconds=window + 60),
                "writeback_next_attempt": fields.Datetime.now(),
            }
        )
        self.verify()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertIn("accepted", self.picking.writeback_error)
        self.assertIn("1Z0001", self.picking.writeback_error)
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(self.picking.writeback_error_count, 1)

        self.make_due(self.picking)
        self.push()
        confirms = self.requests_of("amazon.confirmShipment")
        self.assertEqual(len(confirms), 2)
        self.assertEqual(
            confirms[0]["json"]["packageDetail"]["packageReferenceId"],
            confirms[1]["json"]["packageDetail"]["packageReferenceId"],
        )
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertEqual(self.picking.writeback_attempt_count, 2)

    def test_one_broken_account_does_not_stop_another(self):
        """Two Amazon accounts: one cannot reach its API at all, the other's
        deliveries still go in the same cron run."""
        broken = self.amazon.copy(
            {
                "name": "Amazon CA (unreachable)",
                "lwa_refresh_token": "Atzr|other-refresh-token",
                "lwa_client_id": "amzn1.application-oa2-client.other",
                "lwa_client_secret": "other-secret",
                # Nothing listens on the discard port: connection refused.
                "api_base_url": "http://127.0.0.1:9",
                "auth_url": "http://127.0.0.1:9/auth/o2/token",
            }
        )
        broken_order = self.make_order(
            broken, OTHER_ORDER, [(self.product_a, 1, "22222222222222")]
        )
        self.ship(broken_order.picking_ids, "1Z0002")
        self.ship(self.picking, "1Z0001")
        self.push()
        self.assertEqual(broken_order.picking_ids.writeback_state, "pending")
        self.assertEqual(broken_order.picking_ids.writeback_attempt_count, 1)
        self.assertEqual(self.picking.writeback_state, "submitted")

    def test_order_gone_on_read_back_fails_clearly(self):
        self.ship(self.picking, "1Z0001")
        self.push()
        self.amazon_error("amazon.getOrder", 404, "NotFound", "Order not found.")
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "failed")
        self.assertIn("could not show the order", self.picking.writeback_error)
        self.assertEqual(self.picking.activity_ids.user_id, self.responsible)

    def test_tracking_corrected_while_sending_is_sent(self):
        """The user corrects the tracking number while the worker is in the
        middle of the call: the correction is sent, not lost."""
        self.ship(self.picking, "1Z0001")
        self.push_killed(after_send=False)
        self.assertEqual(self.picking.writeback_state, "sending")
        self.picking.carrier_tracking_ref = "1Z0002"
        self.assertEqual(self.picking.writeback_state, "pending")
        self.push()
        [confirm] = self.requests_of("amazon.confirmShipment")
        self.assertEqual(confirm["json"]["packageDetail"]["trackingNumber"], "1Z0002")
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertEqual(self.picking.writeback_sent_tracking, "1Z0002")

    def test_fixed_order_line_is_picked_up(self):
        """Whatever held a shipment back, it goes once fixed: here the order
        line's marketplace item id."""
        self.order.order_line.ecommerce_item_ref = False
        self.ship(self.picking, "1Z0001")
        self.assertIn("has no Amazon Order Item ID", self.picking.writeback_error)
        self.push()
        self.assertFalse(self.requests_of("amazon.confirmShipment"))
        self.order.order_line.ecommerce_item_ref = "11111111111111"
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertFalse(self.picking.writeback_error)

    def test_accounts_with_orders_are_archived_not_deleted(self):
        with self.assertRaises(IntegrityError), mute_logger("odoo.sql_db"):
            self.amazon.unlink()
        self.amazon.active = False
        self.assertEqual(self.order.ecommerce_account_id, self.amazon)
