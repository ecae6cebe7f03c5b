# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from . import fixtures
from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

ORDER = "902-1106328-1059050"


@tagged("post_install", "-at_install")
class TestAmazonWriteback(WritebackCase):
    def setUp(self):
        super().setUp()
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[
                {
                    "order_item_id": "79039765272157",
                    "quantity": 2,
                    "asin": "B0A",
                    "sku": "WA",
                },
                {
                    "order_item_id": "79039765272158",
                    "quantity": 1,
                    "asin": "B0B",
                    "sku": "WB",
                },
            ],
        )
        self.order = self.make_order(
            self.amazon,
            ORDER,
            [
                (self.product_a, 2, "79039765272157"),
                (self.product_b, 1, "79039765272158"),
            ],
        )
        self.picking = self.order.picking_ids

    def test_validation_only_queues(self):
        """Validating a delivery calls no marketplace; the push cron does."""
        self.ship(self.picking, "1Z999AA10123456784")
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.ecommerce_order_ref, ORDER)
        self.assertFalse(self.picking.writeback_error)
        self.assertEqual(self.sandbox.requests(), [])
        push_cron = self.env.ref("stock_ecommerce_writeback.ir_cron_writeback_push")
        self.assertTrue(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", push_cron.id)]),
            "validating must wake the push cron at once",
        )

    def test_backorder_ships_in_two_packages_and_verifies(self):
        """A partial delivery confirms the shipped quantities under its own
        package; the backorder later ships the rest under another."""
        self.ship(
            self.picking, "1Z999AA10123456784", {self.product_a: 1, self.product_b: 1}
        )
        backorder = self.order.picking_ids - self.picking
        self.assertEqual(len(backorder), 1)
        self.assertFalse(
            backorder.writeback_state, "a backorder not shipped yet is not queued"
        )

        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(len(self.requests_of("amazon.token")), 1)
        [confirm] = self.requests_of("amazon.confirmShipment")
        self.assertEqual(
            confirm["path"], f"/orders/v0/orders/{ORDER}/shipmentConfirmation"
        )
        self.assertEqual(confirm["status"], 204)
        detail = confirm["json"]["packageDetail"]
        self.assertEqual(confirm["json"]["marketplaceId"], AMAZON_MARKETPLACE)
        self.assertEqual(detail["packageReferenceId"], str(self.picking.id * 100 + 1))
        self.assertEqual(detail["carrierCode"], "UPS")
        self.assertEqual(detail["shippingMethod"], "UPS Ground")
        self.assertEqual(detail["trackingNumber"], "1Z999AA10123456784")
        self.assertEqual(
            detail["shipDate"],
            self.picking.date_done.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )
        self.assertEqual(
            sorted((i["orderItemId"], i["quantity"]) for i in detail["orderItems"]),
            [("79039765272157", 1), ("79039765272158", 1)],
        )
        self.assertEqual(
            self.picking.writeback_call_ids.mapped("operation"),
            ["confirmShipment", "token"],
            "the picking shows its own journal rows, newest first",
        )

        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        [read] = self.requests_of("amazon.getOrder")
        self.assertEqual(read["path"], f"/orders/2026-01-01/orders/{ORDER}")
        self.assertIn("PACKAGES", str(read["query"]))
        self.assertEqual(self.picking.ecommerce_readback["status"], "PARTIALLY_SHIPPED")
        self.assertIn("Shipment confirmed", self.chatter(self.picking))

        self.ship(backorder, "1Z999AA10123456795")
        self.push()
        confirms = self.requests_of("amazon.confirmShipment")
        self.assertEqual(len(confirms), 2)
        detail = confirms[1]["json"]["packageDetail"]
        self.assertEqual(detail["packageReferenceId"], str(backorder.id * 100 + 1))
        self.assertEqual(
            [(i["orderItemId"], i["quantity"]) for i in detail["orderItems"]],
            [("79039765272157", 1)],
        )
        self.make_due(backorder)
        self.verify()
        self.assertEqual(backorder.writeback_state, "success")
        self.assertEqual(backorder.ecommerce_readback["status"], "SHIPPED")
        self.assertEqual(
            len(self.requests_of("amazon.token")), 1, "the token is cached"
        )

    def test_two_tracking_numbers_two_packages(self):
        """Several tracking numbers on one delivery: one package each, each
        with the items packed in it."""
        picking = self.picking
        picking.carrier_id = self.carrier
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        line_a = picking.move_line_ids.filtered(
            lambda ml: ml.product_id == self.product_a
        )
        line_b = picking.move_line_ids - line_a
        pack_1 = self.env["stock.package"].create({"name": "PACK-1"})
        pack_2 = self.env["stock.package"].create({"name": "PACK-2"})
        line_a.result_package_id = pack_1
        line_b.result_package_id = pack_2
        picking.carrier_tracking_ref = "TRACK0001, TRACK0002"
        picking.button_validate()
        self.push()
        confirms = self.requests_of("amazon.confirmShipment")
        self.assertEqual(
            [
                (
                    c["json"]["packageDetail"]["packageReferenceId"],
                    c["json"]["packageDetail"]["trackingNumber"],
                    [
                        (i["orderItemId"], i["quantity"])
                        for i in c["json"]["packageDetail"]["orderItems"]
                    ],
                )
                for c in confirms
            ],
            [
                (str(picking.id * 100 + 1), "TRACK0001", [("79039765272157", 2)]),
                (str(picking.id * 100 + 2), "TRACK0002", [("79039765272158", 1)]),
            ],
        )
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")

    def test_missing_tracking_then_fixed(self):
        """No tracking number: a clear message, nothing sent; adding it after
        validation queues the delivery."""
        self.ship(self.picking, tracking=False)
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertIn("tracking", self.picking.writeback_error.lower())
        self.assertFalse(self.picking.writeback_next_attempt)
        self.push()
        self.assertEqual(self.sandbox.requests(), [])

        self.picking.carrier_tracking_ref = "1Z999AA10123456784"
        self.assertFalse(self.picking.writeback_error)
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)

    def test_carrier_without_code_then_mapped(self):
        carrier = self.env["delivery.carrier"].create(
            {
                "name": "Local Courier",
                "delivery_type": "fixed",
                "product_id": self.carrier_product.id,
            }
        )
        self.picking.carrier_id = carrier
        self.picking.carrier_tracking_ref = "LC123"
        for move in self.picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        self.picking.button_validate()
        self.assertIn("Local Courier", self.picking.writeback_error)
        self.assertIn("carrier code", self.picking.writeback_error)
        self.push()
        self.assertFalse(self.requests_of("amazon.confirmShipment"))

        carrier.write(
            {
                "amazon_carrier_code_id": fixtures.carrier_code(
                    self.env, "amazon", "Other"
                ).id,
                "amazon_carrier_name": "Local Courier Ltd",
            }
        )
        self.push()
        [confirm] = self.requests_of("amazon.confirmShipment")
        detail = confirm["json"]["packageDetail"]
        self.assertEqual(detail["carrierCode"], "Other")
        self.assertEqual(detail["carrierName"], "Local Courier Ltd")
        self.assertEqual(self.picking.writeback_state, "submitted")

    def test_permanent_error_fails_at_once(self):
        """Amazon refuses the data: failed at the first attempt, with
        Amazon's own message, and the responsible user gets an activity."""
        self.amazon_error(
            "amazon.confirmShipment",
            400,
            "InvalidInput",
            "Tracking number is not valid for the carrier.",
        )
        self.ship(self.picking, "BAD")
        self.push()
        self.assertEqual(self.picking.writeback_state, "failed")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertIn(
            "Tracking number is not valid for the carrier.",
            self.picking.writeback_error,
        )
        activity = self.picking.activity_ids
        self.assertEqual(activity.user_id, self.responsible)
        self.assertIn("failed after 1 attempt", self.chatter(self.picking))

    def test_retry_now_and_manual_confirmation(self):
        self.amazon_error("amazon.confirmShipment", 400, "InvalidInput", "Nope")
        self.ship(self.picking, "1Z999AA10123456784")
        self.push()
        self.assertEqual(self.picking.writeback_state, "failed")
        self.picking.action_writeback_retry()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(
            self.picking.writeback_attempt_count, 0, "a retry gets fresh attempts"
        )
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")

        self.picking.action_writeback_mark_manual()
        self.assertEqual(self.picking.writeback_state, "manual")
        self.assertEqual(self.picking.writeback_manual_user_id, self.env.user)
        self.assertTrue(self.picking.writeback_done_date)
        self.assertIn("Marked as manually confirmed", self.chatter(self.picking))
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(
            self.picking.writeback_state, "manual", "the user's decision stands"
        )

    def test_tracking_number_printed_with_spaces_is_one_number(self):
        self.ship(self.picking, "1Z 999 AA1 0123 4567 84")
        self.push()
        [confirm] = self.requests_of("amazon.confirmShipment")
        self.assertEqual(
            confirm["json"]["packageDetail"]["trackingNumber"], "1Z999AA10123456784"
        )
