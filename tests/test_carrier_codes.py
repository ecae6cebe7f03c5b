# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Carrier codes are data (ecommerce.carrier.code, several hundred for
Amazon), searchable by code and name; a carrier maps to one per marketplace.
The migration of 19.0.1.4.0 turns the former selection / text values into
those links."""

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from . import fixtures
from .common import WritebackCase, load_migration
from .fixtures import AMAZON_MARKETPLACE

ORDER = "302-1106328-1059051"


@tagged("post_install", "-at_install")
class TestCarrierCodes(WritebackCase):
    def setUp(self):
        super().setUp()
        self.Code = self.env["ecommerce.carrier.code"]

    def _ship_amazon_order(self, carrier_code):
        self.carrier.amazon_carrier_code_id = carrier_code
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "79039765272160", "quantity": 1, "sku": "WA"}],
        )
        order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "79039765272160")]
        )
        picking = self.ship(order.picking_ids, "01234567890123")
        self.push()
        return picking

    def _search(self, text, platform):
        found = self.Code.name_search(text, [("platform", "=", platform)], limit=20)
        return [self.Code.browse(id_).code for id_, _name in found]

    def test_the_lists_are_loaded_and_searchable_by_code_and_name(self):
        self.assertGreaterEqual(
            self.Code.search_count([("platform", "=", "amazon")]), 300
        )
        self.assertGreaterEqual(
            self.Code.search_count([("platform", "=", "ebay")]), 150
        )
        self.assertIn("DPD", self._search("dpd", "amazon"))
        self.assertIn("Deutsche Post", self._search("deutsche", "amazon"))
        # By name: Amazon's code is BlueDart, eBay's DeutschePost.
        self.assertIn("BlueDart", self._search("Blue Dart", "amazon"))
        self.assertIn("DeutschePost", self._search("Deutsche Post", "ebay"))
        self.assertNotIn("DeutschePost", self._search("Deutsche Post", "amazon"))
        bluedart = self.Code._find("amazon", "BlueDart")
        self.assertEqual(bluedart.display_name, "BlueDart (Blue Dart)")
        self.assertEqual(self.Code._find("amazon", "DPD").display_name, "DPD")

    def test_a_european_seller_maps_dpd_and_amazon_accepts_it(self):
        dpd = self.Code._find("amazon", "DPD")
        picking = self._ship_amazon_order(dpd)
        [confirm] = self.requests_of("amazon.confirmShipment")
        self.assertEqual(confirm["json"]["packageDetail"]["carrierCode"], "DPD")
        self.assertEqual(confirm["status"], 204)
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertEqual(
            self.sandbox.amazon_order(ORDER)["packages"][0]["carrier_code"], "DPD"
        )

    def test_deutsche_post_is_sent_as_amazon_spells_it(self):
        picking = self._ship_amazon_order(self.Code._find("amazon", "Deutsche Post"))
        [confirm] = self.requests_of("amazon.confirmShipment")
        self.assertEqual(
            confirm["json"]["packageDetail"]["carrierCode"], "Deutsche Post"
        )
        self.assertEqual(picking.writeback_state, "submitted")

    def test_a_code_amazon_does_not_list_is_refused(self):
        """An administrator may add a code (the list is data), but Amazon
        only takes its own: the sandbox refuses it as Amazon does."""
        mine = self.Code.create(
            {"platform": "amazon", "code": "DPD Germany", "name": "DPD Germany"}
        )
        picking = self._ship_amazon_order(mine)
        [confirm] = self.requests_of("amazon.confirmShipment")
        self.assertEqual(confirm["status"], 400)
        self.assertEqual(picking.writeback_state, "failed")
        self.assertIn("packageDetail.carrierCode", picking.writeback_error)

    def test_a_carrier_takes_only_its_marketplace_codes(self):
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.carrier.amazon_carrier_code_id = self.Code._find("ebay", "DPD")
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.carrier.ebay_carrier_code_id = self.Code._find("amazon", "Yodel")

    def test_an_archived_code_still_goes_out(self):
        """Archiving hides a code from the choices, not from the carriers
        already mapped to it."""
        ups = self.carrier.amazon_carrier_code_id
        ups.active = False
        self.assertNotIn("UPS", self._search("UPS", "amazon"))
        self.assertEqual(self.carrier._marketplace_carrier_code("amazon"), "UPS")

    # -------------------------------------------------- migration 19.0.1.4.0

    def test_old_values_become_links_without_losing_a_mapping(self):
        carriers = [
            fixtures.carrier(self.env, f"Old {n}", amazon_code=None, ebay_code=None)
            for n in range(3)
        ]
        first, second, third = carriers
        with mute_logger("odoo.addons.stock_ecommerce_writeback.models"):
            created = self.Code._link_legacy_codes(
                "amazon_carrier_code_id",
                "amazon",
                [(first.id, "DHL eCommerce"), (second.id, "Other"), (third.id, " ")],
            )
            self.assertEqual(created, [])
            created = self.Code._link_legacy_codes(
                "ebay_carrier_code_id",
                "ebay",
                [(first.id, "RoyalMail"), (second.id, "Kurierdienst Typed-In")],
            )
        self.assertEqual(created, ["Kurierdienst Typed-In"])
        self.assertEqual(
            [c._marketplace_carrier_code("amazon") for c in carriers],
            ["DHL eCommerce", "Other", False],
        )
        self.assertEqual(
            [c._marketplace_carrier_code("ebay") for c in carriers],
            ["RoyalMail", "Kurierdienst Typed-In", False],
        )
        # Run again (an update re-run): nothing new, the same links.
        with mute_logger("odoo.addons.stock_ecommerce_writeback.models"):
            again = self.Code._link_legacy_codes(
                "ebay_carrier_code_id", "ebay", [(second.id, "Kurierdienst Typed-In")]
            )
        self.assertEqual(again, [])
        self.assertEqual(
            self.Code.search_count([("code", "=", "Kurierdienst Typed-In")]), 1
        )

    def test_the_migration_script_reads_the_old_columns(self):
        """The post-migration on a database as 19.0.1.3.0 left it: the old
        columns hold the codes (the test's transaction rolls the columns
        back)."""
        old = fixtures.carrier(self.env, "Old", amazon_code=None, ebay_code=None)
        self.env.flush_all()
        self.env.cr.execute(
            "ALTER TABLE delivery_carrier ADD COLUMN amazon_carrier_code varchar,"
            " ADD COLUMN ebay_carrier_code varchar"
        )
        self.env.cr.execute(
            "UPDATE delivery_carrier SET amazon_carrier_code = 'YamatoTransport',"
            " ebay_carrier_code = 'JapanPost' WHERE id = %s",
            [old.id],
        )
        load_migration("19.0.1.4.0").migrate(self.env.cr, "19.0.1.3.0")
        self.assertEqual(old.amazon_carrier_code_id.code, "YamatoTransport")
        self.assertEqual(old.ebay_carrier_code_id.code, "JapanPost")
        # The carrier set up as before keeps its codes.
        self.assertEqual(self.carrier._marketplace_carrier_code("amazon"), "UPS")
