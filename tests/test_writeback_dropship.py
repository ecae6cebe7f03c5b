# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.tests import tagged

from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

ORDER = "115-0000001-0000001"


@tagged("post_install", "-at_install")
class TestDropshipWriteback(WritebackCase):
    """A marketplace order the vendor ships straight to the buyer
    (``stock_dropshipping``, installed in the test database by
    scripts/test.sh; the addon itself does not depend on it)."""

    def test_dropship_is_written_back_like_a_delivery(self):
        route = self.env.ref(
            "stock_dropshipping.route_drop_shipping", raise_if_not_found=False
        )
        self.assertTrue(
            route, "the test database needs stock_dropshipping (scripts/test.sh)"
        )
        vendor = self.env["res.partner"].create({"name": "Dropship Vendor"})
        product = self.env["product.product"].create(
            {
                "name": "Dropshipped Widget",
                "type": "consu",
                "is_storable": True,
                "seller_ids": [(0, 0, {"partner_id": vendor.id})],
                "route_ids": [(6, 0, route.ids)],
            }
        )
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "14111111111111", "quantity": 1}],
        )
        order = self.make_order(self.amazon, ORDER, [(product, 1, "14111111111111")])
        purchase = self.env["purchase.order"].search(
            [("order_line.product_id", "=", product.id)]
        )
        purchase.button_confirm()
        dropship = order.picking_ids
        self.assertEqual(dropship.picking_type_code, "dropship")
        self.ship(dropship, "1ZDROP0001")
        self.assertEqual(dropship.writeback_state, "pending")
        self.push()
        self.make_due(dropship)
        self.verify()
        self.assertEqual(dropship.writeback_state, "success")
        [package] = self.sandbox.amazon_order(ORDER)["packages"]
        self.assertEqual(package["tracking_number"], "1ZDROP0001")
