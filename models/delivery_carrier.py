# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..marketplaces import platforms
from ..marketplaces.policy import State

# Amazon's CarrierCode values (Seller Central "Shipping Confirmation" template,
# carrier-code column, which maps to confirmShipment's carrierCode; see
# shared notes amazon-sp-api.md §5). "Other" sends carrierName as well.
AMAZON_CARRIER_CODES = [
    "Blue Package", "USPS", "UPS", "UPSMI", "FedEx", "DHL", "DHL Global Mail",
    "Fastway", "UPS Mail Innovations", "Lasership", "Royal Mail", "FedEx SmartPost",
    "OSM", "OnTrac", "Streamlite", "Newgistics", "Canada Post", "City Link", "GLS",
    "GO!", "Hermes Logistik Gruppe", "Parcelforce", "TNT", "Target", "SagawaExpress",
    "NipponExpress", "YamatoTransport", "Ninjavan", "Qxpress", "Singapore Post", "4PX",
    "Yanwen", "Aramex", "China Post", "DHL eCommerce", "SF Express", "Other",
]  # fmt: skip

# The carrier mapping: write-back administrators only (README, Access rights),
# although the fields sit on the standard carrier, which every Inventory
# administrator may write.
MAPPING_FIELDS = frozenset(
    {"amazon_carrier_code", "amazon_carrier_name", "ebay_carrier_code",
     "ecommerce_service_name"}
)  # fmt: skip
MAPPING_GROUP = "stock_ecommerce_writeback.group_writeback_manager"


class DeliveryCarrier(models.Model):
    _inherit = "delivery.carrier"

    amazon_carrier_code = fields.Selection(
        [(code, code) for code in AMAZON_CARRIER_CODES],
        help="Amazon's CarrierCode for this carrier. With 'Other', the carrier "
        "name below is sent as carrierName.",
    )
    amazon_carrier_name = fields.Char(
        compute="_compute_marketplace_names",
        store=True,
        readonly=False,
        help="Sent as carrierName when the carrier code is 'Other'.",
    )
    ebay_carrier_code = fields.Char(
        string="eBay Carrier Code",
        help="eBay's ShippingCarrierUsed / shippingCarrierCode value for this "
        "carrier (site-specific list from GeteBayDetails ShippingCarrierDetails), "
        "e.g. USPS, UPS, FedEx, DHL, RoyalMail.",
    )
    ecommerce_service_name = fields.Char(
        string="Marketplace Service Name",
        compute="_compute_marketplace_names",
        store=True,
        readonly=False,
        help="Shipping method / service sent with the carrier (Amazon "
        "shippingMethod). Defaults to the carrier's name.",
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
        return self[platforms.get(platform).carrier_code_field]

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
