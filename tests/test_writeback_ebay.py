# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import json

from lxml import etree

from odoo.tests import tagged

from .common import WritebackCase

ORDER = "12-34567-89012"
NS = {"e": "urn:ebay:apis:eBLBaseComponents"}


@tagged("post_install", "-at_install")
class TestEbayTradingWriteback(WritebackCase):
    def setUp(self):
        super().setUp()
        self.sandbox.add_ebay_order(
            ORDER,
            line_items=[
                {
                    "line_item_id": "110012345678-0",
                    "quantity": 2,
                    "item_id": "110012345678",
                    "transaction_id": "0",
                },
                {
                    "line_item_id": "110012345679-0",
                    "quantity": 1,
                    "item_id": "110012345679",
                    "transaction_id": "0",
                },
            ],
            checkout_status="Complete",
        )
        self.order = self.make_order(
            self.ebay,
            ORDER,
            [
                (self.product_a, 2, "110012345678-0"),
                (self.product_b, 1, "110012345679-0"),
            ],
        )
        self.picking = self.order.picking_ids

    def _xml(self, request):
        return etree.fromstring(request["xml"].encode())

    def test_partial_then_complete(self):
        """A partial delivery names its line items; the delivery that
        completes the order names the OrderID (eBay KB 1640)."""
        self.ship(self.picking, "9400111899223100000001", {self.product_a: 2})
        backorder = self.order.picking_ids - self.picking
        self.push()
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertEqual(len(self.requests_of("ebay.token")), 1)
        [sale] = self.requests_of("ebay.CompleteSale")
        headers = sale["headers"]
        self.assertEqual(headers["x-ebay-api-call-name"], "CompleteSale")
        self.assertEqual(headers["x-ebay-api-siteid"], "0")
        self.assertTrue(headers["x-ebay-api-compatibility-level"].isdigit())
        self.assertTrue(headers["x-ebay-api-iaf-token"])
        root = self._xml(sale)
        self.assertEqual(
            root.tag, "{urn:ebay:apis:eBLBaseComponents}CompleteSaleRequest"
        )
        self.assertEqual(
            root.findtext("e:OrderLineItemID", namespaces=NS), "110012345678-0"
        )
        self.assertIsNone(root.find("e:OrderID", NS))
        self.assertEqual(root.findtext("e:Shipped", namespaces=NS), "true")
        details = root.find("e:Shipment/e:ShipmentTrackingDetails", NS)
        self.assertEqual(
            details.findtext("e:ShippingCarrierUsed", namespaces=NS), "UPS"
        )
        self.assertEqual(
            details.findtext("e:ShipmentTrackingNumber", namespaces=NS),
            "9400111899223100000001",
        )
        self.assertTrue(
            root.findtext("e:Shipment/e:ShippedTime", namespaces=NS).endswith("Z")
        )
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        [get] = self.requests_of("ebay.GetOrders")
        self.assertEqual(
            self._xml(get).findtext("e:OrderIDArray/e:OrderID", namespaces=NS), ORDER
        )
        self.assertEqual(self.picking.ecommerce_readback["checkout_status"], "Complete")

        self.ship(backorder, "9400111899223100000002")
        self.push()
        # The completing delivery sends its tracking on its own line, then
        # marks the order shipped without tracking: order-level tracking
        # would land on every line (eBay applies it to all of them).
        line_sale, order_sale = (
            self._xml(r) for r in self.requests_of("ebay.CompleteSale")[-2:]
        )
        self.assertEqual(
            line_sale.findtext("e:OrderLineItemID", namespaces=NS), "110012345679-0"
        )
        self.assertEqual(
            line_sale.findtext(
                "e:Shipment/e:ShipmentTrackingDetails/e:ShipmentTrackingNumber",
                namespaces=NS,
            ),
            "9400111899223100000002",
        )
        self.assertEqual(order_sale.findtext("e:OrderID", namespaces=NS), ORDER)
        self.assertIsNone(order_sale.find("e:OrderLineItemID", NS))
        self.assertIsNone(order_sale.find("e:Shipment/e:ShipmentTrackingDetails", NS))
        self.assertTrue(order_sale.findtext("e:Shipment/e:ShippedTime", namespaces=NS))
        self.make_due(backorder)
        self.verify()
        self.assertEqual(backorder.writeback_state, "success")
        # What eBay ends up holding: each line only its own tracking number,
        # and the order marked shipped.
        held = self.sandbox.ebay_order(ORDER)
        self.assertEqual(
            self._tracking_by_line(held),
            {
                "110012345678-0": {"9400111899223100000001"},
                "110012345679-0": {"9400111899223100000002"},
            },
        )
        self.assertTrue(held["shipped_time"])

    def _tracking_by_line(self, held):
        """{Trading line id: tracking numbers} of the sandbox's eBay order."""
        lines = {
            line["line_item_id"]: f"{line['item_id']}-{line['transaction_id']}"
            for line in held["line_items"]
        }
        result = {trading_id: set() for trading_id in lines.values()}
        for fulfillment in held["fulfillments"]:
            for item in fulfillment["line_items"]:
                result[lines[item["line_item_id"]]].add(fulfillment["tracking_number"])
        return result

    def test_sole_delivery_in_one_parcel_sends_order_level_tracking(self):
        """One delivery, one parcel, the whole order: one CompleteSale by
        OrderID carries the tracking to every line, as it should."""
        self.ship(self.picking, "9400111899223100000009")
        self.push()
        [sale] = self.requests_of("ebay.CompleteSale")
        self.assertEqual(self._xml(sale).findtext("e:OrderID", namespaces=NS), ORDER)
        self.make_due(self.picking)
        self.verify()
        self.assertEqual(self.picking.writeback_state, "success")
        self.assertEqual(
            self._tracking_by_line(self.sandbox.ebay_order(ORDER)),
            {
                "110012345678-0": {"9400111899223100000009"},
                "110012345679-0": {"9400111899223100000009"},
            },
        )

    def test_system_error_is_transient(self):
        self.sandbox.inject_fault(
            "ebay.CompleteSale",
            trading_error={
                "code": "10007",
                "classification": "SystemError",
                "short": "Internal error",
                "long": "Internal error to the application.",
            },
        )
        self.ship(self.picking, "9400111899223100000001")
        self.push()
        self.assertEqual(self.picking.writeback_state, "pending")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertEqual(self.picking.writeback_call_ids[0].error_code, "10007")

    def test_expired_iaf_token_refreshes_once(self):
        self.ship(self.picking, "9400111899223100000001")
        self.push()
        self.assertEqual(len(self.requests_of("ebay.token")), 1)
        self.sandbox.expire_access_tokens()
        self.make_due(self.picking)
        self.picking.action_writeback_retry()
        self.push()
        self.assertEqual(
            len(self.requests_of("ebay.token")), 2, "refreshed after 21917053"
        )
        self.assertEqual(self.picking.writeback_state, "submitted")
        self.assertFalse(self.ebay.auth_error)

    def test_request_error_fails_with_ebay_message(self):
        self.sandbox.inject_fault(
            "ebay.CompleteSale",
            trading_error={
                "code": "21916964",
                "classification": "RequestError",
                "short": "Tracking number already used.",
                "long": "The tracking number has already been used by another seller.",
            },
        )
        self.ship(self.picking, "9400111899223100000001")
        self.push()
        # 21916964: the number belongs to another buyer's or seller's order.
        # A refusal: failed at once with eBay's words, no hours of resends.
        self.assertEqual(self.picking.writeback_state, "failed")
        self.assertEqual(self.picking.writeback_attempt_count, 1)
        self.assertIn(
            "already been used by another seller", self.picking.writeback_error
        )
        self.assertTrue(self.picking.activity_ids)

        self.sandbox.inject_fault(
            "ebay.CompleteSale",
            trading_error={
                "code": "20822",
                "classification": "RequestError",
                "short": "Invalid ItemID or TransactionID",
                "long": "Invalid ItemID or TransactionID.",
            },
        )
        self.picking.action_writeback_retry()
        self.push()
        self.assertEqual(self.picking.writeback_state, "failed")
        self.assertIn("Invalid ItemID or TransactionID.", self.picking.writeback_error)


@tagged("post_install", "-at_install")
class TestEbayBatchReadBack(WritebackCase):
    """Several eBay orders due for their read-back at once are read with one
    batch call (Trading GetOrders with an OrderIDArray; Sell Fulfillment
    getOrders with orderIds), and each ends Success against what eBay
    holds."""

    def _ship_three(self, rest=False):
        pickings = self.env["stock.picking"]
        for n in range(3):
            order_id = f"23-45678-9012{n}"
            # the line id each API writes back with
            line = f"1000012345678{n}" if rest else f"11001234567{n}-0"
            self.sandbox.add_ebay_order(
                order_id,
                line_items=[
                    {
                        "line_item_id": f"1000012345678{n}" if rest else line,
                        "quantity": 1,
                        "item_id": f"11001234567{n}",
                        "transaction_id": "0",
                    }
                ],
                checkout_status="Complete",
            )
            order = self.make_order(self.ebay, order_id, [(self.product_a, 1, line)])
            pickings |= self.ship(order.picking_ids, f"94001118992231000000{n:02d}")
        self.push()
        self.assertEqual(set(pickings.mapped("writeback_state")), {"submitted"})
        self.make_due(pickings)
        self.verify()
        self.assertEqual(set(pickings.mapped("writeback_state")), {"success"})
        for picking in pickings:
            held = self.sandbox.ebay_order(picking.ecommerce_order_ref)
            self.assertIn(
                picking.carrier_tracking_ref,
                json.dumps(held),
                "eBay holds the tracking number",
            )
        return pickings

    def test_trading_reads_three_orders_with_one_get_orders(self):
        self._ship_three()
        [call] = self.requests_of("ebay.GetOrders")
        ids = etree.fromstring(call["xml"].encode()).findall(
            "e:OrderIDArray/e:OrderID", namespaces=NS
        )
        self.assertEqual(len(ids), 3)

    def test_fulfillment_reads_three_orders_with_one_get_orders(self):
        self.ebay.ebay_api = "fulfillment"
        self._ship_three(rest=True)
        self.assertFalse(self.requests_of("ebay.getOrder"))
        [call] = self.requests_of("ebay.getOrders")
        self.assertEqual(len(call["query"]["orderIds"][0].split(",")), 3)
