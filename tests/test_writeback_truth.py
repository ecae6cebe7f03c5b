# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The marketplace's own view of the order decides: orders confirmed by
hand first, shipped elsewhere or cancelled after shipping are recognised
from what the sandbox holds, never concluded from our bookkeeping."""

import datetime

from odoo.tests import tagged

from ..marketplaces import base
from .common import WritebackCase, load_migration
from .fixtures import AMAZON_MARKETPLACE

AMAZON_ORDER = "905-1106328-1059051"
ITEM = "61111111111111"
EBAY_ORDER = "24-45678-90123"


@tagged("post_install", "-at_install")
class TestMarketplaceTruth(WritebackCase):
    def _amazon_order(self):
        self.sandbox.add_amazon_order(
            AMAZON_ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": ITEM, "quantity": 1}],
        )
        return self.make_order(self.amazon, AMAZON_ORDER, [(self.product_a, 1, ITEM)])

    def _confirm_in_seller_central(self, tracking, carrier="UPS"):
        """Someone confirms the order in Seller Central (a package of its
        own), before Odoo writes it back."""
        client = self.amazon._marketplace_client(on_call=None)
        client.confirm_shipment(
            base.Shipment(
                order_ref=AMAZON_ORDER,
                carrier_code=carrier,
                carrier_name=carrier,
                shipping_method="Ground",
                ship_date=datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                packages=(base.Package("9", tracking, (base.ShipmentItem(ITEM, 1),)),),
            )
        )

    def test_confirmed_by_hand_first_with_the_same_tracking_is_a_success(self):
        """The help page's manual path, then Odoo's write-back: Amazon
        refuses ours (PackageToUpdateNotFound), the order is read, it holds
        exactly what shipped: Success at the first attempt, the chatter says
        it was confirmed outside Odoo, nothing is sent again."""
        order = self._amazon_order()
        self._confirm_in_seller_central("1Z0000000000000001")
        picking = self.ship(order.picking_ids, "1Z0000000000000001")
        self.push()
        self.assertEqual(picking.writeback_state, "success")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertFalse(picking.writeback_error)
        self.assertFalse(picking.activity_ids)
        self.assertIn("confirmed outside Odoo", self.chatter(picking))
        [ours] = [
            r
            for r in self.requests_of("amazon.confirmShipment")
            if r["json"]["packageDetail"]["packageReferenceId"] != "9"
        ]
        self.assertEqual(ours["status"], 400)
        held = self.sandbox.amazon_order(AMAZON_ORDER)["packages"]
        self.assertEqual([p["tracking_number"] for p in held], ["1Z0000000000000001"])
        self.make_due(picking)
        self.verify()
        self.push()
        self.assertEqual(picking.writeback_state, "success")
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 2)

    def test_shipped_elsewhere_names_what_amazon_holds(self):
        """Amazon shows the order shipped under another number: the delivery
        differs (Needs attention) with the carrier and number Amazon holds,
        no attempt beyond the first; Keep the marketplace's closes it."""
        order = self._amazon_order()
        self._confirm_in_seller_central("JJD0099999999", carrier="DHL")
        picking = self.ship(order.picking_ids, "1Z0000000000000002")
        self.push()
        self.assertEqual(picking.writeback_state, "disagrees")
        self.assertEqual(picking.writeback_issue, "other_tracking")
        self.assertTrue(picking.writeback_needs_attention)
        self.assertIn("DHL JJD0099999999", picking.writeback_error)
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertTrue(picking.activity_ids)
        self.assertFalse(picking.writeback_adds_packages, "Amazon adds none")
        self.make_due(picking)
        self.push()
        self.verify()
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 2)

        picking.action_writeback_keep_marketplace()
        self.assertEqual(picking.writeback_state, "manual")
        self.assertEqual(picking.writeback_manual_reason, "kept")
        self.assertFalse(picking.writeback_needs_attention)
        self.assertIn("JJD0099999999", self.chatter(picking))

    def test_refused_order_cancelled_on_amazon_is_never_failed_nor_success(self):
        order = self._amazon_order()
        with self.sandbox._lock:
            self.sandbox.state.amazon_orders[AMAZON_ORDER].status = "CANCELLED"
        picking = self.ship(order.picking_ids, "1Z0000000000000003")
        self.push()
        self.assertEqual(picking.writeback_state, "disagrees")
        self.assertEqual(picking.writeback_issue, "cancelled")
        self.assertIn("intercept the parcel", picking.writeback_error)

    # ------------------------------------------------------------------
    # Cancelled on eBay after the parcel left
    # ------------------------------------------------------------------
    def _ebay_cancelled_after_sending(self, api):
        self.ebay.ebay_api = api
        line = "10000000000077" if api == "fulfillment" else "110000000077-0"
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "10000000000077",
                    "quantity": 1,
                    "item_id": "110000000077",
                    "transaction_id": "0",
                }
            ],
            checkout_status="Complete",
        )
        order = self.make_order(self.ebay, EBAY_ORDER, [(self.product_a, 1, line)])
        picking = self.ship(order.picking_ids, "9400111899223100000077")
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        # The buyer cancels; eBay accepts it after the tracking was added.
        with self.sandbox._lock:
            self.sandbox.state.ebay_orders[EBAY_ORDER].cancel_state = "CANCELED"
        self.make_due(picking)
        self.verify()
        return picking

    def _assert_cancelled_then_handled(self, picking):
        held = self.sandbox.ebay_order(EBAY_ORDER)
        self.assertEqual(held["cancel_state"], "CANCELED")
        self.assertIn("9400111899223100000077", str(held))
        self.assertEqual(picking.writeback_state, "disagrees", "never Success")
        self.assertEqual(picking.writeback_issue, "cancelled")
        self.assertIn(
            "cancelled on the marketplace after it was shipped",
            (picking.writeback_error),
        )
        self.assertTrue(picking.writeback_needs_attention)
        picking.action_writeback_mark_handled()
        self.assertEqual(picking.writeback_state, "cancelled")
        self.assertFalse(picking.writeback_error, "the old error goes")
        self.assertFalse(picking.writeback_needs_attention)
        self.assertFalse(picking.activity_ids)

    def test_ebay_trading_order_cancelled_after_shipping(self):
        self._assert_cancelled_then_handled(
            self._ebay_cancelled_after_sending("trading")
        )

    def test_ebay_fulfillment_order_cancelled_after_shipping(self):
        self._assert_cancelled_then_handled(
            self._ebay_cancelled_after_sending("fulfillment")
        )

    def test_ebay_holding_fewer_units_than_shipped_is_not_a_success(self):
        """eBay holds 1 unit of 3 under our tracking number: the delivery
        stays Submitted (not verified), never Success."""
        self.ebay.ebay_api = "fulfillment"
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "10000000000088",
                    "quantity": 3,
                    "item_id": "110000000088",
                    "transaction_id": "0",
                }
            ],
        )
        order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_a, 3, "10000000000088")]
        )
        picking = self.ship(order.picking_ids, "9400111899223100000088")
        self.push()
        with self.sandbox._lock:
            held = self.sandbox.state.ebay_orders[EBAY_ORDER]
            (fulfillment,) = held.fulfillments.values()
            fulfillment.line_items = [("10000000000088", 1)]
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "submitted")
        [package] = picking.ecommerce_readback["packages"]
        self.assertEqual(package["items"], [["10000000000088", 1]])

    def _trading_part_shipped(self):
        """An eBay Trading order of 3 units on one line; this delivery
        ships 2 of them (the third is backordered)."""
        self.ebay.ebay_api = "trading"
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "10000000000099",
                    "quantity": 3,
                    "item_id": "110000000099",
                    "transaction_id": "0",
                }
            ],
        )
        order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_a, 3, "110000000099-0")]
        )
        picking = self.ship(
            order.picking_ids, "9400111899223100000099", {self.product_a: 2}
        )
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        [sale] = self.requests_of("ebay.CompleteSale")
        self.assertIn("<Quantity>2</Quantity>", sale["xml"])
        return picking

    def _held_units(self):
        held = self.sandbox.ebay_order(EBAY_ORDER)
        return [
            (f["tracking_number"], [i["quantity"] for i in f["line_items"]])
            for f in held["fulfillments"]
        ]

    def test_trading_part_shipped_line_is_a_success_holding_what_shipped(self):
        """2 of 3 units shipped: CompleteSale says the package holds 2,
        eBay holds exactly 2 under our tracking number: Success."""
        picking = self._trading_part_shipped()
        self.assertEqual(self._held_units(), [("9400111899223100000099", [2])])
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        [package] = picking.ecommerce_readback["packages"]
        self.assertEqual(package["items"], [["110000000099-0", 2]])

    def test_trading_holding_another_quantity_is_not_a_success(self):
        """eBay holds 1 unit under our tracking number where 2 shipped: the
        delivery stays Submitted, never Success."""
        picking = self._trading_part_shipped()
        with self.sandbox._lock:
            (package,) = self.sandbox.state.ebay_orders[
                EBAY_ORDER
            ].fulfillments.values()
            package.line_items = [("10000000000099", 1)]
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "submitted")
        [package] = picking.ecommerce_readback["packages"]
        self.assertEqual(package["items"], [["110000000099-0", 1]])

    def test_upgrade_moves_cancelled_orders_to_their_states(self):
        """A database as 19.0.1.4.0 left it: a failed write-back of an order
        the marketplace showed cancelled, and one handled as *Manually
        confirmed (cancelled)*; the upgrade gives them their own states."""
        migration = load_migration("19.0.1.5.0")
        order = self._amazon_order()
        failed = self.ship(order.picking_ids, "1Z0000000000000005")
        handled = failed.copy()
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE stock_picking SET writeback_state = 'failed',"
            " ecommerce_readback = '{\"cancelled\": true}'::jsonb WHERE id = %s",
            [failed.id],
        )
        self.env.cr.execute(
            "UPDATE stock_picking SET writeback_state = 'manual',"
            " writeback_manual_reason = 'cancelled', writeback_error = 'old'"
            " WHERE id = %s",
            [handled.id],
        )
        migration.migrate(self.env.cr, "19.0.1.4.0")
        self.env.invalidate_all()
        self.assertEqual(failed.writeback_state, "disagrees")
        self.assertEqual(failed.writeback_issue, "cancelled")
        self.assertEqual(handled.writeback_state, "cancelled")
        self.assertFalse(handled.writeback_error)

    def test_a_recorded_send_whose_answer_was_lost_is_not_sent_again(self):
        """Amazon records the confirmation but the connection is cut before
        its answer (a timeout does the same): the retry reads the order
        first, finds it there and ends Success without a second
        confirmation; one attempt counted."""
        order = self._amazon_order()
        picking = self.ship(order.picking_ids, "1Z0000000000000006")
        self.sandbox.inject_fault("amazon.confirmShipment", answer_lost=True)
        self.push()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertTrue(picking.writeback_sent_unanswered)
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.make_due(picking)
        self.push()
        self.assertEqual(picking.writeback_state, "success")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertFalse(picking.writeback_sent_unanswered)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        held = self.sandbox.amazon_order(AMAZON_ORDER)["packages"]
        self.assertEqual([p["tracking_number"] for p in held], ["1Z0000000000000006"])
