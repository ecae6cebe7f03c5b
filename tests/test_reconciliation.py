# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reconciliation against the sandbox over real HTTP: each kind of issue
appears with what the marketplace holds, its action works, a second run
does not duplicate it, and one account's failure does not stop another's."""

import datetime
import time
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..marketplaces import amazon as amazon_client
from .common import WritebackCase, load_migration
from .fixtures import AMAZON_MARKETPLACE

AMAZON_ORDER = "902-3300001-1000001"
EBAY_ORDER = "23-10001-00001"
# Amazon searches orders updated up to two minutes before the request: the
# runs here happen ten minutes later, for the sandbox and the client alike.
LATER = datetime.timedelta(minutes=10)


@tagged("post_install", "-at_install")
class TestReconciliation(WritebackCase):
    def setUp(self):
        super().setUp()
        self.Issue = self.env["ecommerce.reconciliation.issue"]
        self.sandbox.add_amazon_order(
            AMAZON_ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "79000000000001", "quantity": 1}],
        )
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "110000000001-0",
                    "quantity": 1,
                    "item_id": "110000000001",
                    "transaction_id": "0",
                }
            ],
        )

    # ------------------------------------------------------------------
    def reconcile(self, fresh=True):
        """Run the reconciliation cron as the scheduler does, ten minutes
        from now; ``fresh``: every account reads its first window again (a
        second run re-reads the same orders)."""
        if fresh:
            (self.amazon | self.ebay).write(
                {"reconcile_cursor": False, "reconcile_window_since": False}
            )
        real = amazon_client.utcnow
        self.sandbox.clock.freeze(time.time() + LATER.total_seconds())
        try:
            with patch.object(amazon_client, "utcnow", lambda: real() + LATER):
                self.run_cron("ir_cron_reconcile")
        finally:
            self.sandbox.clock.thaw()

    def issues(self, kind, **domain):
        return self.Issue.search(
            [("kind", "=", kind)] + [(k, "=", v) for k, v in domain.items()]
        )

    def amazon_order(self):
        return self.make_order(
            self.amazon, AMAZON_ORDER, [(self.product_a, 1, "79000000000001")]
        )

    def ebay_order(self):
        return self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_a, 1, "110000000001-0")]
        )

    def written_back(self, order, tracking):
        picking = order.picking_ids
        self.ship(picking, tracking)
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        return picking

    # ------------------------------------------------------------------
    def test_shipped_outside_odoo(self):
        order = self.amazon_order()
        picking = order.picking_ids
        self.sandbox.ship_outside(AMAZON_ORDER, "1ZOUTSIDE0001", "UPS")

        self.reconcile()

        [issue] = self.issues("shipped_outside")
        self.assertEqual(issue.state, "open")
        self.assertEqual(issue.picking_id, picking)
        self.assertEqual(issue.account_id, self.amazon)
        self.assertEqual(issue.order_ref, AMAZON_ORDER)
        self.assertEqual(issue.marketplace_status, "Shipped")
        self.assertEqual(issue.marketplace_carrier, "UPS")
        self.assertEqual(issue.marketplace_tracking, "1ZOUTSIDE0001")
        self.assertEqual(self.amazon.reconcile_open_count, 1)
        self.assertTrue(self.amazon.reconcile_cursor)
        self.assertFalse(self.amazon.reconcile_error)
        searches = self.requests_of("amazon.searchOrders")
        self.assertTrue(searches)
        self.assertIn("lastUpdatedBefore", searches[0]["query"])
        self.assertEqual(self.requests_of("amazon.getOrder"), [])  # batch reads only
        action = issue.action_open_picking()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("stock.picking", picking.id)
        )
        card = self.amazon.action_open_reconciliation()
        self.assertEqual(self.Issue.search(card["domain"]), issue)

        self.reconcile()  # the same order read again
        self.assertEqual(self.issues("shipped_outside"), issue)
        self.assertEqual(issue.state, "open")

        # validated in Odoo: the disagreement is gone
        self.ship(picking, "1ZOUTSIDE0001")
        self.reconcile()
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(self.issues("shipped_outside"), issue)

    def test_changed_since_success_tracking_replaced(self):
        picking = self.written_back(self.ebay_order(), "1Z999AA10000000001")
        self.sandbox.edit_tracking(EBAY_ORDER, "1Z999AA10000000001", "1ZNEW0000002")

        self.reconcile()

        [issue] = self.issues("changed_since_success")
        self.assertEqual(issue.picking_id, picking)
        self.assertEqual(issue.account_id, self.ebay)
        self.assertEqual(issue.marketplace_tracking, "1ZNEW0000002")
        self.assertEqual(issue.odoo_tracking, "1Z999AA10000000001")
        self.assertIn("1Z999AA10000000001", issue.summary)
        self.assertIn("replaced", issue.summary)
        self.assertTrue(self.requests_of("ebay.GetOrders"))
        self.assertIn("<ModTimeFrom>", self.requests_of("ebay.GetOrders")[-1]["xml"])
        grid = self.env["stock.picking"].search(
            [("reconciliation_issue_ids.state", "=", "open")]
        )
        self.assertEqual(grid, picking, "the grid's Reconciliation filter")

        self.reconcile()
        self.assertEqual(self.issues("changed_since_success"), issue)

        issue.action_requeue()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(picking.writeback_attempt_count, 0)

    def test_changed_since_success_cancelled_is_handled_once(self):
        picking = self.written_back(self.amazon_order(), "1Z999AA10000000003")
        self.sandbox.cancel_order(AMAZON_ORDER)

        self.reconcile()

        [issue] = self.issues("changed_since_success")
        self.assertEqual(issue.picking_id, picking)
        self.assertTrue(issue.marketplace_cancelled)
        self.assertIn("cancelled", issue.summary)
        self.assertIn("Canceled", issue.marketplace_status)
        with self.assertRaises(UserError):
            issue.action_requeue()  # nothing to send to a cancelled order
        issue.action_mark_handled()
        self.assertEqual(issue.state, "handled")
        self.assertEqual(issue.handled_by_id, self.env.user)

        self.reconcile()  # the same facts: not listed again
        self.assertEqual(self.issues("changed_since_success"), issue)
        self.assertEqual(self.amazon.reconcile_open_count, 0)

    def test_never_written_back(self):
        order = self.amazon_order()
        picking = order.picking_ids
        order.ecommerce_account_id = False  # the reference, not the account
        self.ship(picking, "1Z999AA10000000004")
        self.assertFalse(picking.writeback_state)
        picking.date_done = fields.Datetime.now() - datetime.timedelta(hours=30)
        params = self.env["ir.config_parameter"].sudo()

        params.set_param("stock_ecommerce_writeback.reconcile_unsent_hours", 48)
        self.reconcile()
        self.assertFalse(self.issues("never_written_back"))

        params.set_param("stock_ecommerce_writeback.reconcile_unsent_hours", 24)
        self.reconcile()
        [issue] = self.issues("never_written_back")
        self.assertEqual(issue.picking_id, picking)
        self.assertEqual(issue.sale_order_id, order)
        self.assertEqual(issue.order_ref, AMAZON_ORDER)
        self.assertIn("no marketplace account", issue.summary)

        self.reconcile()
        self.assertEqual(self.issues("never_written_back"), issue)

        action = issue.action_open_sale_order()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("sale.order", order.id)
        )
        order.ecommerce_account_id = self.amazon  # linked: queued at once
        self.assertEqual(picking.writeback_state, "pending")
        self.reconcile()
        self.assertEqual(issue.state, "resolved")

    def test_failing_account_does_not_stop_the_others(self):
        self.ebay_order()
        self.sandbox.ship_outside(EBAY_ORDER, "1ZEBAYOUT0001", "UPS")
        self.sandbox.revoke_refresh_token(self.amazon.sudo().lwa_refresh_token)

        self.reconcile()

        self.assertTrue(self.amazon.reconcile_error)
        self.assertFalse(self.amazon.reconcile_cursor)
        self.assertFalse(self.ebay.reconcile_error)
        self.assertTrue(self.ebay.reconcile_cursor)
        [issue] = self.issues("shipped_outside")
        self.assertEqual(issue.account_id, self.ebay)
        self.assertEqual(issue.marketplace_tracking, "1ZEBAYOUT0001")

    def test_reconcile_now_only_wakes_the_cron(self):
        cron = self.env.ref("stock_ecommerce_writeback.ir_cron_reconcile")
        self.Issue.action_reconcile_now()
        self.assertTrue(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        )
        self.assertEqual(self.sandbox.requests(), [])

    def test_shipped_with_no_sales_order(self):
        """Amazon shows an order shipped that no sales order carries: listed
        with what Amazon holds; an order not shipped is not; Find sales
        order lists the sales orders naming it; linked, it is resolved."""
        self.sandbox.ship_outside(AMAZON_ORDER, "1ZNOORDER0001", "UPS")

        self.reconcile()

        [issue] = self.issues("shipped_no_order")
        self.assertEqual(issue.state, "open")
        self.assertEqual(issue.account_id, self.amazon)
        self.assertEqual(issue.company_id, self.amazon.company_id)
        self.assertEqual(issue.order_ref, AMAZON_ORDER)
        self.assertFalse(issue.picking_id)
        self.assertFalse(issue.sale_order_id)
        self.assertEqual(issue.marketplace_tracking, "1ZNOORDER0001")
        self.assertEqual(issue.marketplace_carrier, "UPS")
        self.assertIn("no sales order", issue.summary)
        self.assertEqual(self.amazon.reconcile_open_count, 1)
        self.assertFalse(
            self.Issue.search([("order_ref", "=", EBAY_ORDER)]), "not shipped"
        )

        self.reconcile()  # the same order read again
        self.assertEqual(self.issues("shipped_no_order"), issue)

        # a sales order typed by hand names it only in its customer reference
        typed = self.env["sale.order"].create(
            {"partner_id": self.customer.id, "client_order_ref": AMAZON_ORDER}
        )
        action = issue.action_find_sale_order()
        self.assertEqual(action["res_model"], "sale.order")
        self.assertEqual(self.env["sale.order"].search(action["domain"]), typed)
        typed.write(
            {
                "ecommerce_account_id": self.amazon.id,
                "ecommerce_order_ref": AMAZON_ORDER,
            }
        )
        self.reconcile()
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(self.issues("shipped_no_order"), issue)

    def test_shipped_with_no_sales_order_handled_once(self):
        self.sandbox.ship_outside(EBAY_ORDER, "1ZNOORDER0002", "UPS")
        self.reconcile()
        [issue] = self.issues("shipped_no_order")
        self.assertEqual(issue.account_id, self.ebay)
        issue.action_mark_handled()
        self.assertEqual(issue.state, "handled")

        self.reconcile()  # the same facts: not listed again
        self.assertEqual(self.issues("shipped_no_order"), issue)
        self.assertEqual(self.ebay.reconcile_open_count, 0)

        # another package later: listed again
        self.sandbox.edit_tracking(EBAY_ORDER, "1ZNOORDER0002", "1ZNOORDER0003")
        self.reconcile()
        reopened = self.issues("shipped_no_order", state="open")
        self.assertEqual(reopened.marketplace_tracking, "1ZNOORDER0003")

    def test_refunded_on_ebay_trading_after_success(self):
        """The seller refunds the buyer after Success: Trading's GetOrders
        shows it (MonetaryDetails/Refunds); the issue says so, Send again
        is refused (eBay still holds the tracking), Mark as handled closes
        it."""
        self.assertEqual(self.ebay.ebay_api, "trading")
        picking = self.written_back(self.ebay_order(), "1Z999AA10000000005")
        self.sandbox.refund_ebay_order(EBAY_ORDER)

        self.reconcile()

        [issue] = self.issues("changed_since_success")
        self.assertEqual(issue.picking_id, picking)
        self.assertIn("refunded", issue.summary)
        self.assertIn("(refunded)", issue.marketplace_status)
        self.assertTrue(issue.marketplace_refunded)
        self.assertFalse(issue.tracking_gone)
        self.assertIn("MonetaryDetails", self._last_get_orders_answer())
        with self.assertRaises(UserError):
            issue.action_requeue()
        self.assertEqual(picking.writeback_state, "success")
        issue.action_mark_handled()
        self.assertEqual(issue.state, "handled")
        self.reconcile()
        self.assertEqual(self.issues("changed_since_success"), issue)

    def test_refunded_on_ebay_rest_after_success(self):
        self.ebay.ebay_api = "fulfillment"
        rest_order = "23-10001-00006"
        self.sandbox.add_ebay_order(
            rest_order,
            line_items=[
                {
                    "line_item_id": "10000000000006",
                    "quantity": 1,
                    "item_id": "110000000006",
                    "transaction_id": "0",
                }
            ],
        )
        picking = self.written_back(
            self.make_order(
                self.ebay, rest_order, [(self.product_a, 1, "10000000000006")]
            ),
            "1Z999AA10000000006",
        )
        self.sandbox.refund_ebay_order(rest_order)
        self.reconcile()
        [issue] = self.issues("changed_since_success")
        self.assertEqual(issue.picking_id, picking)
        self.assertTrue(issue.marketplace_refunded)
        self.assertIn("refunded", issue.summary)

    def _last_get_orders_answer(self):
        client = self.ebay._marketplace_client(on_call=None)
        from ..marketplaces import ebay_trading

        root = client._trading(
            ebay_trading.GET_ORDERS,
            ebay_trading.get_orders_request(order_ids=[EBAY_ORDER]),
            EBAY_ORDER,
            ebay_trading._accepted,
        )
        return ebay_trading.etree.tostring(root).decode()

    def test_upgrade_keeps_send_again_for_issues_found_before(self):
        """A database as 19.0.1.5.0 left it: an open *Changed since Success*
        issue (a tracking number removed on eBay) found before issues knew
        whether a number was gone. The reconciliation reads only orders
        changed since its last run, so it would never tell; the upgrade
        keeps *Send again* for it, not for a cancelled order's."""
        migration = load_migration("19.0.1.6.0")
        picking = self.written_back(self.ebay_order(), "1Z999AA10000000016")
        self.sandbox.edit_tracking(EBAY_ORDER, "1Z999AA10000000016")
        self.reconcile()
        [issue] = self.issues("changed_since_success")
        issue.write({"tracking_gone": False, "marketplace_cancelled": True})
        self.env.flush_all()
        migration.migrate(self.env.cr, "19.0.1.5.0")
        self.env.invalidate_all()
        self.assertFalse(issue.tracking_gone, "a cancelled order: nothing to send")

        issue.write({"marketplace_cancelled": False})
        self.env.flush_all()
        with self.assertRaises(UserError), self.cr.savepoint():
            issue.action_requeue()
        migration.migrate(self.env.cr, "19.0.1.5.0")
        self.env.invalidate_all()
        self.assertTrue(issue.tracking_gone)
        issue.action_requeue()
        self.assertEqual(picking.writeback_state, "pending")
