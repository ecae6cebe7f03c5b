# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.1.0: a sales order line's one "Marketplace Item" id becomes one
field per kind of id (Amazon OrderItemId, eBay Trading OrderLineItemID, eBay
REST lineItemId); the Amazon region follows the marketplace id."""

from odoo import SUPERUSER_ID, api
from odoo.tools.sql import column_exists


def migrate(cr, version):
    if column_exists(cr, "sale_order_line", "ecommerce_item_ref"):
        cr.execute(
            """
            UPDATE sale_order_line line
               SET amazon_order_item_id = CASE WHEN account.platform = 'amazon'
                        THEN line.ecommerce_item_ref END,
                   ebay_order_line_item_id = CASE WHEN account.platform = 'ebay'
                        AND line.ecommerce_item_ref ~ '^[0-9]+-[0-9]+$'
                        THEN line.ecommerce_item_ref END,
                   ebay_line_item_id = CASE WHEN account.platform = 'ebay'
                        AND line.ecommerce_item_ref !~ '^[0-9]+-[0-9]+$'
                        THEN line.ecommerce_item_ref END
              FROM sale_order so
              JOIN ecommerce_account account ON account.id = so.ecommerce_account_id
             WHERE so.id = line.order_id
               AND line.ecommerce_item_ref IS NOT NULL
            """
        )
        cr.execute("ALTER TABLE sale_order_line DROP COLUMN ecommerce_item_ref")
    env = api.Environment(cr, SUPERUSER_ID, {})
    accounts = env["ecommerce.account"].with_context(active_test=False).search([])
    env.add_to_compute(accounts._fields["amazon_region"], accounts)
    env.flush_all()
