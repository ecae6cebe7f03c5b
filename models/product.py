# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models
from odoo.exceptions import UserError


class ProductProduct(models.Model):
    _inherit = "product.product"

    ecommerce_listing_ids = fields.One2many(
        "ecommerce.product.listing", "product_id", string="Amazon Listings"
    )

    def _amazon_primary_listing(self, company=None):
        """The listing whose Amazon data sets this variant's weight and
        image: the first one of an active account of ``company`` (default:
        any), in account order, then creation order. Empty when there is
        none."""
        self.ensure_one()
        listings = self.sudo().ecommerce_listing_ids.filtered(
            lambda listing: (
                listing.account_id.active
                and (company is None or listing.company_id == company)
            )
        )
        primary = listings.sorted(
            lambda listing: (
                listing.account_id.sequence,
                listing.account_id.id,
                listing.id,
            )
        )[:1]
        return self.env["ecommerce.product.listing"].browse(primary.ids)

    def action_amazon_load_details(self):
        """Load weight, main image and title from Amazon for these variants
        (the "Load details from Amazon" action). Variants without an ASIN
        are named in the notification; nothing else happens to them."""
        self.check_access("write")
        listings = self.ecommerce_listing_ids.filtered("account_id.active")
        without = self - listings.product_id
        if not listings:
            raise UserError(
                self.env._(
                    "No ASIN is known for %s: add the product's ASIN on its Amazon "
                    "tab first.",
                    ", ".join(without[:5].mapped("display_name")),
                )
            )
        action = listings.action_amazon_load()
        if without:
            action["params"]["message"] = (
                self.env._(
                    "Skipped, no ASIN: %s.", ", ".join(without.mapped("display_name"))
                )
                + "\n"
                + action["params"]["message"]
            )
        return action


class ProductTemplate(models.Model):
    _inherit = "product.template"

    ecommerce_listing_ids = fields.One2many(
        "ecommerce.product.listing", "product_tmpl_id", string="Amazon Listings"
    )

    def action_amazon_load_details(self):
        """ "Load details from Amazon" for every variant of these products."""
        return self.product_variant_ids.action_amazon_load_details()
