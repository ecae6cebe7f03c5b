# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import base64
import datetime
import io
from unittest.mock import patch

from PIL import Image
from psycopg2.errors import UniqueViolation

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from ..models import ecommerce_product_listing
from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

MUG = "B0TESTMUG1"
LAMP = "B0TESTLMP1"
TEE = "B0TESTTEE1"
UNKNOWN = "B0NOSUCH01"


@tagged("post_install", "-at_install")
class TestAmazonProductDetails(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Listing = cls.env["ecommerce.product.listing"]
        cls.product_c = cls.env["product.product"].create(
            {"name": "Widget C", "type": "consu", "default_code": "WC"}
        )

    def setUp(self):
        super().setUp()
        self.sandbox.add_catalog_item(
            MUG,
            title="Enamel Camp Mug, 12 oz",
            brand="Trailhead",
            item_weight=(0.77, "pounds"),
            package_weight=(0.4, "kilograms"),
            images=[("MAIN", 500, 500), ("MAIN", 1000, 1000), ("PT01", 1500, 1500)],
        )
        self.sandbox.add_catalog_item(
            LAMP,
            title="Brass Desk Lamp",
            item_weight=(3.97, "pounds"),
            images=[("MAIN", 2560, 1707), ("MAIN", 500, 333)],
        )
        self.sandbox.add_catalog_item(TEE, title="Organic Cotton T-Shirt")

    def listing(self, product, asin, account=None):
        return self.Listing.create(
            {
                "product_id": product.id,
                "account_id": (account or self.amazon).id,
                "asin": asin,
            }
        )

    def image_size(self, product):
        return Image.open(io.BytesIO(base64.b64decode(product.image_1920))).size

    def calls(self, operation=None):
        domain = [("account_id", "=", self.amazon.id), ("api", "=", "amazon_products")]
        if operation:
            domain.append(("operation", "=", operation))
        return self.env["ecommerce.api.call"].search(domain, order="id")

    def test_load_sets_weight_image_and_title(self):
        """Package weight (what ships) converted to kg, the largest MAIN
        image, title and ASIN shown; every call journaled."""
        listing = self.listing(self.product_a, MUG)
        self.assertEqual(listing.seller_sku, "WA", "the SKU defaults to the reference")
        self.assertEqual(listing.product_tmpl_id, self.product_a.product_tmpl_id)
        action = self.product_a.action_amazon_load_details()

        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(listing.load_state, "done", listing.last_message)
        self.assertEqual(listing.amazon_title, "Enamel Camp Mug, 12 oz")
        self.assertEqual(listing.amazon_brand, "Trailhead")
        self.assertEqual(listing.amazon_item_weight, "0.77 pounds")
        self.assertEqual(listing.amazon_package_weight, "0.4 kilograms")
        self.assertEqual(listing.weight_source, "package")
        self.assertAlmostEqual(self.product_a.weight, 0.4)
        self.assertAlmostEqual(listing.weight, 0.4)
        self.assertEqual(self.image_size(self.product_a), (1000, 1000))
        self.assertIn("-MAIN-1000x1000.png", listing.image_url)
        self.assertTrue(listing.last_load_date)
        self.assertFalse(listing.next_load_date)
        self.assertIn("weight 0.4 kg (package weight)", listing.last_message)

        [request] = self.requests_of("amazon.getCatalogItem")
        self.assertEqual(request["path"], f"/catalog/2022-04-01/items/{MUG}")
        self.assertEqual(request["query"]["marketplaceIds"], [AMAZON_MARKETPLACE])
        self.assertIn("images", request["query"]["includedData"][0])
        self.assertIn("dimensions", request["query"]["includedData"][0])
        self.assertEqual(
            self.calls().mapped("operation"),
            ["token", "getCatalogItem", "downloadImage"],
        )
        self.assertEqual(set(self.calls().mapped("outcome")), {"success"})
        self.assertFalse(self.calls().picking_id)

        # Loaded again: the same image is not downloaded twice.
        self.product_a.action_amazon_load_details()
        self.assertEqual(len(self.requests_of("amazon.getCatalogItem")), 2)
        self.assertEqual(len(self.calls("downloadImage")), 1)

    def test_item_weight_converted_to_pounds(self):
        """No package weight: the item weight is used, converted to the
        database's weight unit (pounds here); big images are scaled to the
        1920 px Odoo keeps."""
        self.env["ir.config_parameter"].sudo().set_param("product.weight_in_lbs", "1")
        self.sandbox.add_catalog_item(
            LAMP,
            title="Brass Desk Lamp",
            item_weight=(1800, "grams"),
            images=[("MAIN", 2560, 1707), ("MAIN", 500, 333)],
        )
        listing = self.listing(self.product_b, LAMP)
        listing.action_amazon_load()
        self.assertEqual(listing.load_state, "done", listing.last_message)
        self.assertEqual(listing.weight_source, "item")
        self.assertAlmostEqual(self.product_b.weight, 1.8 / 0.45359237, places=2)
        self.assertEqual(self.image_size(self.product_b), (1920, 1280))

    def test_weight_conversions(self):
        convert = self.Listing._amazon_convert_weight
        self.assertAlmostEqual(convert(1, "pounds"), 0.45359237, places=5)
        self.assertAlmostEqual(convert(16, "ounces"), 0.45359237, places=5)
        self.assertAlmostEqual(convert(250, "grams"), 0.25)
        self.assertAlmostEqual(convert(2, "Kilograms"), 2.0)
        self.assertAlmostEqual(convert(5000, "milligrams"), 0.005)
        self.assertIsNone(convert(1, "stones"))

    def test_batch_with_unknown_asin_updates_the_others(self):
        listings = (
            self.listing(self.product_a, MUG)
            | self.listing(self.product_b, UNKNOWN)
            | self.listing(self.product_c, LAMP)
        )
        with patch.object(ecommerce_product_listing, "INLINE_LIMIT", 3):
            action = listings.product_id.action_amazon_load_details()
        mug, unknown, lamp = listings
        self.assertEqual(mug.load_state, "done")
        self.assertEqual(lamp.load_state, "done")
        self.assertEqual(unknown.load_state, "error")
        self.assertIn(UNKNOWN, unknown.last_message)
        self.assertIn("not found", unknown.last_message)
        self.assertFalse(
            unknown.next_load_date, "an unknown ASIN is not retried by itself"
        )
        self.assertAlmostEqual(self.product_c.weight, 3.97 * 0.45359237, places=2)
        self.assertFalse(self.product_b.image_1920)
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("2 loaded", action["params"]["message"])
        self.assertIn("1 failed", action["params"]["message"])
        self.assertIn(UNKNOWN, action["params"]["message"])
        self.assertEqual(
            self.calls("getCatalogItem").mapped("outcome"),
            ["success", "permanent", "success"],
        )

    def test_missing_data_is_a_warning(self):
        """Amazon knows the ASIN but has no weight and no image: the title is
        shown, the product's weight is kept, and the listing says why."""
        self.product_c.weight = 0.2
        listing = self.listing(self.product_c, TEE)
        listing.action_amazon_load()
        self.assertEqual(listing.load_state, "warning")
        self.assertEqual(listing.amazon_title, "Organic Cotton T-Shirt")
        self.assertIn("no weight", listing.last_message)
        self.assertIn("no main image", listing.last_message)
        self.assertEqual(self.product_c.weight, 0.2)
        self.assertFalse(listing.weight_source)

    def test_rate_limited_defers_and_the_cron_loads_later(self):
        """HTTP 429: that product is deferred, the account is not called
        again in the run, nothing fails; the cron loads them later."""
        listings = self.listing(self.product_a, MUG) | self.listing(
            self.product_b, LAMP
        )
        self.amazon_error(
            "amazon.getCatalogItem",
            429,
            "QuotaExceeded",
            "You exceeded your quota.",
            headers={"Retry-After": "30"},
        )
        action = listings.action_amazon_load()
        self.assertIn("2 deferred", action["params"]["message"])
        self.assertEqual(listings.mapped("load_state"), ["deferred", "deferred"])
        self.assertIn("throttling", listings[0].last_message)
        self.assertEqual(len(self.requests_of("amazon.getCatalogItem")), 1)
        wait = (listings[0].next_load_date - fields.Datetime.now()).total_seconds()
        self.assertAlmostEqual(wait, 30, delta=5)
        self.assertEqual(self.calls("getCatalogItem").outcome, "rate_limited")
        cron = self.env.ref("stock_ecommerce_writeback.ir_cron_amazon_catalog_load")
        self.assertTrue(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            "the load cron is woken when the wait is over",
        )

        self.run_cron("ir_cron_amazon_catalog_load")
        self.assertEqual(
            len(self.requests_of("amazon.getCatalogItem")), 1, "not due yet"
        )
        listings.write(
            {"next_load_date": fields.Datetime.now() - datetime.timedelta(seconds=1)}
        )
        self.run_cron("ir_cron_amazon_catalog_load")
        self.assertEqual(listings.mapped("load_state"), ["done", "done"])
        self.assertFalse(any(listings.mapped("next_load_date")))
        self.assertAlmostEqual(self.product_a.weight, 0.4)
        self.assertTrue(self.product_b.image_1920)

    def test_temporary_failure_is_retried_then_given_up(self):
        listing = self.listing(self.product_a, MUG)
        self.sandbox.inject_fault("amazon.getCatalogItem", status=503, times=None)
        listing.action_amazon_load()
        self.assertEqual(listing.load_state, "deferred")
        self.assertEqual(listing.transient_retry_count, 1)
        for _attempt in range(ecommerce_product_listing.MAX_TRANSIENT_RETRIES):
            listing.next_load_date = fields.Datetime.now() - datetime.timedelta(
                seconds=1
            )
            self.run_cron("ir_cron_amazon_catalog_load")
        self.assertEqual(listing.load_state, "error")
        self.assertFalse(listing.next_load_date)
        self.assertIn("after 4 tries", listing.last_message)

    def test_many_products_are_loaded_by_the_cron(self):
        """Above the inline limit nothing is called in the user's request:
        the products are queued and the load cron is woken."""
        listings = self.listing(self.product_a, MUG) | self.listing(
            self.product_b, LAMP
        )
        with patch.object(ecommerce_product_listing, "INLINE_LIMIT", 1):
            action = listings.product_id.action_amazon_load_details()
        self.assertIn("background", action["params"]["message"])
        self.assertEqual(self.sandbox.requests(), [])
        self.assertTrue(all(listings.mapped("next_load_date")))
        self.run_cron("ir_cron_amazon_catalog_load")
        self.assertEqual(listings.mapped("load_state"), ["done", "done"])
        self.assertEqual(len(self.requests_of("amazon.getCatalogItem")), 2)

    def test_two_listings_load_in_the_request_three_are_queued(self):
        """README: "One or two listings are loaded at once in your request
        [...]; larger selections are queued for the load cron". The real
        limit, not a patched one."""
        two = self.listing(self.product_a, MUG) | self.listing(self.product_b, LAMP)
        action = two.product_id.action_amazon_load_details()
        self.assertEqual(two.mapped("load_state"), ["done", "done"])
        self.assertEqual(len(self.requests_of("amazon.getCatalogItem")), 2)
        self.assertNotIn("background", action["params"]["message"])

        self.sandbox.reset()
        self.sandbox.add_catalog_item(TEE, title="Organic Cotton T-Shirt")
        three = two | self.listing(self.product_c, TEE)
        action = three.product_id.action_amazon_load_details()
        self.assertIn("background", action["params"]["message"])
        self.assertEqual(self.sandbox.requests(), [], "nothing called inline")
        self.assertTrue(all(three.mapped("next_load_date")))

    def test_scheduled_refresh_is_optional_and_queues_everything(self):
        refresh = self.env.ref(
            "stock_ecommerce_writeback.ir_cron_amazon_catalog_refresh"
        )
        self.assertFalse(refresh.active)
        listing = self.listing(self.product_a, MUG)
        self.run_cron("ir_cron_amazon_catalog_refresh")
        self.assertTrue(listing.next_load_date)
        self.assertEqual(self.sandbox.requests(), [], "the refresh only queues")
        self.run_cron("ir_cron_amazon_catalog_load")
        self.assertEqual(listing.load_state, "done")

    def test_second_listing_does_not_overwrite_the_product(self):
        """A product listed on two Amazon accounts takes its weight and image
        from the first account only."""
        other = self.amazon.copy({"name": "Amazon CA (sandbox)", "sequence": 20})
        first = self.listing(self.product_a, MUG)
        second = self.listing(self.product_a, LAMP, account=other)
        (first | second).action_amazon_load()
        self.assertEqual(first.load_state, "done")
        self.assertEqual(second.load_state, "warning")
        self.assertIn("nothing was changed on the product", second.last_message)
        self.assertAlmostEqual(self.product_a.weight, 0.4)

    def test_template_action_and_form(self):
        """From the product form: the listing gets the variant; the action on
        templates loads their variants; a product without ASIN is named."""
        template = self.product_a.product_tmpl_id
        with Form(template) as form, form.ecommerce_listing_ids.new() as line:
            line.account_id = self.amazon
            line.asin = " b0testmug1 "
        listing = template.ecommerce_listing_ids
        self.assertEqual(listing.product_id, self.product_a)
        self.assertEqual(listing.asin, MUG)
        action = (
            template | self.product_b.product_tmpl_id
        ).action_amazon_load_details()
        self.assertIn("Skipped, no ASIN: [WB] Widget B", action["params"]["message"])
        self.assertEqual(listing.load_state, "done")

    def test_variant_form(self):
        with Form(self.product_b) as form, form.ecommerce_listing_ids.new() as line:
            line.account_id = self.amazon
            line.asin = LAMP
        listing = self.product_b.ecommerce_listing_ids
        self.assertEqual(listing.product_tmpl_id, self.product_b.product_tmpl_id)
        self.assertEqual(listing.seller_sku, "WB")
        self.assertEqual(listing.load_state, "new")

    def test_validation(self):
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.listing(self.product_a, "NOT-AN-ASIN")
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.listing(self.product_a, MUG, account=self.ebay)
        self.listing(self.product_a, MUG)
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"):
            self.listing(self.product_a, LAMP)

    def test_only_inventory_managers_load_details(self):
        self.listing(self.product_a, MUG)
        user = new_test_user(
            self.env, "wh_user_products", groups="stock.group_stock_user"
        )
        with self.assertRaises(AccessError):
            self.product_a.with_user(user).action_amazon_load_details()
        self.assertEqual(self.sandbox.requests(), [])
