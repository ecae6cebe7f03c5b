# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain

from ..marketplaces import platforms
from ..marketplaces.policy import State

# The fields holding a line's id in one marketplace API (one of them is the
# id a shipment sends, see ecommerce.writeback.binder).
MARKETPLACE_LINE_ID_FIELDS = platforms.LINE_ID_FIELDS
# A change of any of these may unblock a delivery waiting for a line id.
LINE_ID_FIELDS = MARKETPLACE_LINE_ID_FIELDS + (
    "ebay_legacy_item_id",
    "ebay_legacy_variation_id",
    "ecommerce_item_ref",
)


class SaleOrder(models.Model):
    _inherit = "sale.order"

    ecommerce_account_id = fields.Many2one(
        "ecommerce.account",
        string="Marketplace Account",
        index="btree_not_null",
        ondelete="restrict",  # archive an account instead: nothing is lost
        copy=False,
        tracking=True,
        check_company=True,
    )
    ecommerce_platform = fields.Selection(related="ecommerce_account_id.platform")
    ecommerce_order_ref = fields.Char(
        string="Marketplace Order",
        copy=False,
        index="btree_not_null",
        tracking=True,
        help="Amazon order id (3-7-7, e.g. 902-1106328-1059050) or eBay OrderID.",
    )
    ecommerce_marketplace_id = fields.Char(
        string="Order Marketplace",
        copy=False,
        index="btree_not_null",
        tracking=True,
        help="Amazon marketplace id of the store the order was placed on, e.g. "
        "A13V1IB3VIYZZH for an Amazon.fr order of a seller whose account is on "
        "Amazon.de (pan-European selling). The shipment confirmation names it; "
        "empty: the account's marketplace. Filled from Amazon's order "
        "(salesChannel) when it is read back.",
    )

    def write(self, vals):
        res = super().write(vals)
        if {"ecommerce_account_id", "ecommerce_order_ref"} & set(vals):
            # Deliveries done before the order got its marketplace account or
            # order number are written back now.
            self.picking_ids.filtered(
                lambda p: not p.writeback_state
            )._writeback_queue()
        return res

    def _writeback_note_marketplace(self, order_view):
        """Remember the marketplace the marketplace's own view of the order
        names (``order_view``: a :class:`~..marketplaces.base.OrderView` or
        its ``as_dict()``; Amazon getOrder's ``salesChannel.marketplaceId``)
        on those of these orders that have none yet; a value already there
        is kept. Returns the orders filled."""
        if isinstance(order_view, dict):
            marketplace = order_view.get("marketplace_id")
        else:
            marketplace = getattr(order_view, "marketplace_id", "")
        marketplace = (
            (marketplace or "").strip() if isinstance(marketplace, str) else ""
        )
        if not marketplace:
            return self.browse()
        missing = self.filtered(
            lambda o: o.ecommerce_account_id and not o.ecommerce_marketplace_id
        )
        if missing:
            missing.sudo().write({"ecommerce_marketplace_id": marketplace})
        return missing

    def _writeback_requeue_blocked(self):
        """Line ids changed: the deliveries of these orders that wait for
        something to fix are checked again at once."""
        blocked = self.picking_ids.filtered(
            lambda p: (
                p.writeback_state == State.PENDING and not p.writeback_next_attempt
            )
        )
        if blocked:
            blocked._writeback_queue(keep_attempts=True)

    @api.constrains("ecommerce_account_id", "ecommerce_marketplace_id")
    def _check_ecommerce_marketplace_id(self):
        """An Amazon order's marketplace is one Amazon documents, of the
        account's region (the only one its endpoint serves)."""
        for order in self.filtered("ecommerce_marketplace_id"):
            account = order.ecommerce_account_id
            if not account or account.platform != "amazon":
                continue
            marketplace = order.ecommerce_marketplace_id.strip()
            region = platforms.region_of(marketplace)
            if region is None or region != account.amazon_region:
                raise ValidationError(
                    self.env._(
                        "%(id)s is not an Amazon marketplace of the region of "
                        "account %(account)s: use the id of the store the order "
                        "was placed on, e.g. A13V1IB3VIYZZH for amazon.fr.",
                        id=marketplace,
                        account=account.display_name,
                    )
                )

    @api.constrains("ecommerce_account_id", "ecommerce_order_ref")
    def _check_ecommerce_order_ref(self):
        for order in self.filtered("ecommerce_account_id"):
            ref = order.ecommerce_order_ref
            if not ref:
                raise ValidationError(
                    self.env._(
                        "Order %(order)s belongs to marketplace account %(account)s: "
                        "enter its marketplace order number too.",
                        order=order.name,
                        account=order.ecommerce_account_id.display_name,
                    )
                )
            if ref != ref.strip() or " " in ref:
                raise ValidationError(
                    self.env._("The marketplace order number %r contains spaces.", ref)
                )
            platform = order.ecommerce_account_id._platform()
            example = platform.order_ref_problem(ref)
            if example:
                raise ValidationError(
                    self.env._(
                        "%(ref)s is not an %(platform)s order number: they look "
                        "like %(example)s.",
                        ref=ref,
                        platform=platform.label,
                        example=example,
                    )
                )
            twin = self.search_count(
                [
                    ("id", "!=", order.id),
                    ("ecommerce_account_id", "=", order.ecommerce_account_id.id),
                    ("ecommerce_order_ref", "=", ref),
                    ("state", "!=", "cancel"),
                ],
                limit=1,
            )
            if twin:
                raise ValidationError(
                    self.env._(
                        "Marketplace order %(ref)s of %(account)s is already on "
                        "another "
                        "sales order.",
                        ref=ref,
                        account=order.ecommerce_account_id.display_name,
                    )
                )


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    # One field per marketplace identifier: eBay's Trading and REST APIs name
    # the same line differently, and an account may switch between them.
    amazon_order_item_id = fields.Char(
        string="Amazon Order Item ID",
        copy=False,
        help="Amazon OrderItemId of this line (digits).",
    )
    ebay_order_line_item_id = fields.Char(
        string="eBay OrderLineItemID",
        copy=False,
        help="Trading API id of this line: ItemID-TransactionID, e.g. "
        "110551234567-0 (GetOrders Transaction/OrderLineItemID).",
    )
    ebay_line_item_id = fields.Char(
        string="eBay lineItemId",
        copy=False,
        help="Sell Fulfillment (REST) id of this line (getOrder lineItems.lineItemId).",
    )
    ebay_legacy_item_id = fields.Char(
        string="eBay Item ID",
        copy=False,
        help="The listing's ItemID (REST legacyItemId): used to match this "
        "line when one of its eBay ids must be looked up.",
    )
    ebay_legacy_variation_id = fields.Char(
        string="eBay Variation ID",
        copy=False,
        help="REST legacyVariationId of this line, when the listing has variations.",
    )
    ebay_line_resolution_error = fields.Char(
        string="eBay Line Lookup Problem",
        copy=False,
        readonly=True,
        help="Why the eBay id this account's API needs could not be found on "
        "eBay's order. Cleared when an id of the line is changed.",
    )
    ecommerce_item_ref = fields.Char(
        string="Marketplace Item",
        compute="_compute_ecommerce_item_ref",
        inverse="_inverse_ecommerce_item_ref",
        search="_search_ecommerce_item_ref",
        help="The id of this line in the API the order's marketplace account "
        "writes back with: Amazon OrderItemId, eBay OrderLineItemID (Trading) "
        "or lineItemId (Sell Fulfillment). Entering an id here stores it in "
        "the field of its kind.",
    )

    @api.depends(
        "order_id.ecommerce_account_id.platform",
        "order_id.ecommerce_account_id.ebay_api",
        "amazon_order_item_id",
        "ebay_order_line_item_id",
        "ebay_line_item_id",
    )
    def _compute_ecommerce_item_ref(self):
        for line in self:
            fname = line._ecommerce_item_field()
            line.ecommerce_item_ref = (line[fname] or False) if fname else False

    def _inverse_ecommerce_item_ref(self):
        for line in self:
            value = (line.ecommerce_item_ref or "").strip() or False
            fname = line._ecommerce_item_field(value)
            if fname:
                line[fname] = value
            elif value:
                raise ValidationError(
                    self.env._(
                        "Order %s has no marketplace account: set it before the "
                        "marketplace ids of its lines.",
                        line.order_id.display_name,
                    )
                )

    def _search_ecommerce_item_ref(self, operator, value):
        return Domain.OR(
            [[(fname, operator, value)] for fname in MARKETPLACE_LINE_ID_FIELDS]
        )

    def _ecommerce_item_field(self, value=None):
        """The field holding this line's id for its account's write-back API
        (with ``value``: the field an id of that shape belongs in); None
        without a marketplace account. See the binder."""
        self.ensure_one()
        return self.env["ecommerce.writeback.binder"]._item_field(self, value)

    def write(self, vals):
        ids_changed = set(vals) & set(LINE_ID_FIELDS)
        if ids_changed and "ebay_line_resolution_error" not in vals:
            vals = dict(vals, ebay_line_resolution_error=False)
        res = super().write(vals)
        if ids_changed and not self.env.context.get("writeback_engine"):
            self.order_id._writeback_requeue_blocked()
        return res
