# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.4.0: carrier codes become records (ecommerce.carrier.code).

Up to 19.0.1.3.0 a carrier kept its Amazon code in a selection field
(``amazon_carrier_code``, 37 values) and its eBay code as free text
(``ebay_carrier_code``). They are now Many2one fields to the codes loaded
from data/ecommerce.carrier.code.csv (``amazon_carrier_code_id``,
``ebay_carrier_code_id``). This runs after that file was loaded: each old
value is linked to its record; a value the list does not have (a typed eBay
code) gets a record of its own, so that every carrier keeps sending what it
sent (EcommerceCarrierCode._link_legacy_codes). The old columns are still
there at this point; Odoo drops them at the end of the update, with the
fields they belonged to.
"""

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL
from odoo.tools.sql import column_exists

# old column, new field, platform
LEGACY_COLUMNS = (
    ("amazon_carrier_code", "amazon_carrier_code_id", "amazon"),
    ("ebay_carrier_code", "ebay_carrier_code_id", "ebay"),
)


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for column, field, platform in LEGACY_COLUMNS:
        if not column_exists(cr, "delivery_carrier", column):
            continue
        cr.execute(
            SQL(
                "SELECT id, %s FROM delivery_carrier"
                " WHERE %s IS NOT NULL AND %s <> '' AND %s IS NULL ORDER BY id",
                SQL.identifier(column),
                SQL.identifier(column),
                SQL.identifier(column),
                SQL.identifier(field),
            )
        )
        env["ecommerce.carrier.code"]._link_legacy_codes(field, platform, cr.fetchall())
