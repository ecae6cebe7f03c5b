# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import re

from odoo import api, fields, models
from odoo.exceptions import ValidationError

AMAZON_ORDER_RE = re.compile(r"^\d{3}-\d{7}-\d{7}$")


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
            if (
                order.ecommerce_account_id.platform == "amazon"
                and not AMAZON_ORDER_RE.match(ref)
            ):
                raise ValidationError(
                    self.env._(
                        "%s is not an Amazon order id: Amazon order ids look like "
                        "902-1106328-1059050 (3-7-7 digits).",
                        ref,
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

    ecommerce_item_ref = fields.Char(
        string="Marketplace Item",
        copy=False,
        help="Amazon OrderItemId or eBay OrderLineItemID (REST "
        "lineItemId) of this line.",
    )
