# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo.tests import tagged

from .common import WritebackCase

ORDER = "27-10001-10001"
LINE_A = "10000000000011"
LINE_B = "10000000000012"
FULFILLMENT_PATH = f"/sell/fulfillment/v1/order/{ORDER}/shipping_fulfillment"


@tagged("post_install", "-at_install")
class TestEbayFulfillmentWriteback(WritebackCase):
    """eBay accounts set to the Sell Fulfillment API: one
    createShippingFulfillment per package, verified with getOrder and
    getShippingFulfillments."""

    def setUp(self):
        super().setUp()
        self.ebay.ebay_api = "fulfillment"
        self.sandbox.add_ebay_order(
            ORDER,
            line_items=[
                {
                    "line_item_id": LINE_A,
                    "quantity": 2,
                    "item_id": "110000000011",
                    "transaction_id": "0",
                },
                {
                    "line_item_id": LINE_B,
                    "quantity": 1,
                    "item_id": "110000000012",
                    "transaction_id": "0",
                },
            ],
        )
        self.order = self.make_order(
            self.ebay, ORDER, [(self.product_a, 2, LINE_A), (self.product_b, 1, LINE_B)]
        )
        self.picking = self.order.picking_ids

    def creates(self):
        return self.requests_of("ebay.createShippingFulfillment")

    def test_order_shipped_in_two_packages(self):
        """A partial delivery and its backorder: one fulfillment each with
        the quantities that delivery shipped; both verified on eBay."""
        self.ship(self.picking, "9400111899223100000101", {self.product_a: 1})
        backorder = self.order.picking_ids - self.picking
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        guard, *_rest = self.requests_of("ebay.getShippingFulfillments")
        [create] = self.creates()
        self.assertLess(
            guard["time"], create["time"], "existing fulfillments read first"
        )
        self.assertEqual(create["path"], FULFILLMENT_PATH)
        self.assertEqual(create["status"], 201)
        self.assertTrue(create["headers"]["authorization"].startswith("Bearer "))
        self.assertEqual(create["headers"]["content-type"], "application/json")
        body = create["json"]
        self.assertEqual(body["lineItems"], [{"lineItemId": LINE_A, "quantity": 1}])
        self.assertEqual(body["shippingCarrierCode"], "UPS")
        self.assertEqual(body["trackingNumber"], "9400111899223100000101")
        self.assertEqual(
            body["shippedDate"],
            self.picking.date_done.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )
        self.assertEqual(
            set(self.picking.writeback_call_ids.mapped("api")), {"ebay_fulfillment"}
        )

        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertTrue(self.requests_of("ebay.getOrder"))
        readback = self.picking.ecommerce_readback
        self.assertEqual(readback["status"], "IN_PROGRESS")
        self.assertEqual(
            readback["line_status"], {LINE_A: "FULFILLED", LINE_B: "NOT_STARTED"}
        )

        self.ship(backorder, "9400111899223100000102")
        self.push()
        self.assertEqual(len(self.creates()), 2)
        body = self.creates()[1]["json"]
        self.assertEqual(
            body["lineItems"],
            [
                {"lineItemId": LINE_A, "quantity": 1},
                {"lineItemId": LINE_B, "quantity": 1},
            ],
        )
        self.make_due(backorder)
        self.verify()
        self.assertEqual(
            (self.picking | backorder).mapped("writeback_state"), ["success"] * 2
        )
        self.assertEqual(backorder.ecommerce_readback["status"], "FULFILLED")
        fulfillments = self.sandbox.ebay_order(ORDER)["fulfillments"]
        self.assertEqual(
            sorted((f["tracking_number"], f["source"]) for f in fulfillments),
            [("9400111899223100000101", "rest"), ("9400111899223100000102", "rest")],
        )
        self.assertFalse(self.requests_of("ebay.CompleteSale"), "no Trading API call")

    def test_two_tracking_numbers_in_one_delivery(self):
        """Two parcels of one delivery: two fulfillments, one per package."""
        picking = self.picking
        picking.carrier_id = self.carrier
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        line_a = picking.move_line_ids.filtered(
            lambda ml: ml.product_id == self.product_a
        )
        pack_1 = self.env["stock.package"].create({"name": "PACK-1"})
        pack_2 = self.env["stock.package"].create({"name": "PACK-2"})
        line_a.result_package_id = pack_1
        (picking.move_line_ids - line_a).result_package_id = pack_2
        picking.carrier_tracking_ref = "TRACK0001, TRACK0002"
        picking.button_validate()
        self.push()
        self.assertEqual(
            [
                (c["json"]["trackingNumber"], c["json"]["lineItems"])
                for c in self.creates()
            ],
            [
                ("TRACK0001", [{"lineItemId": LINE_A, "quantity": 2}]),
                ("TRACK0002", [{"lineItemId": LINE_B, "quantity": 1}]),
            ],
        )
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")

    def test_tracking_number_is_normalised_and_the_user_told(self):
        self.ship(self.picking, "LX-123.456/789_US")
        self.push()
        [create] = self.creates()
        self.assertEqual(create["json"]["trackingNumber"], "LX123456789US")
        self.assertEqual(self.picking.writeback_sent_tracking, "LX123456789US")
        self.assertIn(
            "LX-123.456/789_US is sent as LX123456789US", self.chatter(self.picking)
        )
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertIn("LX123456789US", self.chatter(self.picking))

    def test_tracking_number_without_letters_or_digits_waits(self):
        self.ship(self.picking, "--/--")
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertIn("no letters or digits", self.picking.writeback_error)
        self.assertFalse(self.picking.writeback_next_attempt)
        self.push()
        self.assertEqual(self.sandbox.requests(), [])

    def test_duplicate_guard_after_a_crash(self):
        """The worker claimed the delivery, eBay recorded the fulfillment,
        the worker died: the verify cron finds our tracking number and calls
        it a success; nothing is posted again."""
        self.ship(self.picking, "1Z-999-AA1-0123456784")
        self.push_killed(after_send=True)
        self.assertEqual(len(self.creates()), 1)
        self.make_due(self.picking)
        self.push()
        self.assertEqual(
            self.picking.writeback_state, "sending", "push leaves it alone"
        )
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(len(self.creates()), 1, "never posted twice")

    def test_retry_after_a_lost_answer_does_not_post_twice(self):
        """eBay recorded the fulfillment but the answer never came back (the
        call timed out): the retry finds it among the order's fulfillments
        and does not post it again."""
        self.ebay.timeout = 1
        self.sandbox.inject_fault("ebay.createShippingFulfillment", delay=2)
        self.ship(self.picking, "9400111899223100000101")
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertTrue(self.sandbox.wait_idle(10))
        self.assertEqual(len(self.sandbox.ebay_order(ORDER)["fulfillments"]), 1)

        self.make_due(self.picking)
        self.push()
        # the order is read before the resend: eBay holds it, nothing is sent
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(len(self.creates()), 1, "the retry found it and sent nothing")

    def test_rest_errors_map_onto_outcomes(self):
        """30500 System error: retried later. A REQUEST error such as 32300:
        failed at once with eBay's own words. ACCESS 403: the account is
        flagged and no attempt is used."""
        self.sandbox.inject_fault(
            "ebay.createShippingFulfillment",
            rest_error={"errorId": 30500, "status": 500},
        )
        self.ship(self.picking, "9400111899223100000101")
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(self.picking.writeback_call_ids[0].error_code, "30500")
        self.assertEqual(self.picking.writeback_call_ids[0].outcome, "transient")

        self.sandbox.inject_fault(
            "ebay.createShippingFulfillment",
            rest_error={
                "errorId": 1100,
                "domain": "ACCESS",
                "status": 403,
                "message": "Access denied",
                "longMessage": "Insufficient permissions to fulfill the request.",
            },
        )
        self.make_due(self.picking)
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 1, "not counted")
        self.assertIn("Insufficient permissions", self.ebay.auth_error)

        self.sandbox.inject_fault(
            "ebay.createShippingFulfillment",
            rest_error={
                "errorId": 32300,
                "status": 400,
                "longMessage": "The tracking number is not valid for carrier UPS.",
            },
        )
        self.ebay.ebay_refresh_token = "v^1.1#new-refresh-token"  # admin fixes it
        self.assertFalse(self.ebay.auth_error)
        self.push()
        self.assertEqual(self.picking.writeback_state, "failed")
        self.assertIn("not valid for carrier UPS", self.picking.writeback_error)
        self.assertEqual(len(self.creates()), 3)
        self.assertTrue(
            all(
                re.fullmatch(r"[0-9A-Za-z]+", c["json"]["trackingNumber"])
                for c in self.creates()
            )
        )

    def _tracking_sent_as_users_see_it(self):
        """*Tracking Sent* of the delivery as the user reads it: the list's
        Export (``export_data``), the API (``read``), and the grid's own
        export with its *Sent As* column."""
        picking = self.picking
        exported = picking.export_data(["name", "writeback_sent_tracking"])["datas"]
        [read] = picking.read(["writeback_sent_tracking"])
        grid = self.grid_export_lines(
            picking,
            [
                ["carrier_tracking_ref", "Tracking Number"],
                ["writeback_sent_tracking", "Sent As"],
            ],
        )[1]
        return exported[0][1], read["writeback_sent_tracking"], grid

    def test_tracking_sent_is_empty_until_a_send_went_out(self):
        """A send that never reached eBay's records (rate-limited) leaves
        *Tracking Sent* empty everywhere the user reads it; the send that
        goes out shows the number as eBay got it."""
        self.ship(self.picking, "LX-123-456-US")
        self.sandbox.inject_fault(
            "ebay.createShippingFulfillment", status=429, body={"errors": []}
        )
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(len(self.creates()), 1, "the 429 was the only send")
        self.assertEqual(
            self._tracking_sent_as_users_see_it(),
            ("", False, "LX-123-456-US,"),
        )
        self.make_due(self.picking, seconds=3600)
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(
            self._tracking_sent_as_users_see_it(),
            ("LX123456US", "LX123456US", "LX-123-456-US,LX123456US"),
        )
