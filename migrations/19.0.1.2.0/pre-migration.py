# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.2.0: the write-back grid's indexes.

- The order reference's btree index becomes a trigram index (same name:
  Odoo only creates an index that does not exist, so the old one goes).
- The write-back state's own index gives way to the grid's composite one.
- The customer's name the grid shows, and the sort keys of its account and
  carrier columns, are new stored related fields: filled here in one SQL
  pass, so that Odoo does not recompute them record by record over every
  delivery.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists, create_column

# column, type, value
SORT_KEYS = (
    (
        "writeback_customer_name",
        "varchar",
        "(SELECT complete_name FROM res_partner WHERE id = p.partner_id)",
    ),
    (
        "writeback_sort_account_sequence",
        "int4",
        "(SELECT sequence FROM ecommerce_account WHERE id = p.ecommerce_account_id)",
    ),
    (
        "writeback_sort_account_name",
        "varchar",
        "(SELECT name FROM ecommerce_account WHERE id = p.ecommerce_account_id)",
    ),
    (
        "writeback_sort_carrier_sequence",
        "int4",
        "(SELECT sequence FROM delivery_carrier WHERE id = p.carrier_id)",
    ),
)


def migrate(cr, version):
    cr.execute("DROP INDEX IF EXISTS stock_picking__ecommerce_order_ref_index")
    cr.execute("DROP INDEX IF EXISTS stock_picking__writeback_state_index")
    new = [key for key in SORT_KEYS if not column_exists(cr, "stock_picking", key[0])]
    if not new:
        return
    for column, column_type, _value in new:
        create_column(cr, "stock_picking", column, column_type)
    cr.execute(
        SQL(
            "UPDATE stock_picking p SET %s"
            " WHERE p.partner_id IS NOT NULL OR p.ecommerce_account_id IS NOT NULL"
            " OR p.carrier_id IS NOT NULL",
            SQL(", ").join(
                SQL("%s = %s", SQL.identifier(column), SQL(value))
                for column, _type, value in new
            ),
        )
    )
