# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Needs-attention queue, guidance and buttons that follow the error,
bulk actions, the grid's Custom Group and the marketplace view (issue 10)."""

from odoo import fields
from odoo.exceptions import UserError

from ..marketplaces.policy import State
from .common import WritebackCase
from .status_common import BAD, CANCELLED, OK, TO_FIX, StatusScreenMixin


class TestNeedsAttention(StatusScreenMixin, WritebackCase):
    def setUp(self):
        super().setUp()
        self._status_screen_data()

    def _attention(self):
        return self.env["stock.picking"].search(
            [("writeback_needs_attention", "=", True)]
        )

    def test_needs_attention_is_failed_and_pending_with_a_message(self):
        self.assertEqual(self._attention(), self.bad | self.cancelled | self.to_fix)
        self.assertEqual(
            self.env["stock.picking"].search(
                [
                    ("writeback_needs_attention", "=", False),
                    ("id", "in", (self.ok | self.bad | self.to_fix).ids),
                ]
            ),
            self.ok,
        )
        self.assertEqual(self.bad.writeback_issue, "failed")
        self.assertEqual(self.cancelled.writeback_issue, "cancelled")
        self.assertEqual(self.to_fix.writeback_issue, "fix")
        self.assertFalse(self.ok.writeback_issue)
        self.assertIn("No tracking number", self.to_fix.writeback_error)
        # the grid opens on it
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "stock_ecommerce_writeback.action_writeback_grid"
        )
        self.assertIn("'search_default_filter_needs_attention': 1", action["context"])

    def test_credentials_problem_needs_attention_and_links_the_account(self):
        self.amazon._writeback_flag_auth("invalid_grant: token revoked")
        self.ok.with_context(writeback_engine=True).write(
            {
                "writeback_state": State.PENDING.value,
                "writeback_error": "invalid_grant: token revoked",
                "writeback_next_attempt": fields.Datetime.now(),
            }
        )
        self.assertEqual(self.ok.writeback_issue, "credentials")
        self.assertIn(self.ok, self._attention())
        action = self.ok.action_writeback_open_account()
        self.assertEqual(
            (action["res_model"], action["res_id"]),
            ("ecommerce.account", self.amazon.id),
        )

    def test_cancelled_order_is_handled_not_retried(self):
        self.assertRegex(
            self.cancelled.writeback_error, "cancelled on the marketplace after"
        )
        with self.assertRaisesRegex(UserError, "cancelled on the marketplace"):
            self.cancelled.action_writeback_retry()
        with self.assertRaisesRegex(UserError, "no unconfirmed write-back"):
            self.cancelled.action_writeback_mark_manual()
        self.assertTrue(self.cancelled.activity_ids)
        self.cancelled.action_writeback_mark_handled()
        # a state of its own, not "Manually confirmed"; the old error goes
        self.assertEqual(self.cancelled.writeback_state, State.CANCELLED)
        self.assertFalse(self.cancelled.writeback_error)
        self.assertFalse(self.cancelled.activity_ids)
        self.assertIn("Marked as handled", self.chatter(self.cancelled))
        self.assertNotIn(self.cancelled, self._attention())
        with self.assertRaisesRegex(UserError, "cancelled orders"):
            self.bad.action_writeback_mark_handled()

    def test_bulk_retry_says_what_was_done_and_refused(self):
        rows = self.ok | self.bad | self.cancelled
        rows.invalidate_recordset()
        self.ok.with_context(writeback_engine=True).write(
            {"writeback_state": State.SUCCESS.value}
        )
        action = rows.action_writeback_retry()
        params = action["params"]
        self.assertEqual(action["tag"], "stock_ecommerce_writeback.bulk_result")
        self.assertEqual(params["next"]["tag"], "soft_reload")
        self.assertEqual(params["type"], "warning")
        # Issue 19, point 7: a short list, a count per reason, deliveries by
        # delivery and order; the title says what was done.
        self.assertEqual(params["title"], "Retry now: 1 of 3 done")
        html = str(params["html"])
        self.assertEqual(html.count("<li"), 3)
        self.assertIn(
            f'<b>1 queued to send again</b><br/><span class="small">'
            f"{self.bad.name} (order {BAD})</span>",
            html,
        )
        self.assertIn("<b>1 refused: only pending, submitted or failed", html)
        self.assertIn("(this one is Success).</b>", html)
        self.assertIn(f"{self.ok.name} (order {OK})", html)
        self.assertIn("<b>1 refused: the order is cancelled", html)
        self.assertIn(f"{self.cancelled.name} (order {CANCELLED})", html)
        self.assertEqual(self.bad.writeback_state, State.PENDING)
        self.assertEqual(self.cancelled.writeback_state, State.DISAGREES)
        self.assertEqual(self.ok.writeback_state, State.SUCCESS)

    def test_bulk_retry_refuses_what_only_a_correction_can_send(self):
        """Issue 19, point 4: a delivery without a tracking number is not
        'queued to send again' by Retry now (nothing would be sent): the
        result says to correct the delivery, and it stays as it was."""
        rows = self.bad | self.to_fix
        action = rows.action_writeback_retry()
        params = action["params"]
        self.assertEqual(params["title"], "Retry now: 1 of 2 done")
        html = str(params["html"])
        self.assertIn(
            "<b>1 refused: nothing can be sent until the delivery is corrected "
            "(No tracking number",
            html,
        )
        self.assertIn(f"{self.to_fix.name} (order {TO_FIX})", html)
        self.assertNotIn("retry requested", self.chatter(self.to_fix))
        self.assertEqual(self.to_fix.writeback_state, State.PENDING)
        self.assertIn("No tracking number", self.to_fix.writeback_error)
        with self.assertRaisesRegex(UserError, "^Nothing can be sent until"):
            self.to_fix.action_writeback_retry()

    def test_bulk_retry_of_nothing_retryable_says_why(self):
        with self.assertRaisesRegex(UserError, "the order is cancelled"):
            (self.cancelled | self.cancelled.copy()).action_writeback_retry()

    def test_bulk_mark_manual(self):
        action = (
            self.bad | self.to_fix | self.cancelled
        ).action_writeback_mark_manual()
        params = action["params"]
        self.assertEqual(params["title"], "Mark as manually confirmed: 2 of 3 done")
        html = str(params["html"])
        self.assertIn("<b>2 marked as manually confirmed</b>", html)
        self.assertIn("<b>1 refused: the order is cancelled", html)
        self.assertIn(f"{self.cancelled.name} (order {CANCELLED})", html)
        self.assertEqual(self.bad.writeback_state, State.MANUAL)
        self.assertEqual(self.bad.writeback_manual_reason, "confirmed")
        self.assertEqual(self.to_fix.writeback_state, State.MANUAL)
        self.assertEqual(self.cancelled.writeback_state, State.DISAGREES)

    def test_retry_of_a_failed_delivery_keeps_one_activity(self):
        self.assertEqual(len(self.bad.activity_ids), 1)
        for _attempt in range(2):
            self.amazon_error(
                "amazon.confirmShipment",
                400,
                "InvalidInput",
                "Invalid tracking number.",
                order_ref=BAD,
            )
            self.bad.action_writeback_retry()
            self.push()
            self.assertEqual(self.bad.writeback_state, State.FAILED)
        self.assertEqual(len(self.bad.activity_ids), 1)

    def test_custom_group_offers_understandable_fields_only(self):
        described = (
            self.env["stock.picking"]
            .with_context(writeback_grid=True)
            .fields_get(attributes=["groupable"])
        )
        self.assertFalse(described["writeback_lease_until"]["groupable"])
        self.assertFalse(described["writeback_throttle_count"]["groupable"])
        self.assertTrue(described["ecommerce_account_id"]["groupable"])
        self.assertTrue(described["writeback_state"]["groupable"])
        plain = self.env["stock.picking"].fields_get(attributes=["groupable"])
        self.assertTrue(plain["writeback_lease_until"]["groupable"])

    def test_marketplace_view_reads_like_the_screen(self):
        self.assertIn("Nothing read back", self.to_fix.ecommerce_readback_html)
        self.to_fix.with_context(writeback_engine=True).write(
            {
                "ecommerce_readback": {
                    "order_ref": TO_FIX,
                    "status_label": "Shipped",
                    "shipped_time": "2026-02-11T01:30:00Z",
                    "packages": [
                        {
                            "tracking_number": "1Z7100004",
                            "carrier": "UPS",
                            "ship_time": "2026-02-11T01:30:00Z",
                            "items": [["71000000000004", 1]],
                        }
                    ],
                    "lines": [],
                }
            }
        )
        html = str(
            self.to_fix.with_context(tz="America/New_York").ecommerce_readback_html
        )
        self.assertNotIn("2026-02-11T01:30:00Z", html)
        self.assertIn("02/10/2026 08:30 PM", html)  # en_US, as the screen
        self.assertIn("Widget A", html)

    def test_bulk_mark_handled_for_cancelled_orders(self):
        """Mark as handled on a selection from the grid: the cancelled
        order's write-back is closed (Cancelled on marketplace), the other
        is refused with its reason, named by delivery and order."""
        view = self.env.ref("stock_ecommerce_writeback.view_writeback_list")
        arch = self.env["stock.picking"].get_views([(view.id, "list")])["views"][
            "list"
        ]["arch"]
        self.assertIn('name="action_writeback_mark_handled"', arch)
        action = (self.bad | self.cancelled).action_writeback_mark_handled()
        params = action["params"]
        self.assertEqual(params["title"], "Mark as handled: 1 of 2 done")
        html = str(params["html"])
        self.assertIn("<b>1 closed as handled</b>", html)
        self.assertIn(f"{self.cancelled.name} (order {CANCELLED})", html)
        self.assertIn("1 refused: only write-backs of cancelled orders", html)
        self.assertIn(f"(order {BAD})", html)
        self.assertEqual(self.cancelled.writeback_state, State.CANCELLED)
        self.assertEqual(self.bad.writeback_state, State.FAILED)
