# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..marketplaces import platforms
from ..marketplaces.policy import State
from . import ecommerce_carrier_code as carrier_code

# The carrier mapping: write-back administrators only (README, Access rights),
# although the fields sit on the standard carrier, which every Inventory
# administrator may write.
MAPPING_FIELDS = frozenset(
    {"amazon_carrier_code_id", "amazon_carrier_name", "ebay_carrier_code_id",
     "ecommerce_service_name"}
)  # fmt: skip
MAPPING_GROUP = "stock_ecommerce_writeback.group_writeback_manager"


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    # The marketplaces' carrier codes (ecommerce.carrier.code, loaded from
    # data/ecommerce.carrier.code.csv; several hundred for Amazon). The
    # clients receive the code string (_marketplace_carrier_code).
    amazon_carrier_code_id = fields.Many2one(
        "ecommerce.carrier.code",
        string="Amazon Carrier Code",
        domain=[("platform", "=", "amazon")],
        ondelete="restrict",
        index="btree_not_null",
        help="Amazon's CarrierCode for this carrier (search by code or name, "
        "e.g. DPD, Deutsche Post, Royal Mail). With 'Other', the carrier name "
        "below is sent as carrierName.",
    )
    amazon_carrier_other = fields.Boolean(compute="_compute_amazon_carrier_other")
    amazon_carrier_name = fields.Char(
        compute="_compute_marketplace_names",
        store=True,
        readonly=False,
        help="Sent as carrierName when the carrier code is 'Other'.",
    )
    ebay_carrier_code_id = fields.Many2one(
        "ecommerce.carrier.code",
        string="eBay Carrier Code",
        domain=[("platform", "=", "ebay")],
        ondelete="restrict",
        index="btree_not_null",
        help="eBay's ShippingCarrierUsed / shippingCarrierCode value for this "
        "carrier (ShippingCarrierCodeType; each site accepts a subset, see "
        "GeteBayDetails ShippingCarrierDetails), e.g. USPS, UPS, FedEx, DHL, "
        "DeutschePost, RoyalMail.",
    )
    ecommerce_service_name = fields.Char(
        string="Marketplace Service Name",
        compute="_compute_marketplace_names",
        store=True,
        readonly=False,
        help="Shipping method / service sent with the carrier (Amazon "
        "shippingMethod). Defaults to the carrier's name.",
    )

    @api.depends("amazon_carrier_code_id.code")
    def _compute_amazon_carrier_other(self):
        for carrier in self:
            carrier.amazon_carrier_other = (
                carrier.amazon_carrier_code_id.code == carrier_code.OTHER
            )

    @api.constrains("amazon_carrier_code_id", "ebay_carrier_code_id")
    def _check_carrier_code_platform(self):
        for carrier in self:
            for platform in platforms.PLATFORMS.values():
                code = carrier[platform.carrier_code_field].sudo()
                if code and code.platform != platform.key:
                    raise ValidationError(
                        self.env._(
                            "%(code)s is not a carrier code of %(platform)s.",
                            code=code.display_name,
                            platform=platform.label,
                        )
                    )

    @api.depends("name")
    def _compute_marketplace_names(self):
        for carrier in self:
            if not carrier.amazon_carrier_name:
                carrier.amazon_carrier_name = carrier.name
            if not carrier.ecommerce_service_name:
                carrier.ecommerce_service_name = carrier.name

    def _marketplace_carrier_code(self, platform):
        """This carrier's code on ``platform`` (a registry key)."""
        self.ensure_one()
        # sudo: whoever ships reads the code, not only the addon's users.
        return self[platforms.get(platform).carrier_code_field].sudo().code or False

    def _check_mapping_rights(self, vals):
        if self.env.su or not MAPPING_FIELDS & set(vals):
            return
        if not self.env.user.has_group(MAPPING_GROUP):
            raise AccessError(
                self.env._(
                    "Only write-back administrators (eCommerce Write-back / "
                    "Administrator) change the marketplace carrier mapping."
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_mapping_rights({k: v for k, v in vals.items() if v})
        return super().create(vals_list)

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if not self.env.su and not self.env.user.has_group(MAPPING_GROUP):
            # A duplicate made by another user starts without a mapping.
            for vals in vals_list:
                for name in MAPPING_FIELDS - set(default or ()):
                    vals.pop(name, None)
        return vals_list

    def write(self, vals):
        self._check_mapping_rights(vals)
        res = super().write(vals)
        codes = {p.carrier_code_field for p in platforms.PLATFORMS.values()}
        if codes & set(vals):
            # Shipments waiting for a carrier code can go now.
            waiting = self.env["stock.picking"].search(
                [
                    ("carrier_id", "in", self.ids),
                    ("writeback_state", "=", State.PENDING.value),
                ]
            )
            waiting._writeback_queue(keep_attempts=True)
        return res
