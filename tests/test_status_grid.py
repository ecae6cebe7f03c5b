# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The write-back grid at scale (issue 9): what its indexes and stored
columns must not change for a user. Sorting a column orders the rows as
Odoo always did, and follows renames; searches find part of a tracking
number or order reference; the shipped quantity follows the delivery.
Timings are in scripts/benchmark_grid.py, not here."""

from unittest.mock import patch

from odoo.tests import new_test_user

from .common import WritebackCase

GRID_DOMAIN = [("writeback_state", "!=", False)]
GRID_ORDER = "writeback_last_attempt desc, id desc"


class TestGrid(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(cls.env, "grid_user", groups="stock.group_stock_user")
        cls.other_carrier = cls.carrier.copy({"name": "DHL Express"})

    def _delivery(self, account, ref, customer, tracking, carrier=None):
        order = self.make_order(account, ref, [(self.product_a, 1, f"{ref}-1")])
        picking = order.picking_ids
        picking.partner_id = customer
        self.ship(picking, tracking)
        if carrier:
            picking.carrier_id = carrier
        return picking

    def _grid(self, domain=(), order=GRID_ORDER):
        """The rows of the grid's first page, as the web client gets them
        for the warehouse user."""
        result = (
            self.env["stock.picking"]
            .with_user(self.user)
            .with_context(writeback_grid=True)
            .web_search_read(
                [*GRID_DOMAIN, *domain],
                {"writeback_customer_name": {}, "name": {}},
                limit=80,
                order=order,
                count_limit=10001,
            )
        )
        return self.env["stock.picking"].browse(r["id"] for r in result["records"])

    def _sorted_by_odoo(self, pickings, order):
        """The same rows in Odoo's own order (a join on the column's model)."""
        return self.env["stock.picking"].search(
            [("id", "in", pickings.ids)], order=order
        )

    def test_columns_sort_as_odoo_sorts_them_and_follow_renames(self):
        """The customer column is the name stored on the delivery; account
        and carrier sort by their own order (sequence, then name or id)."""
        alpha = self.env["res.partner"].create({"name": "Alpha Inc"})
        bravo = self.env["res.partner"].create({"name": "Bravo Ltd"})
        charlie = self.env["res.partner"].create({"name": "Charlie Co"})
        pickings = (
            self._delivery(self.amazon, "114-7200001-0000001", charlie, "1Z7200001")
            | self._delivery(
                self.ebay, "12-07200-00002", alpha, "1Z7200002", self.other_carrier
            )
            | self._delivery(self.amazon, "114-7200003-0000003", bravo, "1Z7200003")
        )
        # (recordsets compare as sets: the order is in their ids)
        self.assertEqual(
            self._grid().ids, self._sorted_by_odoo(pickings, GRID_ORDER).ids
        )

        def names(order):
            return self._grid(order=order).mapped("writeback_customer_name")

        def check_every_column():
            for column in ("ecommerce_account_id", "carrier_id"):
                for direction in ("asc", "desc"):
                    order = f"{column} {direction}, {GRID_ORDER}"
                    self.assertEqual(
                        self._grid(order=order).ids,
                        self._sorted_by_odoo(pickings, order).ids,
                        order,
                    )

        check_every_column()
        self.assertEqual(
            names(f"writeback_customer_name asc, {GRID_ORDER}"),
            ["Alpha Inc", "Bravo Ltd", "Charlie Co"],
        )
        self.assertEqual(
            names(f"writeback_customer_name desc, {GRID_ORDER}"),
            ["Charlie Co", "Bravo Ltd", "Alpha Inc"],
        )
        # a renamed customer, a resequenced account and carrier move along
        alpha.name = "Zulu Inc"
        self.amazon.sequence, self.ebay.sequence = 20, 10
        self.carrier.sequence, self.other_carrier.sequence = 20, 10
        check_every_column()
        self.assertEqual(
            names(f"writeback_customer_name asc, {GRID_ORDER}"),
            ["Bravo Ltd", "Charlie Co", "Zulu Inc"],
        )
        self.assertEqual(
            names(f"ecommerce_account_id asc, {GRID_ORDER}")[0], "Zulu Inc"
        )
        self.assertEqual(names(f"carrier_id desc, {GRID_ORDER}")[-1], "Zulu Inc")
        self.amazon.sequence = 5
        check_every_column()
        self.assertEqual(
            names(f"ecommerce_account_id asc, {GRID_ORDER}")[-1], "Zulu Inc"
        )

    def test_search_finds_part_of_a_tracking_number_or_order_reference(self):
        ups = self._delivery(
            self.amazon, "114-7300001-0000001", self.customer, "1Z999AA10123456784"
        )
        usps = self._delivery(
            self.ebay, "12-07300-00002", self.customer, "9400111899223344556677"
        )
        self.assertEqual(
            self._grid([("carrier_tracking_ref", "ilike", "0123456")]), ups
        )
        self.assertEqual(self._grid([("carrier_tracking_ref", "ilike", "1z999")]), ups)
        self.assertEqual(
            self._grid([("carrier_tracking_ref", "ilike", "9400111899223344556677")]),
            usps,
        )
        self.assertEqual(
            self._grid([("ecommerce_order_ref", "ilike", "07300-0")]), usps
        )
        self.assertEqual(
            self._grid([("ecommerce_order_ref", "ilike", "114-7300001-0000001")]), ups
        )
        self.assertFalse(self._grid([("ecommerce_order_ref", "ilike", "7300009")]))

    def test_search_finds_the_same_rows_by_either_index(self):
        """Whether the grid's search takes the trigram index or the covering
        one (the share of rows the trigrams match, estimated from
        PostgreSQL's statistics), and compares with LIKE or ILIKE, it finds
        what Odoo's ilike finds: any case, wildcards, other fields."""
        ups = self._delivery(
            self.amazon, "114-7700001-0000001", self.customer, "1Z999AA100000000784"
        )
        usps = self._delivery(
            self.ebay, "12-07700-00002", self.customer, "9400111800000000556677"
        )
        searches = [
            ("carrier_tracking_ref", "00000000"),
            ("carrier_tracking_ref", "1z999aa1"),
            ("carrier_tracking_ref", "1Z999AA1"),
            ("carrier_tracking_ref", "0000000078"),
            ("carrier_tracking_ref", "00%784"),
            ("carrier_tracking_ref", "9400_118"),
            ("carrier_tracking_ref", "000000009"),
            ("ecommerce_order_ref", "07700-0"),
            ("ecommerce_order_ref", "114-77"),
            ("ecommerce_order_ref", "0000"),
        ]
        expected = {
            search: self.env["stock.picking"].search(
                [("id", "in", (ups | usps).ids), (search[0], "ilike", search[1])]
            )
            for search in searches
        }
        self.assertEqual(expected["carrier_tracking_ref", "00000000"], ups | usps)
        self.assertEqual(expected["carrier_tracking_ref", "1z999aa1"], ups)
        self.assertFalse(expected["carrier_tracking_ref", "000000009"])
        target = "odoo.addons.stock_ecommerce_writeback.models.grid_search"
        for share in (None, 0.0, 1.0):
            with patch(f"{target}.trigram_share", return_value=share):
                for (field_name, text), found in expected.items():
                    self.env.cr.cache.clear()
                    self.assertEqual(
                        self._grid([(field_name, "ilike", text)]),
                        found,
                        f"{field_name} ilike {text!r}, share {share}",
                    )
                    self.assertEqual(
                        self._grid([(field_name, "not ilike", text)]) & (ups | usps),
                        (ups | usps) - found,
                    )

    def test_shipped_quantity_follows_what_the_delivery_ships(self):
        order = self.make_order(
            self.amazon, "114-7400001-0000001", [(self.product_a, 3, "74000001")]
        )
        first = self.ship(
            order.picking_ids, "1Z7400001", quantities={self.product_a: 2}
        )
        self.assertEqual(first.writeback_shipped_qty, 2)
        backorder = order.picking_ids - first
        backorder.move_ids.quantity = 1
        self.assertEqual(backorder.writeback_shipped_qty, 1)
        self.ship(backorder, "1Z7400002")
        self.assertEqual(backorder.writeback_shipped_qty, 1)
        self.assertEqual(first.writeback_shipped_qty, 2)
        self.assertEqual(
            self._grid([("sale_id", "=", order.id)]).mapped("writeback_shipped_qty"),
            [1, 2],
        )

    def test_last_error_sorts_as_odoo_sorts_it(self):
        """The grid sorts the last error by its first characters (an index
        serves that): the same order as the whole text, NULLs included."""
        pickings = self.env["stock.picking"]
        for n, error in enumerate(("Map the carrier first.", False, "Invalid")):
            picking = self._delivery(
                self.amazon, f"114-7500001-000000{n}", self.customer, f"1Z75{n}"
            )
            picking.sudo().writeback_error = error
            pickings |= picking
        for direction in ("asc", "desc"):
            order = f"writeback_error {direction}, {GRID_ORDER}"
            self.assertEqual(
                self._grid(order=order).ids,
                self._sorted_by_odoo(pickings, order).ids,
                order,
            )

    def test_the_longest_tracking_reference_fits_the_grid_indexes(self):
        """600 characters of 4 bytes each: every index of the grid still
        takes the row (a btree row has a size limit)."""
        picking = self._delivery(
            self.amazon, "114-7600001-0000001", self.customer, "1Z7600001"
        )
        picking.carrier_tracking_ref = "\U0001f4e6" * 600
        self.env.flush_all()
        self.assertEqual(len(picking.carrier_tracking_ref), 600)
