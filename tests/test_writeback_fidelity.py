# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""*Success* means the marketplace holds exactly what shipped: each test
drives the real flow (validate, crons, sandbox over HTTP) and asserts what
the sandbox ends up holding."""

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..marketplaces import ebay_oauth
from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

AMAZON_ORDER = "903-1106328-1059051"
EBAY_ORDER = "23-45678-90123"
GERMANY = "A1PA6795UKMFR9"


@tagged("post_install", "-at_install")
class TestWritebackFidelity(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product_c = cls.env["product.product"].create(
            {
                "name": "Widget C",
                "type": "consu",
                "is_storable": True,
                "default_code": "WC",
            }
        )
        cls.env["stock.quant"]._update_available_quantity(
            cls.product_c, cls.stock_location, 100
        )

    # ------------------------------------------------------------------
    # Items outside packages
    # ------------------------------------------------------------------
    def _amazon_three_lines(self):
        self.sandbox.add_amazon_order(
            AMAZON_ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[
                {"order_item_id": "51111111111111", "quantity": 1, "sku": "WA"},
                {"order_item_id": "51111111111112", "quantity": 1, "sku": "WB"},
                {"order_item_id": "51111111111113", "quantity": 1, "sku": "WC"},
            ],
        )
        return self.make_order(
            self.amazon,
            AMAZON_ORDER,
            [
                (self.product_a, 1, "51111111111111"),
                (self.product_b, 1, "51111111111112"),
                (self.product_c, 1, "51111111111113"),
            ],
        )

    def _pack(self, picking, product, name):
        line = picking.move_line_ids.filtered(lambda ml: ml.product_id == product)
        line.result_package_id = self.env["stock.package"].create({"name": name})
        return line.result_package_id

    def test_item_left_outside_the_packages_holds_the_delivery(self):
        """Two tracking numbers, two packages, a third item in none: nothing
        is sent and the user is told what to pack; once packed, everything
        is sent and Amazon holds all three items."""
        order = self._amazon_three_lines()
        picking = order.picking_ids
        picking.carrier_id = self.carrier
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        self._pack(picking, self.product_a, "PACK-1")
        pack_2 = self._pack(picking, self.product_b, "PACK-2")
        picking.carrier_tracking_ref = "TRACK0001, TRACK0002"
        picking.button_validate()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertIn("are in no package", picking.writeback_error)
        self.assertIn("Widget C", picking.writeback_error)
        self.assertFalse(picking.writeback_next_attempt)
        self.push()
        self.assertFalse(self.requests_of("amazon.confirmShipment"))
        self.assertEqual(picking.writeback_attempt_count, 0)

        # The warehouse puts the lamp in the second parcel.
        picking.action_toggle_is_locked()
        picking.move_line_ids.filtered(
            lambda ml: ml.product_id == self.product_c
        ).result_package_id = pack_2
        self.assertTrue(picking.writeback_next_attempt, "requeued by the fix")
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        held = self.sandbox.amazon_order(AMAZON_ORDER)
        self.assertEqual(
            {
                (p["tracking_number"], item["order_item_id"], item["quantity"])
                for p in held["packages"]
                for item in p["items"]
            },
            {
                ("TRACK0001", "51111111111111", 1),
                ("TRACK0002", "51111111111112", 1),
                ("TRACK0002", "51111111111113", 1),
            },
        )

    # ------------------------------------------------------------------
    # eBay line identity
    # ------------------------------------------------------------------
    def _ebay_order(self, lines):
        self.sandbox.add_ebay_order(EBAY_ORDER, line_items=lines)
        return self.sandbox.ebay_order(EBAY_ORDER)

    def test_trading_line_id_looked_up_from_a_rest_id(self):
        """An order imported with REST lineItemIds, written back by a Trading
        account: the OrderLineItemID is looked up on eBay's order (by SKU),
        stored, logged, and the tracking lands on that line."""
        held = self._ebay_order(
            [
                {
                    "line_item_id": "10000000000011",
                    "item_id": "110000000011",
                    "transaction_id": "0",
                    "sku": "WA",
                },
                {
                    "line_item_id": "10000000000012",
                    "item_id": "110000000012",
                    "transaction_id": "0",
                    "sku": "WB",
                },
            ]
        )
        order = self.make_order(
            self.ebay,
            EBAY_ORDER,
            [
                (self.product_a, 1, "10000000000011"),
                (self.product_b, 1, "10000000000012"),
            ],
        )
        line_a = order.order_line.filtered(
            lambda line: line.product_id == self.product_a
        )
        self.assertEqual(line_a.ebay_line_item_id, "10000000000011")
        self.assertFalse(line_a.ebay_order_line_item_id)
        picking = self.ship(order.picking_ids, "9400100000000011", {self.product_a: 1})
        self.assertFalse(picking.writeback_error)
        self.push()
        self.assertEqual(line_a.ebay_order_line_item_id, "110000000011-0")
        self.assertEqual(line_a.ebay_line_item_id, "10000000000011", "kept")
        self.assertIn("110000000011-0", self.chatter(picking))
        self.assertEqual(picking.writeback_state, "submitted")
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        held = self.sandbox.ebay_order(EBAY_ORDER)
        [fulfillment] = held["fulfillments"]
        self.assertEqual(fulfillment["tracking_number"], "9400100000000011")
        self.assertEqual(
            [i["line_item_id"] for i in fulfillment["line_items"]], ["10000000000011"]
        )

    def test_rest_line_id_looked_up_from_a_trading_id(self):
        """The other way round: a Sell Fulfillment account, lines known by
        their Trading ids: getOrder's legacyItemId gives the lineItemId."""
        self.ebay.ebay_api = "fulfillment"
        self._ebay_order(
            [
                {
                    "line_item_id": "10000000000021",
                    "item_id": "110000000021",
                    "transaction_id": "0",
                    "sku": "WA",
                },
            ]
        )
        order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_a, 1, "110000000021-0")]
        )
        picking = self.ship(order.picking_ids, "9400100000000021")
        self.push()
        self.assertEqual(order.order_line.ebay_line_item_id, "10000000000021")
        self.assertEqual(picking.writeback_state, "submitted")
        [post] = self.requests_of("ebay.createShippingFulfillment")
        self.assertEqual(
            post["json"]["lineItems"], [{"lineItemId": "10000000000021", "quantity": 1}]
        )

    def test_ambiguous_line_waits_with_a_message(self):
        """Two eBay lines could be this one: nothing is guessed; the
        delivery waits with a clear message, and goes once the id is
        entered by hand."""
        self._ebay_order(
            [
                {
                    "line_item_id": "10000000000031",
                    "item_id": "110000000031",
                    "transaction_id": "0",
                    "sku": "WA",
                },
                {
                    "line_item_id": "10000000000032",
                    "item_id": "110000000032",
                    "transaction_id": "0",
                    "sku": "WA",
                },
            ]
        )
        order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_a, 2, "10000000000031")]
        )
        order.order_line.ebay_line_item_id = False
        picking = self.ship(order.picking_ids, "9400100000000031")
        self.push()
        self.assertFalse(self.requests_of("ebay.CompleteSale"))
        self.assertEqual(picking.writeback_state, "pending")
        self.assertIn("Several lines of eBay order", picking.writeback_error)
        self.assertFalse(picking.writeback_next_attempt)
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.push()
        self.assertEqual(
            len(self.requests_of("ebay.GetOrders")), 1, "not looked up again"
        )

        order.order_line.ebay_order_line_item_id = "110000000031-0"
        self.assertTrue(picking.writeback_next_attempt)
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")

    # ------------------------------------------------------------------
    # eBay REST duplicate guard
    # ------------------------------------------------------------------
    def test_rest_backorder_under_the_same_tracking_is_not_a_success(self):
        """A backorder shipped under the tracking number of the first parcel:
        eBay refuses a second fulfillment with that number (34500), so the
        delivery fails with a message instead of being skipped and called
        a success."""
        self.ebay.ebay_api = "fulfillment"
        self._ebay_order(
            [
                {
                    "line_item_id": "10000000000041",
                    "item_id": "110000000041",
                    "transaction_id": "0",
                    "quantity": 1,
                },
                {
                    "line_item_id": "10000000000042",
                    "item_id": "110000000042",
                    "transaction_id": "0",
                    "quantity": 1,
                },
            ]
        )
        order = self.make_order(
            self.ebay,
            EBAY_ORDER,
            [
                (self.product_a, 1, "10000000000041"),
                (self.product_b, 1, "10000000000042"),
            ],
        )
        first = self.ship(order.picking_ids, "9400100000000041", {self.product_a: 1})
        backorder = order.picking_ids - first
        self.push()
        self.make_due(first)
        self.verify()
        self.assertEqual(first.writeback_state, "success")
        self.ship(backorder, "9400100000000041")
        self.push()
        self.make_due(backorder)
        self.verify()
        self.assertEqual(backorder.writeback_state, "failed")
        self.assertIn("9400100000000041", backorder.writeback_error)
        held = self.sandbox.ebay_order(EBAY_ORDER)
        self.assertEqual(len(held["fulfillments"]), 1)

    # ------------------------------------------------------------------
    # Amazon region
    # ------------------------------------------------------------------
    def test_amazon_region_follows_the_marketplace(self):
        """An amazon.de account is a Europe account and never calls the
        North America endpoint."""
        germany = self.amazon.copy(
            {
                "name": "Amazon DE (sandbox)",
                "amazon_marketplace_id": GERMANY,
                "lwa_client_id": "amzn1.application-oa2-client.test",
                "lwa_client_secret": "amazon-secret-value",
                "lwa_refresh_token": "Atzr|amazon-refresh-token",
                "api_base_url": self.sandbox.amazon_url("eu"),
            }
        )
        self.assertEqual(germany.amazon_region, "eu")
        production = germany.copy(
            {"environment": "production", "api_base_url": False, "auth_url": False}
        )
        client = production._marketplace_client(on_call=None)
        self.assertEqual(client.api_base_url, "https://sellingpartnerapi-eu.amazon.com")
        self.sandbox.add_amazon_order(
            AMAZON_ORDER,
            marketplace_id=GERMANY,
            items=[{"order_item_id": "61111111111111", "quantity": 1}],
        )
        order = self.make_order(
            germany, AMAZON_ORDER, [(self.product_a, 1, "61111111111111")]
        )
        picking = self.ship(order.picking_ids, "1ZDE0001")
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        self.assertEqual(
            {r["amazon_region"] for r in self.requests_of("amazon.confirmShipment")},
            {"eu"},
        )
        with self.assertRaises(ValidationError):
            germany.amazon_marketplace_id = "A1NOTAMARKET"

    # ------------------------------------------------------------------
    # eBay scopes
    # ------------------------------------------------------------------
    def test_trading_only_consent_keeps_working(self):
        """A seller who consented to the base scope only: the Trading account
        asks for nothing more and writes back."""
        self.sandbox.set_ebay_consent(
            "v^1.1#ebay-refresh-token", [ebay_oauth.API_SCOPE]
        )
        self._ebay_order(
            [
                {
                    "line_item_id": "10000000000051",
                    "item_id": "110000000051",
                    "transaction_id": "0",
                }
            ]
        )
        order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_a, 1, "110000000051-0")]
        )
        picking = self.ship(order.picking_ids, "9400100000000051")
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertFalse(self.ebay.auth_error)

        # The same consent cannot drive the Sell Fulfillment API: the
        # account says exactly that.
        self.ebay.ebay_api = "fulfillment"
        picking.action_writeback_retry()
        self.push()
        self.assertEqual(picking.writeback_state, "pending")
        self.assertIn("invalid_scope", self.ebay.auth_error)
        self.assertIn("sell.fulfillment", self.ebay.auth_error)
        self.assertIn("consent", self.ebay.auth_error)

    # ------------------------------------------------------------------
    # Bad input, requeueing, late references
    # ------------------------------------------------------------------
    def _amazon_one_line(self):
        self.sandbox.add_amazon_order(
            AMAZON_ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "71111111111111", "quantity": 1}],
        )
        return self.make_order(
            self.amazon, AMAZON_ORDER, [(self.product_a, 1, "71111111111111")]
        )

    def test_control_character_is_caught_before_anything_is_sent(self):
        order = self._amazon_one_line()
        picking = self.ship(order.picking_ids, "1Z00\u200b01")
        self.push()
        self.assertFalse(self.requests_of("amazon.confirmShipment"))
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertIn("Tracking number", picking.writeback_error)
        self.assertIn("U+200B", picking.writeback_error)
        self.assertIn("position 5", picking.writeback_error)
        picking.carrier_tracking_ref = "1Z0001"
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")

    def test_same_values_written_again_change_nothing(self):
        """Importers and mass edits write the same tracking number and
        carrier again: a Success stays a Success with its attempts; only a
        real change requeues, and the chatter says what changed."""
        order = self._amazon_one_line()
        picking = self.ship(order.picking_ids, "1Z0001")
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        picking.write({"carrier_tracking_ref": "1Z0001", "carrier_id": self.carrier.id})
        picking.write({"carrier_tracking_ref": "1z0001"})  # same number
        self.assertEqual(picking.writeback_state, "success")
        self.assertEqual(picking.writeback_attempt_count, 1)
        picking.carrier_tracking_ref = "1Z0002"
        self.assertEqual(picking.writeback_state, "pending")
        self.assertIn("1Z0001", self.chatter(picking))
        self.assertIn("1Z0002", self.chatter(picking))
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        packages = self.sandbox.amazon_order(AMAZON_ORDER)["packages"]
        self.assertEqual([p["tracking_number"] for p in packages], ["1Z0002"])

    def test_delivery_done_before_the_order_got_its_reference(self):
        """A delivery validated before its order was marked as a marketplace
        order is queued as soon as the account and number are set."""
        self.sandbox.add_amazon_order(
            AMAZON_ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "81111111111111", "quantity": 1}],
        )
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "order_line": [
                    Command.create(
                        {"product_id": self.product_a.id, "product_uom_qty": 1}
                    )
                ],
            }
        )
        order.action_confirm()
        picking = self.ship(order.picking_ids, "1Z0081")
        self.assertFalse(picking.writeback_state)
        order.write(
            {
                "ecommerce_account_id": self.amazon.id,
                "ecommerce_order_ref": AMAZON_ORDER,
            }
        )
        order.order_line.ecommerce_item_ref = "81111111111111"
        self.assertEqual(picking.writeback_state, "pending")
        self.push()
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")

    def test_a_tracking_reference_too_long_is_refused_before_it_is_stored(self):
        """A pasted page instead of a tracking number: a clear message, the
        delivery keeps its number, nothing is sent; 600 characters (several
        numbers) are fine."""
        order = self.make_order(
            self.amazon, "114-7770001-0000001", [(self.product_a, 1, "77700000000001")]
        )
        picking = self.ship(order.picking_ids, "1Z0001")
        with self.assertRaises(ValidationError) as refused:
            picking.carrier_tracking_ref = "1Z999AA10123456784 " * 200
        self.assertIn("at most 600", str(refused.exception))
        picking.invalidate_recordset()  # what the database holds
        self.assertEqual(picking.carrier_tracking_ref, "1Z0001")
        picking.carrier_tracking_ref = ",".join(["1Z999AA10123456784"] * 31)[:600]
        self.assertFalse(self.requests_of("amazon.confirmShipment"))

    def test_a_negative_quantity_is_blocked_before_anything_is_sent(self):
        """A quantity below zero (written past the ORM by an import or a
        script) never reaches Amazon: the delivery waits with a message that
        names the line and the quantity, and no attempt is used."""
        order = self._amazon_one_line()
        picking = self.ship(order.picking_ids, "1Z0091")
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE stock_move_line SET quantity = -2 WHERE id = ANY(%s)",
            [picking.move_line_ids.ids],
        )
        picking.move_line_ids.invalidate_recordset(["quantity"])
        self.push()
        self.assertFalse(self.requests_of("amazon.confirmShipment"))
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertIn("-2 x 71111111111111", picking.writeback_error)
        self.assertIn("Nothing was sent", picking.writeback_error)
