# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The engine's promises: every path ends, no outcome is dropped, hostile
configuration is refused. (Concurrency at scale and kill -9 loops are in
``scripts/chaos.py``; this is its small deterministic subset.)"""

import datetime
import time

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..marketplaces import pacer as marketplace_pacer
from ..marketplaces import policy
from ..marketplaces.policy import State
from ..models.writeback_engine import BLOCKED_CURSOR_PARAM
from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

ORDER = "114-0000001-0000001"
OTHER = "114-0000002-0000002"
EBAY_ORDER = "24-00001-00001"


@tagged("post_install", "-at_install")
class TestWritebackEngine(WritebackCase):
    def setUp(self):
        super().setUp()
        for ref, item in ((ORDER, "12111111111111"), (OTHER, "12111111111112")):
            self.sandbox.add_amazon_order(
                ref,
                marketplace_id=AMAZON_MARKETPLACE,
                items=[{"order_item_id": item, "quantity": 1}],
            )
        self.order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "12111111111111")]
        )
        self.picking = self.order.picking_ids

    def _age(self, picking, seconds):
        """The send was accepted ``seconds`` ago (time passes)."""
        past = fields.Datetime.now() - datetime.timedelta(seconds=seconds)
        picking.with_context(writeback_engine=True).write(
            {"writeback_submitted_date": past, "writeback_next_attempt": past}
        )

    def test_read_back_refused_stays_submitted_and_needs_attention_in_time(self):
        """getOrder answers 403 (a missing role) for ever after Amazon
        accepted the confirmation: the order is read again every interval;
        after 15 failed reads (the verify window) the shipment stays
        Submitted, saying Amazon accepted it, is never Failed and never sent
        again; it joins Needs attention once the verify window has passed
        since Amazon accepted it. The flag belongs to the read-back API: a
        working confirmShipment does not clear it."""
        self.ship(self.picking, "1Z0001")
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.amazon_error(
            "amazon.getOrder", 403, "Unauthorized", "Access denied.", times=None
        )
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertIn("Could not read the order back", self.picking.writeback_error)
        self.assertEqual(self.amazon.auth_error_api, "amazon_orders")
        per_read = len(self.requests_of("amazon.getOrder"))  # with a token refresh

        # Another delivery of the account is confirmed fine meanwhile.
        other = self.make_order(
            self.amazon, OTHER, [(self.product_a, 1, "12111111111112")]
        )
        self.ship(other.picking_ids, "1Z0002")
        self.push()
        self.assertEqual(other.picking_ids.writeback_state, "submitted")
        self.assertTrue(self.amazon.auth_error, "not cleared by another API")

        budget = policy.RetryPolicy().read_budget
        for _read in range(budget + 2):
            self.make_due(self.picking)
            self.time_passes()  # between reads
            self.verify()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(self.picking.writeback_read_failures, budget + 3)
        self.assertIn("accepted the confirmation", self.picking.writeback_error)
        self.assertIn("It is not sent again", self.picking.writeback_error)
        self.assertFalse(self.picking.activity_ids)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 2)
        self.assertEqual(
            len(self.requests_of("amazon.getOrder")), per_read * (budget + 3)
        )

        Picking = self.env["stock.picking"]
        attention = [("writeback_needs_attention", "=", True)]
        self.assertNotIn(self.picking, Picking.search(attention))
        window = policy.RetryPolicy().verify_window
        self._age(self.picking, window + 60)
        self.picking.invalidate_recordset()
        self.assertIn(self.picking, Picking.search(attention))
        self.assertEqual(self.picking.writeback_issue, "unverified")
        self.assertEqual(self.picking.writeback_state, "submitted")

    def test_a_read_the_client_holds_back_is_not_a_failure(self):
        """The seller's getOrder bucket is empty: the client holds the read
        back (nothing reaches Amazon). The shipment stays as it was: no
        failed read, no message, no error in the journal."""
        self.ship(self.picking, "1Z0001")
        self.push()
        self.make_due(self.picking)
        client = self.amazon._marketplace_client(on_call=None, kind="writeback")
        marketplace_pacer.PACER.restore(
            (client.seller_key,), {"getOrder": [0.0, time.time()]}
        )
        calls = self.picking.writeback_call_ids
        self.verify()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(self.picking.writeback_read_failures, 0)
        self.assertFalse(self.picking.writeback_error)
        self.assertFalse(self.requests_of("amazon.getOrder"))
        self.assertFalse(
            (self.picking.writeback_call_ids - calls).filtered(
                lambda c: c.outcome != "success"
            ),
            "the client's own pause is not journaled as an error",
        )
        self.assertGreater(self.picking.writeback_next_attempt, fields.Datetime.now())

    def test_outcome_of_a_held_row_is_stored_and_applied_next_run(self):
        """A row another transaction held while the worker applied its
        outcome: the stored outcome is applied by the next run."""
        self.ship(self.picking, "1Z0001")
        self.push_killed(after_send=False)
        engine = self.env["ecommerce.writeback.engine"]
        decision = policy.Decision(State.SUBMITTED, retry_in=60)
        engine.env["ecommerce.writeback.outcome"]._store(
            self.picking,
            decision,
            State.SENDING,
            self.picking._writeback_claim_key(),
            "amazon_writeback",
            None,
        )
        # The next run applies it (here the verify cron's, past the lease):
        # no read-back is spent on reconciling the send.
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertFalse(self.picking.writeback_outcome_ids)
        self.assertFalse(self.requests_of("amazon.getOrder"))

    def test_stale_outcome_never_applies_to_a_later_claim(self):
        """An outcome stored for an earlier claim is dropped once a user
        retried and the shipment was claimed again."""
        self.ship(self.picking, "1Z0001")
        self.push_killed(after_send=False)
        old_claim = self.picking._writeback_claim_key()
        self.env["ecommerce.writeback.outcome"]._store(
            self.picking,
            policy.Decision(State.FAILED, "old news"),
            State.SENDING,
            (old_claim[0] - 1, old_claim[1]),
            None,
            None,
        )
        self.push()
        self.assertEqual(self.picking.writeback_state, "sending")
        self.assertNotEqual(self.picking.writeback_error, "old news")

    def test_a_claim_without_a_send_gets_its_attempt_back_after_failed_reads(self):
        """A worker killed before its request went out; the reconciliation's
        first read of the order fails (its getOrder is journaled against the
        delivery): a read is not a send, so once the order is read and does
        not hold the shipment, the claim's attempt is given back and the
        shipment is sent, as its first attempt."""
        self.ship(self.picking, "1Z0001")
        self.push_killed(after_send=False)
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.amazon_error("amazon.getOrder", 503, "InternalFailure", "down")
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "sending")
        self.assertTrue(
            self.picking.writeback_call_ids.filtered(
                lambda call: call.operation == "getOrder"
            )
        )
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 0)
        self.assertIn("no attempt was used", self.picking.writeback_error)
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)

    def test_429_without_retry_after_waits_longer_and_skips_the_account(self):
        """A 429 without Retry-After: the shipment waits rate_limit_delay,
        longer on each repeat, and the account's other shipments are not
        tried again in the same run."""
        other = self.make_order(
            self.amazon, OTHER, [(self.product_a, 1, "12111111111112")]
        )
        self.amazon_error(
            "amazon.confirmShipment", 429, "QuotaExceeded", "Slow down", times=None
        )
        self.ship(self.picking, "1Z0001")
        self.ship(other.picking_ids, "1Z0002")
        self.push()
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        both = self.picking | other.picking_ids
        throttled = both.filtered("writeback_throttle_count")
        untouched = both - throttled
        self.assertEqual(len(throttled), 1)
        self.assertEqual(throttled.writeback_attempt_count, 0)
        self.assertEqual(untouched.writeback_attempt_count, 0, "account skipped")
        self.assertAlmostEqual(self._wait(throttled), 60, delta=5)
        # Next run, another 429 without Retry-After: twice as long.
        untouched.with_context(writeback_engine=True).write(
            {
                "writeback_next_attempt": fields.Datetime.now()
                + datetime.timedelta(hours=1)
            }
        )
        self.make_due(throttled)
        self.push()
        self.assertAlmostEqual(self._wait(throttled), 120, delta=5)

    def _wait(self, picking):
        return (picking.writeback_next_attempt - fields.Datetime.now()).total_seconds()

    def test_lease_covers_every_request_of_the_send(self):
        """Trading sends one CompleteSale per line: the lease is sized for
        all of them (and a token exchange) with the account's timeout."""
        product_c = self.env["product.product"].create(
            {"name": "Widget C", "type": "consu", "is_storable": True}
        )
        self.env["stock.quant"]._update_available_quantity(
            product_c, self.stock_location, 10
        )
        products = (self.product_a, self.product_b, product_c)
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": f"1000000000007{n}",
                    "item_id": f"11000000007{n}",
                    "transaction_id": "0",
                    "quantity": 2,
                }
                for n in range(3)
            ],
        )
        self.ebay.timeout = 120
        order = self.make_order(
            self.ebay,
            EBAY_ORDER,
            [(product, 2, f"11000000007{n}-0") for n, product in enumerate(products)],
        )
        # One of each: the order is not complete, so one call per line.
        picking = self.ship(
            order.picking_ids, "9400100000000071", dict.fromkeys(products, 1)
        )
        self.push_killed(after_send=False)
        self.assertEqual(picking.writeback_state, "sending")
        lease = (
            picking.writeback_lease_until - picking.writeback_last_attempt
        ).total_seconds()
        self.assertGreaterEqual(lease, 2 * (3 + 1) * 120)

    def test_blocked_shipments_are_all_rechecked_paging_by_id(self):
        pickings = self.env["stock.picking"]
        for n in range(3):
            ref = f"114-0000010-000001{n}"
            self.sandbox.add_amazon_order(
                ref,
                marketplace_id=AMAZON_MARKETPLACE,
                items=[{"order_item_id": f"1311111111111{n}", "quantity": 1}],
            )
            order = self.make_order(
                self.amazon, ref, [(self.product_a, 1, f"1311111111111{n}")]
            )
            pickings |= self.ship(order.picking_ids, "")
        self.assertFalse(any(pickings.mapped("writeback_next_attempt")))
        # Fixed without going through the hooks (as an import would).
        for picking in pickings:
            picking.with_context(writeback_engine=True).write(
                {"carrier_tracking_ref": f"1ZB{picking.id}"}
            )
        engine = self.env["ecommerce.writeback.engine"]
        engine._recheck_blocked(limit=2)
        self.assertEqual(len(pickings.filtered("writeback_next_attempt")), 2)
        self.assertTrue(
            self.env["ir.config_parameter"].sudo().get_param(BLOCKED_CURSOR_PARAM)
        )
        engine._recheck_blocked(limit=2)
        self.assertEqual(len(pickings.filtered("writeback_next_attempt")), 3)

    def test_states_users_see_and_a_transition_the_table_refuses(self):
        """The states a user sees, in lifecycle order; an outcome that would
        take a delivery where the transition table does not go (a pending
        delivery, never sent, straight to *Success*) is refused and logged,
        and the delivery stays as it was."""
        self.assertEqual(
            self.env["stock.picking"]._fields["writeback_state"].selection,
            [
                ("pending", "Pending"),
                ("sending", "Sending"),
                ("submitted", "Submitted"),
                ("success", "Success"),
                ("failed", "Failed"),
                ("manual", "Manually confirmed"),
                ("disagrees", "Differs on marketplace"),
                ("cancelled", "Cancelled on marketplace"),
            ],
        )
        self.ship(self.picking, "")  # no tracking number: pending, blocked
        self.assertEqual(self.picking.writeback_state, "pending")
        self.env["ecommerce.writeback.outcome"]._store(
            self.picking,
            policy.Decision(State.SUCCESS),
            State.PENDING,
            self.picking._writeback_claim_key(),
            None,
            None,
        )
        with self.assertLogs(
            "odoo.addons.stock_ecommerce_writeback.models.writeback_apply", "ERROR"
        ) as logged:
            self.push()
        self.assertIn("refusing pending -> success", logged.output[0])
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertFalse(self.picking.writeback_done_date)
        self.assertFalse(self.picking.writeback_outcome_ids, "not tried again")
        self.assertEqual(self.sandbox.requests(), [])


@tagged("post_install", "-at_install")
class TestHostileConfiguration(WritebackCase):
    def test_endpoint_urls_are_read_as_the_http_library_reads_them(self):
        for url in (
            "http://192.0.2.2:9\\@127.0.0.1/",
            "https://user:pass@api.ebay.com/",
            "https://api.ebay.com /",
            "https://api.ebay.com\t/",
        ):
            with self.subTest(url=url), self.assertRaises(ValidationError):
                self.amazon.api_base_url = url

    def test_plain_http_only_for_sandbox_accounts(self):
        self.amazon.api_base_url = "http://127.0.0.1:8765"
        with self.assertRaises(ValidationError):
            self.amazon.environment = "production"
