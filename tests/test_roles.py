# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The marketplace's-truth and reconciliation actions run as the people
who have them (README, Access rights): a plain Inventory user (write-back
*User*), an accountant (*Manual Confirmation and Export*) and a write-back
*Administrator*. Whoever has the button gets the result a user sees;
whoever does not is refused by the server, not only by the view."""

import datetime

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..marketplaces.policy import State
from . import test_reconciliation as reconciliation_tests
from .common import WritebackCase, writeback_users
from .fixtures import AMAZON_MARKETPLACE

AMAZON_ORDER = "905-1106328-1059077"
AMAZON_OTHER = "905-1106328-1059078"
ITEM = "61111111111177"
ITEM_OTHER = "61111111111178"
EBAY_ORDER = "24-45678-90177"
EBAY_LINE = "110000000177-0"
AMAZON_REC = "902-3300001-1000101"
EBAY_REC = "23-10001-00101"

PICKING_ACTIONS = (
    "action_writeback_keep_marketplace",
    "action_writeback_send_ours_too",
    "action_writeback_mark_handled",
)


@tagged("post_install", "-at_install")
class TestRoles(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse, cls.accountant, cls.wb_admin = writeback_users(
            cls.env, "wb_role"
        )

    # ------------------------------------------------------------------
    def _amazon_order(self, ref=AMAZON_ORDER, item=ITEM, status="UNSHIPPED"):
        self.sandbox.add_amazon_order(
            ref,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": item, "quantity": 1}],
            status=status,
        )
        return self.make_order(self.amazon, ref, [(self.product_a, 1, item)])

    def _shipped_elsewhere_on_amazon(self):
        """Amazon holds the order under DHL JJD0099999999 (confirmed in
        Seller Central first); ours is refused: Differs on marketplace."""
        order = self._amazon_order()
        self.sandbox.ship_outside(AMAZON_ORDER, "JJD0099999999", "DHL")
        picking = self.ship(order.picking_ids, "1Z0000000000000177")
        self.push()
        self.assertEqual(picking.writeback_issue, "other_tracking")
        return picking

    def _cancelled_on_amazon(self, ref=AMAZON_ORDER, item=ITEM):
        order = self._amazon_order(ref, item, status="CANCELLED")
        picking = self.ship(order.picking_ids, f"1Z{item}")
        self.push()
        self.assertEqual(picking.writeback_issue, "cancelled")
        return picking

    def _buttons(self, user, model, view_type, xmlid=None):
        view = self.env.ref(xmlid).id if xmlid else False
        arch = (
            self.env[model]
            .with_user(user)
            .get_views([(view, view_type)])["views"][view_type]["arch"]
        )
        return arch

    # ------------------------------------------------------------------
    # Differs on marketplace: Keep the marketplace's / Send ours too
    # ------------------------------------------------------------------
    def test_inventory_user_cannot_keep_or_add_to_a_differing_order(self):
        picking = self._shipped_elsewhere_on_amazon()
        form = self._buttons(self.warehouse, "stock.picking", "form")
        mine = picking.with_user(self.warehouse)
        self.assertEqual(mine.writeback_issue, "other_tracking", "they see it")
        for action in PICKING_ACTIONS:
            self.assertNotIn(f'name="{action}"', form)
            with self.assertRaises(UserError), self.cr.savepoint():
                getattr(mine, action)()
        self.assertEqual(picking.writeback_state, State.DISAGREES)
        # ours, refused, and nothing since (the other was in Seller Central)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)

    def test_accountant_keeps_what_amazon_holds(self):
        picking = self._shipped_elsewhere_on_amazon()
        form = self._buttons(self.accountant, "stock.picking", "form")
        self.assertIn('name="action_writeback_keep_marketplace"', form)
        mine = picking.with_user(self.accountant)
        with self.assertRaises(UserError), self.cr.savepoint():
            mine.action_writeback_send_ours_too()  # Amazon adds no package
        mine.action_writeback_keep_marketplace()
        self.assertEqual(mine.writeback_state, State.MANUAL)
        self.assertEqual(mine.writeback_manual_reason, "kept")
        self.assertFalse(mine.writeback_needs_attention)
        self.assertFalse(mine.activity_ids)
        last = mine.message_ids[0]
        self.assertEqual(last.author_id, self.accountant.partner_id)
        self.assertIn("DHL JJD0099999999", last.body)
        self.assertIn(self.accountant.name, last.body)
        # nothing more goes to Amazon: ours, refused, is the only request
        self.make_due(picking)
        self.push()
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)

    def _trading_shipped_elsewhere(self):
        """An eBay Trading delivery that eBay shows shipped under another
        number (Differs on marketplace, as a refusal read back leaves it)."""
        self.ebay.ebay_api = "trading"
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "10000000000177",
                    "quantity": 1,
                    "item_id": "110000000177",
                    "transaction_id": "0",
                }
            ],
        )
        self.sandbox.ship_outside(EBAY_ORDER, "1ZELSEWHERE0177", "UPS")
        order = self.make_order(self.ebay, EBAY_ORDER, [(self.product_a, 1, EBAY_LINE)])
        picking = order.picking_ids
        self.ship(picking, "9400111899223100000177")
        picking.with_context(writeback_engine=True).write(
            {
                "writeback_state": State.DISAGREES.value,
                "writeback_error": "The marketplace shows this order already "
                "shipped under UPS 1ZELSEWHERE0177.",
                "writeback_next_attempt": False,
                "writeback_attempt_count": 1,
                "ecommerce_readback": {
                    "order_ref": EBAY_ORDER,
                    "packages": [
                        {"carrier": "UPS", "tracking_number": "1ZELSEWHERE0177"}
                    ],
                },
            }
        )
        self.assertEqual(picking.writeback_issue, "other_tracking")
        return picking

    def test_administrator_sends_ours_too_on_ebay_trading(self):
        picking = self._trading_shipped_elsewhere()
        with self.assertRaises(UserError), self.cr.savepoint():
            picking.with_user(self.warehouse).action_writeback_send_ours_too()
        self.assertEqual(picking.writeback_state, State.DISAGREES)
        form = self._buttons(self.wb_admin, "stock.picking", "form")
        self.assertIn('name="action_writeback_send_ours_too"', form)
        mine = picking.with_user(self.wb_admin)
        self.assertTrue(mine.writeback_adds_packages)
        mine.action_writeback_send_ours_too()
        self.assertEqual(mine.writeback_state, State.PENDING)
        self.assertIn(self.wb_admin.name, mine.message_ids[0].body)
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, State.SUCCESS)
        held = str(self.sandbox.ebay_order(EBAY_ORDER))
        self.assertIn("1ZELSEWHERE0177", held)
        self.assertIn("9400111899223100000177", held)

    # ------------------------------------------------------------------
    # Cancelled on the marketplace: Mark as handled, alone and in bulk
    # ------------------------------------------------------------------
    def test_inventory_user_cannot_mark_a_cancelled_order_handled(self):
        picking = self._cancelled_on_amazon()
        grid = self._buttons(
            self.warehouse,
            "stock.picking",
            "list",
            "stock_ecommerce_writeback.view_writeback_list",
        )
        self.assertNotIn('name="action_writeback_mark_handled"', grid)
        with self.assertRaises(UserError):
            picking.with_user(self.warehouse).action_writeback_mark_handled()
        self.assertEqual(picking.writeback_state, State.DISAGREES)

    def test_accountant_marks_cancelled_orders_handled_from_the_grid(self):
        cancelled = self._cancelled_on_amazon()
        other = self._cancelled_on_amazon(AMAZON_OTHER, ITEM_OTHER)
        submitted_order = self._amazon_order("905-1106328-1059079", "61111111111179")
        submitted = self.ship(submitted_order.picking_ids, "1Z61111111111179")
        self.push()
        self.assertEqual(submitted.writeback_state, State.SUBMITTED)
        grid = self._buttons(
            self.accountant,
            "stock.picking",
            "list",
            "stock_ecommerce_writeback.view_writeback_list",
        )
        self.assertIn('name="action_writeback_mark_handled"', grid)
        mine = (cancelled | other | submitted).with_user(self.accountant)
        params = mine.action_writeback_mark_handled()["params"]
        self.assertEqual(params["title"], "Mark as handled: 2 of 3 done")
        self.assertIn("<b>2 closed as handled</b>", str(params["html"]))
        self.assertEqual(cancelled.writeback_state, State.CANCELLED)
        self.assertEqual(other.writeback_state, State.CANCELLED)
        self.assertEqual(submitted.writeback_state, State.SUBMITTED)
        self.assertEqual(cancelled.writeback_manual_user_id, self.accountant)
        self.assertIn(self.accountant.name, cancelled.message_ids[0].body)

    def test_administrator_marks_a_cancelled_order_handled(self):
        picking = self._cancelled_on_amazon()
        picking.with_user(self.wb_admin).action_writeback_mark_handled()
        self.assertEqual(picking.writeback_state, State.CANCELLED)
        self.assertFalse(picking.writeback_needs_attention)


@tagged("post_install", "-at_install")
class TestReconciliationRoles(WritebackCase):
    """The reconciliation's actions as the people who use them."""

    reconcile = reconciliation_tests.TestReconciliation.reconcile
    written_back = reconciliation_tests.TestReconciliation.written_back

    def setUp(self):
        super().setUp()
        self.sandbox.add_amazon_order(
            AMAZON_REC,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "79000000000101", "quantity": 1}],
        )
        self.sandbox.add_ebay_order(
            EBAY_REC,
            line_items=[
                {
                    "line_item_id": "110000000101-0",
                    "quantity": 1,
                    "item_id": "110000000101",
                    "transaction_id": "0",
                }
            ],
        )

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse, cls.accountant, cls.wb_admin = writeback_users(cls.env, "wb_rec")
        cls.outsider = new_test_user(
            cls.env, "wb_rec_outsider", groups="base.group_user"
        )

    def _issue(self, kind, user):
        return (
            self.env["ecommerce.reconciliation.issue"]
            .with_user(user)
            .search([("kind", "=", kind)])
        )

    def test_inventory_user_sends_again_but_does_not_mark_handled(self):
        order = self.make_order(
            self.ebay, EBAY_REC, [(self.product_a, 1, "110000000101-0")]
        )
        picking = self.written_back(order, "1Z999AA10000000101")
        self.sandbox.edit_tracking(EBAY_REC, "1Z999AA10000000101")
        self.reconcile()

        issue = self._issue("changed_since_success", self.warehouse)
        self.assertEqual(issue.picking_id, picking)
        self.assertIn("removed", issue.summary)
        arch = self._buttons(self.warehouse, "list")
        self.assertIn('name="action_requeue"', arch)
        self.assertNotIn('name="action_mark_handled"', arch)
        with self.assertRaises(UserError), self.cr.savepoint():
            issue.action_mark_handled()
        with self.assertRaises(AccessError), self.cr.savepoint():
            issue.write({"state": "handled"})
        self.assertEqual(issue.state, "open")

        issue.action_requeue()
        self.assertEqual(issue.state, "resolved")
        self.assertEqual(picking.writeback_state, State.PENDING)
        self.assertIn(self.warehouse.name, picking.message_ids[0].body)
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, State.SUCCESS)
        self.assertIn("1Z999AA10000000101", str(self.sandbox.ebay_order(EBAY_REC)))

    def test_inventory_user_opens_the_delivery_and_reconciles_now(self):
        order = self.make_order(
            self.amazon, AMAZON_REC, [(self.product_a, 1, "79000000000101")]
        )
        self.sandbox.ship_outside(AMAZON_REC, "1ZOUTSIDE0101", "UPS")
        self.reconcile()
        issue = self._issue("shipped_outside", self.warehouse)
        self.assertEqual(issue.marketplace_tracking, "1ZOUTSIDE0101")
        action = issue.action_open_picking()
        picking = (
            self.env["stock.picking"].with_user(self.warehouse).browse(action["res_id"])
        )
        self.assertEqual(picking, order.picking_ids)
        self.assertEqual(picking.name, order.picking_ids.name)
        self.assertEqual(
            self.env["ecommerce.account"]
            .with_user(self.warehouse)
            .browse(self.amazon.id)
            .reconcile_open_count,
            1,
        )
        self.env["ecommerce.reconciliation.issue"].with_user(
            self.warehouse
        ).action_reconcile_now()
        cron = self.env.ref("stock_ecommerce_writeback.ir_cron_reconcile")
        self.assertTrue(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        )
        # someone outside the write-back groups sees no issue at all
        with self.assertRaises(AccessError):
            issue.with_user(self.outsider).read(["summary"])

    def test_inventory_user_links_a_never_written_back_order(self):
        order = self.make_order(
            self.amazon, AMAZON_REC, [(self.product_a, 1, "79000000000101")]
        )
        picking = order.picking_ids
        order.ecommerce_account_id = False  # the reference, not the account
        self.ship(picking, "1Z999AA10000000104")
        picking.date_done = fields.Datetime.now() - datetime.timedelta(hours=30)
        self.reconcile()
        issue = self._issue("never_written_back", self.warehouse)
        self.assertIn("no marketplace account", issue.summary)
        action = issue.action_open_sale_order()
        mine = self.env["sale.order"].with_user(self.warehouse).browse(action["res_id"])
        self.assertEqual(mine.ecommerce_order_ref, AMAZON_REC)
        mine.ecommerce_account_id = self.amazon  # linked: queued at once
        self.assertEqual(picking.writeback_state, State.PENDING)
        self.reconcile()
        self.assertEqual(issue.state, "resolved")
        self.push()
        self.assertEqual(picking.writeback_state, State.SUBMITTED)

    def test_inventory_user_finds_the_sales_order_of_a_shipped_order(self):
        """Shipped, no sales order: a warehouse user finds the typed-in
        sales order and links it; only an accountant may close it by hand."""
        self.sandbox.ship_outside(EBAY_REC, "1ZNOORDER0101", "UPS")
        typed = self.env["sale.order"].create(
            {"partner_id": self.customer.id, "client_order_ref": EBAY_REC}
        )
        self.reconcile()
        issue = self._issue("shipped_no_order", self.warehouse)
        self.assertEqual(issue.marketplace_tracking, "1ZNOORDER0101")
        self.assertIn(
            'name="action_find_sale_order"', self._buttons(self.warehouse, "list")
        )
        with self.assertRaises(UserError), self.cr.savepoint():
            issue.action_mark_handled()
        action = issue.action_find_sale_order()
        found = (
            self.env["sale.order"].with_user(self.warehouse).search(action["domain"])
        )
        self.assertEqual(found, typed)
        found.write(
            {"ecommerce_account_id": self.ebay.id, "ecommerce_order_ref": EBAY_REC}
        )
        self.reconcile()
        self.assertEqual(issue.state, "resolved")

    def test_accountant_marks_an_issue_handled(self):
        self.make_order(
            self.amazon, AMAZON_REC, [(self.product_a, 1, "79000000000101")]
        )
        self.sandbox.ship_outside(AMAZON_REC, "1ZOUTSIDE0102", "UPS")
        self.reconcile()
        issue = self._issue("shipped_outside", self.accountant)
        self.assertIn(
            'name="action_mark_handled"', self._buttons(self.accountant, "list")
        )
        issue.action_mark_handled()
        self.assertEqual(issue.state, "handled")
        self.assertEqual(issue.handled_by_id, self.accountant)
        self.assertEqual(self.amazon.reconcile_open_count, 0)
        self.reconcile()  # the same facts: not listed again
        self.assertEqual(self._issue("shipped_outside", self.accountant), issue)
        self.assertEqual(issue.state, "handled")

    def test_administrator_marks_a_cancelled_order_handled(self):
        order = self.make_order(
            self.amazon, AMAZON_REC, [(self.product_a, 1, "79000000000101")]
        )
        picking = self.written_back(order, "1Z999AA10000000103")
        self.sandbox.cancel_order(AMAZON_REC)
        self.reconcile()
        issue = self._issue("changed_since_success", self.wb_admin)
        self.assertEqual(issue.picking_id, picking)
        with self.assertRaises(UserError), self.cr.savepoint():
            issue.action_requeue()  # nothing to send to a cancelled order
        issue.action_mark_handled()
        self.assertEqual(issue.state, "handled")
        self.assertEqual(issue.handled_by_id, self.wb_admin)

    def _buttons(self, user, view_type):
        return (
            self.env["ecommerce.reconciliation.issue"]
            .with_user(user)
            .get_views([(False, view_type)])["views"][view_type]["arch"]
        )
