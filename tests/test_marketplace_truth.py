# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The marketplace's truth (issue 18): what the sandbox holds after the addon
wrote back, for the order's own marketplace (pan-European selling), tracking
numbers as each API takes them, cancelled eBay orders, Amazon's
PackageToUpdateNotFound, packages read back without their items and eBay's
32500 for a shipped date in the future. How the engine decides on these
answers is not asserted here (the engine's tests do)."""

import datetime
import io
import zipfile

import requests
from lxml import etree

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from ..marketplaces import base
from . import fixtures
from .common import WritebackCase

DE, FR = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"  # Amazon.de, Amazon.fr
FR_ORDER = "171-1000001-0000001"
DE_ORDER = "171-1000002-0000002"
ITEM_FR, ITEM_DE = "71000000000001", "71000000000002"
EBAY_ORDER = "27-20001-20001"
EBAY_LINE = "110020000001-0"
REST_LINE = "10000000020001"
NS = {"e": "urn:ebay:apis:eBLBaseComponents"}


@tagged("post_install", "-at_install")
class TestMarketplaceTruth(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A pan-European seller: the account is on Amazon.de, its orders are
        # placed on Amazon.de and Amazon.fr alike.
        cls.germany = fixtures.amazon_account(
            cls.env,
            cls.sandbox.url,
            name="Amazon DE (sandbox)",
            amazon_marketplace_id=DE,
            api_base_url=cls.sandbox.amazon_url("eu"),
        )

    def _amazon_order(self, ref, item, marketplace, quantity=1, **options):
        self.sandbox.add_amazon_order(
            ref,
            marketplace_id=marketplace,
            items=[{"order_item_id": item, "quantity": quantity, "sku": "WA"}],
            **options,
        )
        return self.make_order(self.germany, ref, [(self.product_a, quantity, item)])

    def _confirmations(self):
        return self.requests_of("amazon.confirmShipment")

    # ------------------------------------------------------------------
    # The order's marketplace
    # ------------------------------------------------------------------
    def test_amazon_de_account_confirms_an_amazon_fr_order(self):
        order = self._amazon_order(FR_ORDER, ITEM_FR, FR)
        order.ecommerce_marketplace_id = FR
        picking = self.ship(order.picking_ids, "1ZFR0001")

        self.push()

        [sent] = self._confirmations()
        self.assertEqual(sent["status"], 204)
        self.assertEqual(sent["amazon_region"], "eu")
        self.assertEqual(sent["json"]["marketplaceId"], FR)
        [package] = self.sandbox.amazon_order(FR_ORDER)["packages"]
        self.assertEqual(package["tracking_number"], "1ZFR0001")
        self.assertEqual(package["items"][0]["order_item_id"], ITEM_FR)
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        self.assertEqual(picking.ecommerce_readback["marketplace_id"], FR)
        # The order's own Seller Central, not the account's.
        self.assertEqual(
            picking.ecommerce_order_url,
            f"https://sellercentral.amazon.fr/orders-v3/order/{FR_ORDER}",
        )

    def test_confirmation_falls_back_to_the_accounts_marketplace(self):
        order = self._amazon_order(DE_ORDER, ITEM_DE, DE)
        self.assertFalse(order.ecommerce_marketplace_id)
        picking = self.ship(order.picking_ids, "1ZDE0001")

        self.push()

        [sent] = self._confirmations()
        self.assertEqual(sent["json"]["marketplaceId"], DE)
        self.assertEqual(len(self.sandbox.amazon_order(DE_ORDER)["packages"]), 1)
        self.assertEqual(
            picking.ecommerce_order_url,
            f"https://sellercentral.amazon.de/orders-v3/order/{DE_ORDER}",
        )

    def test_sales_channel_fills_the_missing_marketplace(self):
        """Sent with the account's marketplace, the Amazon.fr order is
        refused as Amazon refuses it; the engine reads the order, whose
        salesChannel names Amazon.fr, stores it on the sales order and sends
        again at once naming it: held by Amazon, one attempt counted."""
        order = self._amazon_order(FR_ORDER, ITEM_FR, FR)
        picking = self.ship(order.picking_ids, "1ZFR0002")

        self.push()

        [refused] = self._confirmations()
        self.assertEqual(refused["json"]["marketplaceId"], DE)
        self.assertEqual(refused["status"], 400)
        self.assertEqual(self.sandbox.amazon_order(FR_ORDER)["packages"], [])
        self.assertEqual(order.ecommerce_marketplace_id, FR, "learnt from getOrder")
        self.assertEqual(picking.writeback_state, "pending")
        self.assertEqual(picking.writeback_attempt_count, 0)
        self.assertIn(FR, picking.writeback_error)
        # A value already there is kept.
        self.assertFalse(picking._writeback_note_marketplace({"marketplace_id": DE}))
        self.assertEqual(order.ecommerce_marketplace_id, FR)

        self.push()

        self.assertEqual(self._confirmations()[-1]["json"]["marketplaceId"], FR)
        self.assertEqual(self._confirmations()[-1]["status"], 204)
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertEqual(picking.writeback_attempt_count, 1)
        self.assertEqual(len(self.sandbox.amazon_order(FR_ORDER)["packages"]), 1)

    def test_read_back_stores_the_orders_marketplace(self):
        """A read-back stored on a delivery fills the order's marketplace
        where it has none (the hook, from the delivery's write)."""
        order = self._amazon_order(DE_ORDER, ITEM_DE, DE)
        picking = self.ship(order.picking_ids, "1ZDE0002")
        self.push()
        self.make_due(picking)

        self.verify()

        self.assertEqual(picking.ecommerce_readback["marketplace_id"], DE)
        self.assertEqual(order.ecommerce_marketplace_id, DE)

    def test_order_marketplace_of_another_region_is_refused(self):
        order = self._amazon_order(DE_ORDER, ITEM_DE, DE)
        order.ecommerce_marketplace_id = FR
        with self.assertRaises(ValidationError):
            order.ecommerce_marketplace_id = "ATVPDKIKX0DER"  # amazon.com

    def test_amazon_file_has_a_file_per_marketplace(self):
        pickings = self.env["stock.picking"]
        for ref, item, marketplace, tracking in (
            (FR_ORDER, ITEM_FR, FR, "1ZFR0003"),
            (DE_ORDER, ITEM_DE, DE, "1ZDE0003"),
        ):
            order = self._amazon_order(ref, item, marketplace)
            if marketplace == FR:
                order.ecommerce_marketplace_id = FR
            pickings |= self.ship(order.picking_ids, tracking)
        wizard = (
            self.env["ecommerce.writeback.export"]
            .with_context(active_model="stock.picking", active_ids=pickings.ids)
            .create({"export_format": "amazon_flat"})
        )

        content, name, mimetype = wizard._export_file()

        self.assertRegex(name, r"^amazon-shipping-confirmation-\d{8}-\d{6}\.zip$")
        self.assertEqual(mimetype, "application/zip")
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            files = {
                info.filename.split("-")[3]: archive.read(info).decode()
                for info in archive.infolist()
            }
        self.assertEqual(set(files), {"FR", "DE"})
        self.assertIn(FR_ORDER, files["FR"])
        self.assertNotIn(DE_ORDER, files["FR"])
        self.assertIn(DE_ORDER, files["DE"])
        self.assertTrue(files["DE"].startswith("order-id\t"))

    # ------------------------------------------------------------------
    # Tracking numbers as each API takes them
    # ------------------------------------------------------------------
    def _ebay_order(self, api, line_id):
        self.ebay.ebay_api = api
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": REST_LINE,
                    "quantity": 1,
                    "item_id": EBAY_LINE.split("-")[0],
                    "transaction_id": "0",
                }
            ],
        )
        return self.make_order(self.ebay, EBAY_ORDER, [(self.product_a, 1, line_id)])

    def test_trading_tracking_number_is_sent_as_letters_and_digits(self):
        order = self._ebay_order("trading", EBAY_LINE)
        picking = self.ship(order.picking_ids, "1Z999-AA1 01 23456784")

        self.push()

        [sale] = self.requests_of("ebay.CompleteSale")
        root = etree.fromstring(sale["xml"].encode())
        self.assertEqual(
            root.findtext(".//e:ShipmentTrackingNumber", namespaces=NS),
            "1Z999AA10123456784",
        )
        [package] = self.sandbox.ebay_order(EBAY_ORDER)["fulfillments"]
        self.assertEqual(package["tracking_number"], "1Z999AA10123456784")
        # The user sees both forms.
        self.assertEqual(picking.carrier_tracking_ref, "1Z999-AA1 01 23456784")
        self.assertEqual(picking.writeback_sent_tracking, "1Z999AA10123456784")
        self.assertTrue(picking.writeback_sent_tracking_differs)
        self.assertIn("is sent as", self.chatter(picking))
        self.assertIn("1Z999AA10123456784", self.chatter(picking))
        form = self.env["stock.picking"].get_view(
            self.env.ref("stock.view_picking_form").id, "form"
        )["arch"]
        tracking = etree.fromstring(form).xpath("//div[@name='tracking']")[0]
        self.assertTrue(tracking.xpath(".//field[@name='writeback_sent_tracking']"))
        # The grid's export shows both too.
        self.assertEqual(
            self.grid_export_lines(
                picking,
                [
                    ["carrier_tracking_ref", "Tracking Number"],
                    ["writeback_sent_tracking", "Sent As"],
                ],
            ),
            ["Tracking Number,Sent As", "1Z999-AA1 01 23456784,1Z999AA10123456784"],
        )
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")

    def test_tracking_number_sent_as_entered_shows_once(self):
        order = self._ebay_order("trading", EBAY_LINE)
        picking = self.ship(order.picking_ids, "1Z999AA10123456784")
        self.push()
        self.assertEqual(picking.writeback_sent_tracking, "1Z999AA10123456784")
        self.assertFalse(picking.writeback_sent_tracking_differs)

    # ------------------------------------------------------------------
    # Cancelled eBay orders, in both APIs
    # ------------------------------------------------------------------
    def _cancelled_after_shipping(self, api, line_id):
        order = self._ebay_order(api, line_id)
        picking = self.ship(order.picking_ids, "9400111899223100002001")
        self.push()
        self.assertEqual(len(self.sandbox.ebay_order(EBAY_ORDER)["fulfillments"]), 1)
        # The buyer's cancellation went through after the shipment was
        # confirmed: the sandbox's control API, as a script would call it.
        response = requests.post(
            f"{self.sandbox.url}/_sandbox/ebay/orders/cancel",
            json={"order_id": EBAY_ORDER},
            timeout=5,
        )
        self.assertEqual(response.status_code, 200, response.text)
        self.make_due(picking)
        self.verify()
        return picking

    def test_cancelled_order_is_read_back_cancelled_by_trading(self):
        picking = self._cancelled_after_shipping("trading", EBAY_LINE)
        self.assertTrue(self.requests_of("ebay.GetOrders"))
        readback = picking.ecommerce_readback
        self.assertTrue(readback["cancelled"])
        self.assertEqual(readback["status"], "Cancelled")
        view = self.ebay._marketplace_client(on_call=None).read_order(EBAY_ORDER)
        self.assertTrue(view.cancelled)

    def test_cancelled_order_is_read_back_cancelled_by_rest(self):
        picking = self._cancelled_after_shipping("fulfillment", REST_LINE)
        self.assertTrue(self.requests_of("ebay.getOrder"))
        self.assertTrue(picking.ecommerce_readback["cancelled"])
        self.assertEqual(
            self.sandbox.ebay_order(EBAY_ORDER)["cancel_state"], "CANCELED"
        )

    # ------------------------------------------------------------------
    # Amazon: PackageToUpdateNotFound; packages without packageItems
    # ------------------------------------------------------------------
    def test_order_shipped_under_another_package_is_package_to_update_not_found(
        self,
    ):
        order = self._amazon_order(DE_ORDER, ITEM_DE, DE)
        # Confirmed in Seller Central already, under package 1.
        self.germany._marketplace_client(on_call=None).confirm_shipment(
            base.Shipment(
                order_ref=DE_ORDER,
                carrier_code="UPS",
                carrier_name="UPS",
                shipping_method="Ground",
                ship_date=datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                packages=(
                    base.Package("1", "1ZHAND0001", (base.ShipmentItem(ITEM_DE, 1),)),
                ),
            )
        )
        picking = self.ship(order.picking_ids, "1ZDE0004")

        self.push()

        refused = self._confirmations()[-1]
        self.assertEqual(refused["status"], 400)
        [package] = self.sandbox.amazon_order(DE_ORDER)["packages"]
        self.assertEqual(package["tracking_number"], "1ZHAND0001")
        call = picking.writeback_call_ids.filtered(
            lambda c: c.operation == "confirmShipment"
        )[:1]
        self.assertEqual(call.http_status, 400)
        self.assertIn("PackageToUpdateNotFound", call.error_message)

    def test_packages_without_package_items_are_read_back(self):
        order = self._amazon_order(DE_ORDER, ITEM_DE, DE, package_items=False)
        picking = self.ship(order.picking_ids, "1ZDE0005")
        self.push()
        self.make_due(picking)

        self.verify()

        self.assertTrue(self.requests_of("amazon.getOrder"))
        self.assertEqual(picking.writeback_read_failures, 0)
        [package] = picking.ecommerce_readback["packages"]
        self.assertEqual(package["tracking_number"], "1ZDE0005")
        self.assertEqual(package["items"], [])
        self.assertEqual(picking.ecommerce_readback["status"], "SHIPPED")

    # ------------------------------------------------------------------
    # eBay REST: 32500
    # ------------------------------------------------------------------
    def test_rest_shipped_date_in_the_future_is_a_clear_refusal(self):
        order = self._ebay_order("fulfillment", REST_LINE)
        picking = self.ship(order.picking_ids, "9400111899223100003001")
        picking.date_done = picking.date_done + datetime.timedelta(days=2)

        self.push()

        [create] = self.requests_of("ebay.createShippingFulfillment")
        self.assertEqual(create["status"], 400)
        self.assertEqual(self.sandbox.ebay_order(EBAY_ORDER)["fulfillments"], [])
        # eBay's words and code, as the user reads them on the delivery.
        self.assertIn("is in the future", picking.writeback_error)
        self.assertIn("(32500)", picking.writeback_error)
        [call] = picking.writeback_call_ids.filtered(
            lambda c: c.operation == "createShippingFulfillment"
        )
        self.assertEqual((call.http_status, call.error_code), (400, "32500"))
