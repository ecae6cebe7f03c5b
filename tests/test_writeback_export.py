# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Export of the write-back grid: same rows and order as the screen, the
three file formats byte for byte, formula cells neutralised (identifiers of
the marketplace files never altered: left out instead), access."""

import csv
import datetime
import io

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from ..marketplaces import base
from ..wizards.writeback_export import GRID_ORDER
from .common import WritebackCase

AMAZON_1 = "111-0000001-0000001"
AMAZON_2 = "111-0000002-0000002"
EBAY_1 = "12-00001-00001"
# The grid's action domain, as the list sends it with its search filters.
GRID_DOMAIN = [("writeback_state", "!=", False)]
# What the list sends for its default_order (orderByToString).
SCREEN_DEFAULT_ORDER = "writeback_last_attempt DESC, id DESC"
DONE = datetime.datetime(2026, 2, 11, 1, 30)  # 2026-02-10 20:30 in New York

# Without the screen's columns, the export has every column of the grid's
# view, in its order, with the headings it shows.
GRID_HEADER = (
    "Marketplace Order,Write-back,Marketplace Account,Customer,Carrier,Service,"
    "Tracking Number,Sent As,Shipped Qty,Shipment,Ship Date,Attempts,"
    "Last Attempt,Next Attempt,Reason\r\n"
)
AMAZON_HEADER = (
    "order-id\torder-item-id\tquantity\tship-date\tcarrier-code\tcarrier-name\t"
    "tracking-number\tship-method\r\n"
)
EBAY_HEADER = (
    "Shipping Status,Order Number,Item Number,Item Title,Custom Label,"
    "Transaction ID,Shipping Carrier Used,Tracking Number\r\n"
)


def _at(hour, minute=0):
    return datetime.datetime(2026, 2, 11, hour, minute)


def _export_context(**context):
    return {"active_model": "stock.picking", **context}


@tagged("post_install", "-at_install")
class TestWritebackExport(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = new_test_user(
            cls.env,
            "wbx_accountant",
            groups="stock_ecommerce_writeback.group_writeback_accountant",
            tz="America/New_York",
        )
        cls.warehouse_user = new_test_user(
            cls.env, "wbx_warehouse", groups="stock.group_stock_user"
        )
        cls.evil_buyer = cls.env["res.partner"].create({"name": "=Evil Buyer"})

    def setUp(self):
        super().setUp()
        self.amazon_1 = self._delivery(
            self.amazon,
            AMAZON_1,
            [
                (self.product_a, 2, "11111111111111"),
                (self.product_b, 1, "22222222222222"),
            ],
            "1Z0001",
            writeback_state="failed",
            writeback_attempt_count=5,
            writeback_last_attempt=_at(3),
            writeback_next_attempt=False,
            writeback_error='Amazon: "InvalidInput"\nOrder on hold',
        )
        self.ebay_1 = self._delivery(
            self.ebay,
            EBAY_1,
            [(self.product_a, 1, "110000000001-2000000001")],
            "9400-1000-01",
            writeback_state="success",
            writeback_attempt_count=1,
            writeback_last_attempt=_at(2),
            writeback_next_attempt=False,
            writeback_error=False,
        )
        self.amazon_2 = self._delivery(
            self.amazon,
            AMAZON_2,
            [(self.product_b, 1, "33333333333333")],
            "+1Z0002",
            writeback_state="pending",
            writeback_attempt_count=2,
            writeback_last_attempt=_at(4),
            writeback_next_attempt=_at(5),
            writeback_error=False,
        )
        self.amazon_2.partner_id = self.evil_buyer
        self.ours = self.amazon_1 | self.ebay_1 | self.amazon_2
        # The grid filtered on our three orders (e.g. searched by order).
        self.domain = GRID_DOMAIN + [
            ("ecommerce_order_ref", "in", [AMAZON_1, AMAZON_2, EBAY_1])
        ]

    def _delivery(self, account, order_ref, lines, tracking, **writeback):
        order = self.make_order(account, order_ref, lines)
        picking = self.ship(order.picking_ids, tracking)
        picking.with_context(writeback_engine=True).write(
            {"date_done": DONE, **writeback}
        )
        return picking

    def _wizard(self, export_format="grid_csv", user=None, **context):
        Wizard = self.env["ecommerce.writeback.export"].with_user(
            user or self.accountant
        )
        return Wizard.with_context(**_export_context(**context)).create(
            {"export_format": export_format}
        )

    def _screen(self, order):
        """The rows the grid shows, as the web client loads them."""
        result = (
            self.env["stock.picking"]
            .with_user(self.accountant)
            .web_search_read(
                self.domain, {"ecommerce_order_ref": {}}, order=order, limit=80
            )
        )
        return self.env["stock.picking"].browse([r["id"] for r in result["records"]])

    def _file(self, wizard):
        content, name, mimetype = wizard._export_file()
        return content, name, mimetype

    # ------------------------------------------------------------------
    # Which rows, in which order
    # ------------------------------------------------------------------
    def test_export_lists_the_screen_rows_in_the_default_order(self):
        wizard = self._wizard(
            export_domain=self.domain, export_order=SCREEN_DEFAULT_ORDER
        )
        expected = self.amazon_2 | self.amazon_1 | self.ebay_1
        self.assertEqual(self._screen(SCREEN_DEFAULT_ORDER).ids, expected.ids)
        self.assertEqual(wizard._ordered_pickings().ids, expected.ids)
        self.assertEqual(wizard.picking_count, 3)

    def test_export_follows_the_sort_the_user_chose(self):
        for order, expected in [
            ("writeback_last_attempt ASC", self.ebay_1 | self.amazon_1 | self.amazon_2),
            (
                "writeback_attempt_count DESC",
                self.amazon_1 | self.amazon_2 | self.ebay_1,
            ),
            ("ecommerce_order_ref DESC", self.ebay_1 | self.amazon_2 | self.amazon_1),
        ]:
            with self.subTest(order=order):
                wizard = self._wizard(export_domain=self.domain, export_order=order)
                self.assertEqual(self._screen(order).ids, expected.ids)
                self.assertEqual(wizard._ordered_pickings().ids, expected.ids)

    def test_export_takes_only_the_selected_rows_in_screen_order(self):
        selected = [self.ebay_1.id, self.amazon_2.id]
        wizard = self._wizard(
            export_domain=self.domain,
            export_order=SCREEN_DEFAULT_ORDER,
            export_ids=selected,
        )
        self.assertEqual(wizard._ordered_pickings().ids, selected)
        content = self._file(wizard)[0].decode("utf-8-sig")
        self.assertEqual(
            [line.split(",")[0] for line in content.splitlines()[1:]],
            [EBAY_1, AMAZON_2],
        )

    def test_sort_string_is_validated(self):
        Wizard = self.env["ecommerce.writeback.export"]
        self.assertEqual(Wizard._export_order(None), GRID_ORDER)
        self.assertEqual(Wizard._export_order(""), self.env["stock.picking"]._order)
        self.assertEqual(
            Wizard._export_order("writeback_error_count DESC, partner_id"),
            "writeback_error_count desc, partner_id asc, id desc",
        )
        self.assertEqual(Wizard._export_order("id asc"), "id asc")
        # grouped: the group-by fields first, in the sort's direction if any
        self.assertEqual(
            Wizard._export_order(
                "writeback_last_attempt DESC, ecommerce_account_id DESC",
                ["ecommerce_account_id", "date_done:month"],
            ),
            "ecommerce_account_id desc, date_done asc, "
            "writeback_last_attempt desc, id desc",
        )
        self.assertEqual(
            Wizard._export_order("", ["writeback_state"]),
            "writeback_state asc, " + self.env["stock.picking"]._order,
        )
        self.assertEqual(Wizard._export_order("name", []), "name asc, id desc")
        for unsafe in [
            ["ecommerce_platform"],  # not stored
            ["partner_id:month"],  # granularity of a non-date
            ["date_done:day_of_week"],  # groups not in date order
            ["date_done:month; DROP TABLE stock_picking"],
            ["name DESC"],
            [["name"]],
            "name",
        ]:
            with self.subTest(group_by=unsafe):
                self.assertEqual(Wizard._export_order("name", unsafe), GRID_ORDER)
        for unsafe in [
            "id; DROP TABLE stock_picking",
            "name asc, (SELECT 1)",
            "name asc nulls first",
            "ecommerce_platform asc",  # not stored
            "writeback_call_ids",  # one2many
            "no_such_field desc",
            ["name"],
        ]:
            with self.subTest(order=unsafe):
                self.assertEqual(Wizard._export_order(unsafe), GRID_ORDER)
        wizard = self._wizard(export_domain=self.domain, export_order="1=1 --")
        self.assertEqual(wizard._ordered_pickings().ids, self._screen(GRID_ORDER).ids)

    def test_grouped_grid_exports_group_by_group(self):
        """Grouped by account, sorted by last attempt: the accounts in the
        order the grid lists its groups, then each group's rows by last
        attempt."""
        order = "writeback_last_attempt ASC"
        group_by = ["ecommerce_account_id"]
        Picking = self.env["stock.picking"].with_user(self.accountant)
        groups = Picking.web_read_group(
            self.domain, group_by, order=order, unfold_read_default_limit=0
        )["groups"]
        accounts = [group["ecommerce_account_id"][0] for group in groups]
        self.assertEqual(len(accounts), 2)
        expected = []
        for account_id in accounts:
            expected += Picking.search(
                self.domain + [("ecommerce_account_id", "=", account_id)],
                order=order,
            ).ids
        # not what the same sort gives ungrouped
        self.assertNotEqual(expected, self._screen(order).ids)
        wizard = self._wizard(
            export_domain=self.domain, export_order=order, export_group_by=group_by
        )
        self.assertEqual(wizard._ordered_pickings().ids, expected)
        content = self._file(wizard)[0].decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(content, newline="")))[1:]
        self.assertEqual(
            [row[0] for row in rows],
            Picking.browse(expected).mapped("ecommerce_order_ref"),
        )

    # ------------------------------------------------------------------
    # The three formats
    # ------------------------------------------------------------------
    def test_grid_csv_bytes(self):
        wizard = self._wizard(
            export_domain=self.domain, export_order=SCREEN_DEFAULT_ORDER
        )
        self.assertFalse(wizard.export_warning)
        self.assertEqual(wizard.export_count, 3)
        content, name, mimetype = self._file(wizard)
        self.assertRegex(name, r"^marketplace-writebacks-\d{8}-\d{6}\.csv$")
        self.assertEqual(mimetype, "text/csv")
        expected = (
            "\ufeff"
            + GRID_HEADER
            + f"{AMAZON_2},Pending,Amazon US (sandbox),'=Evil Buyer,UPS Ground,"
            f"UPS Ground,'+1Z0002,,1,{self.amazon_2.name},2026-02-10 20:30:00,2,"
            "2026-02-10 23:00:00,2026-02-11 00:00:00,\r\n"
            f"{AMAZON_1},Failed,Amazon US (sandbox),Marketplace Buyer,UPS Ground,"
            f"UPS Ground,1Z0001,,3,{self.amazon_1.name},2026-02-10 20:30:00,5,"
            '2026-02-10 22:00:00,,"Amazon: ""InvalidInput""\nOrder on hold"\r\n'
            f"{EBAY_1},Success,eBay US (sandbox),Marketplace Buyer,UPS Ground,"
            f"UPS Ground,9400-1000-01,,1,{self.ebay_1.name},2026-02-10 20:30:00,1,"
            "2026-02-10 21:00:00,,\r\n"
        ).encode()
        self.assertEqual(content, expected)

    def test_amazon_flat_file_bytes(self):
        wizard = self._wizard(
            "amazon_flat", export_domain=self.domain, export_order=SCREEN_DEFAULT_ORDER
        )
        self.assertEqual(wizard.export_count, 1)
        # AMAZON_2's tracking number "+1Z0002" cannot go in with a quote
        # (Amazon would store the quote): the delivery is left out.
        self.assertEqual(
            wizard.export_warning,
            "1 of the 3 deliveries are not Amazon shipments: they are left out "
            "of this file.\n"
            "1 Amazon deliveries are left out until fixed:\n"
            f"- {self.amazon_2.name} ({AMAZON_2}): tracking-number '+1Z0002' "
            "starts with =, +, -, @, a tab or a line break: a spreadsheet would "
            "read it as a formula, and the file cannot change an identifier the "
            "marketplace matches on. Correct it, or let the write-back send this "
            "delivery.",
        )
        content, name, mimetype = self._file(wizard)
        self.assertRegex(name, r"^amazon-shipping-confirmation-\d{8}-\d{6}\.txt$")
        self.assertEqual(mimetype, "text/plain")
        self.assertEqual(
            content,
            (
                AMAZON_HEADER
                + f"{AMAZON_1}\t11111111111111\t2\t2026-02-10\tUPS\t\t1Z0001\t"
                "UPS Ground\r\n"
                f"{AMAZON_1}\t22222222222222\t1\t2026-02-10\tUPS\t\t1Z0001\t"
                "UPS Ground\r\n"
            ).encode(),
        )

    def test_ebay_csv_bytes(self):
        wizard = self._wizard(
            "ebay_csv", export_domain=self.domain, export_order=SCREEN_DEFAULT_ORDER
        )
        self.assertEqual(wizard.export_count, 1)
        self.assertIn(
            "2 of the 3 deliveries are not eBay shipments", wizard.export_warning
        )
        content, name, _mimetype = self._file(wizard)
        self.assertRegex(name, r"^ebay-tracking-upload-\d{8}-\d{6}\.csv$")
        self.assertEqual(
            content,
            (
                EBAY_HEADER
                + f"Shipped,{EBAY_1},110000000001,Widget A,WA,2000000001,UPS,"
                "9400100001\r\n"
            ).encode(),
        )

    def test_formula_cells_are_neutralised(self):
        self.amazon_1.with_context(writeback_engine=True).write(
            {"writeback_error": "@SUM(1+1)*cmd|' /C calc'!A0"}
        )
        self.amazon_1.partner_id.name = "-Buyer"
        wizard = self._wizard(export_ids=self.amazon_1.ids)
        line = self._file(wizard)[0].decode("utf-8-sig").splitlines()[1]
        self.assertIn(",'-Buyer,", line)
        self.assertTrue(line.endswith(",,'@SUM(1+1)*cmd|' /C calc'!A0"), line)

    def test_marketplace_files_neutralise_free_text_only(self):
        self.carrier.ecommerce_service_name = "=Ground"
        # A code an administrator added to the list (carrier codes are data).
        self.carrier.ebay_carrier_code_id = self.env["ecommerce.carrier.code"].create(
            {"platform": "ebay", "code": "@UPS", "name": "@UPS"}
        )
        wizard = self._wizard("amazon_flat", export_ids=self.amazon_1.ids)
        lines = self._file(wizard)[0].decode().splitlines()[1:]
        self.assertEqual(
            lines[0],
            f"{AMAZON_1}\t11111111111111\t2\t2026-02-10\tUPS\t\t1Z0001\t'=Ground",
        )
        wizard = self._wizard("ebay_csv", export_ids=self.ebay_1.ids)
        lines = self._file(wizard)[0].decode().splitlines()[1:]
        self.product_a.name = "=Widget A"  # the product's name is free text
        lines = self._file(wizard)[0].decode().splitlines()[1:]
        self.assertEqual(
            lines,
            [
                (
                    f"Shipped,{EBAY_1},110000000001,'=Widget A,WA,2000000001,"
                    "'@UPS,9400100001"
                )
            ],
        )

    def test_marketplace_file_leaves_out_formula_identifiers(self):
        ebay_2 = self._delivery(
            self.ebay,
            "-12-00002-00002",
            [(self.product_a, 1, "110000000002-2000000002")],
            "9400-1000-02",
            writeback_state="failed",
        )
        wizard = self._wizard("ebay_csv", export_ids=[ebay_2.id, self.ebay_1.id])
        self.assertEqual(wizard.export_count, 1)
        # Left out with the reason: not an eBay order number (a formula
        # would be refused on the way out anyway).
        self.assertIn(f"- {ebay_2.name} (-12-00002-00002): ", wizard.export_warning)
        self.assertIn("does not have the form eBay expects", wizard.export_warning)
        content = self._file(wizard)[0].decode()
        self.assertNotIn("00002", content)
        self.assertIn(EBAY_1, content)
        # eBay gets letters and digits only: "+9400..." goes in as 9400...
        self.ebay_1.carrier_tracking_ref = "+9400-1000-01"
        wizard = self._wizard("ebay_csv", export_ids=self.ebay_1.ids)
        self.assertFalse(wizard.export_warning)
        self.assertIn(b",9400100001\r\n", self._file(wizard)[0])
        # AMAZON_2 (tracking number "+1Z0002") alone: the wizard says why
        # and refuses
        wizard = self._wizard("amazon_flat", export_ids=self.amazon_2.ids)
        self.assertEqual(wizard.export_count, 0)
        with self.assertRaisesRegex(UserError, "tracking-number '\\+1Z0002'"):
            wizard.action_export()

    def test_marketplace_file_leaves_out_what_must_be_fixed_first(self):
        order = self.make_order(
            self.amazon, "111-0000003-0000003", [(self.product_a, 1, "44444444444444")]
        )
        no_tracking = self.ship(order.picking_ids, False)
        self.assertEqual(no_tracking.writeback_state, "pending")
        wizard = self._wizard(
            "amazon_flat", export_ids=[no_tracking.id, self.amazon_1.id]
        )
        self.assertEqual(wizard.export_count, 1)
        self.assertIn(
            "1 Amazon deliveries are left out until fixed:", wizard.export_warning
        )
        self.assertIn(
            f"- {no_tracking.name} (111-0000003-0000003): No tracking number",
            wizard.export_warning,
        )
        content = self._file(wizard)[0].decode()
        self.assertNotIn("111-0000003-0000003", content)
        self.assertIn(AMAZON_1, content)
        # nothing left: the wizard says why and refuses
        wizard = self._wizard(
            "amazon_flat", export_ids=[no_tracking.id, self.ebay_1.id]
        )
        self.assertEqual(wizard.export_count, 0)
        with self.assertRaisesRegex(UserError, "No tracking number"):
            wizard.action_export()

    def test_action_export_returns_a_download_of_an_attachment(self):
        wizard = self._wizard(export_ids=self.ours.ids)
        action = wizard.action_export()
        # Odoo's standard download, no popup window
        self.assertEqual(action["type"], "ir.actions.client")
        self.assertEqual(action["tag"], "stock_ecommerce_writeback.download")
        url = action["params"]["url"]
        attachment_id = int(url.split("/")[-1].split("?")[0])
        self.assertTrue(url.endswith("?download=true"))
        attachment = self.env["ir.attachment"].browse(attachment_id)
        self.assertEqual(attachment.res_model, "ecommerce.writeback.export")
        self.assertEqual(attachment.res_id, wizard.id)
        self.assertEqual(attachment.raw, self._file(wizard)[0])
        # the wizard's clean-up takes the file with it
        wizard.unlink()
        self.assertFalse(attachment.exists())

    def test_only_accountants_can_export(self):
        self.assertFalse(
            self.warehouse_user.has_group(
                "stock_ecommerce_writeback.group_writeback_accountant"
            )
        )
        with self.assertRaises(AccessError):
            self._wizard(user=self.warehouse_user, export_ids=self.ours.ids)
        wizard = self._wizard(export_ids=self.ours.ids)
        with self.assertRaises(AccessError):
            wizard.with_user(self.warehouse_user).action_export()


@tagged("post_install", "-at_install")
class TestWritebackExportHttp(HttpCase):
    """The download URL and the grid's buttons, through the web server."""

    def _failed_delivery(self, name):
        partner = self.env["res.partner"].create({"name": "Web Buyer"})
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.env.ref("stock.picking_type_out").id,
                "partner_id": partner.id,
            }
        )
        picking.with_context(writeback_engine=True).write(
            {"writeback_state": "failed", "writeback_attempt_count": 5}
        )
        picking.name = name
        return picking

    def test_download_url_serves_the_file_to_its_creator_only(self):
        accountant = new_test_user(
            self.env,
            "wbx_web_accountant",
            groups="stock_ecommerce_writeback.group_writeback_accountant",
        )
        other_accountant = new_test_user(
            self.env,
            "wbx_web_accountant_2",
            groups="stock_ecommerce_writeback.group_writeback_accountant",
        )
        new_test_user(self.env, "wbx_web_warehouse", groups="stock.group_stock_user")
        picking = self._failed_delivery("WBX/OUT/0001")
        wizard = (
            self.env["ecommerce.writeback.export"]
            .with_user(accountant)
            .with_context(**_export_context(export_ids=picking.ids))
            .create({"export_format": "grid_csv"})
        )
        action = wizard.action_export()
        expected = wizard._export_file()[0]

        self.authenticate("wbx_web_accountant", "wbx_web_accountant")
        response = self.url_open(action["params"]["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertIn(
            "marketplace-writebacks-", response.headers["Content-Disposition"]
        )
        self.assertTrue(response.headers["Content-Type"].startswith("text/csv"))
        self.assertEqual(response.content, expected)
        self.assertIn(b"WBX/OUT/0001", response.content)

        self.authenticate("wbx_web_warehouse", "wbx_web_warehouse")
        response = self.url_open(action["params"]["url"])
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(b"WBX/OUT/0001", response.content)

        # Another accountant may export too, but not read this export.
        self.authenticate("wbx_web_accountant_2", "wbx_web_accountant_2")
        response = self.url_open(action["params"]["url"])
        self.assertNotEqual(response.status_code, 200)
        self.assertNotIn(b"WBX/OUT/0001", response.content)
        self.assertNotIn(expected, response.content)
        attachment_id = int(action["params"]["url"].split("/")[-1].split("?")[0])
        attachment = self.env["ir.attachment"].browse(attachment_id)
        with self.assertRaises(AccessError):
            attachment.with_user(other_accountant).read(["raw"])
        with self.assertRaises(AccessError):
            wizard.with_user(other_accountant).read(["export_format"])
        self.assertFalse(
            self.env["ir.attachment"]
            .with_user(other_accountant)
            .search([("res_model", "=", "ecommerce.writeback.export")])
        )
        # its creator still can
        self.assertEqual(attachment.with_user(accountant).raw, expected)

    def test_grid_buttons(self):
        self._failed_delivery("WBX/OUT/0002")
        self._failed_delivery("WBX/OUT/0003")
        # A status the journal contradicts: Update must recompute it.
        account = self.env["ecommerce.account"].create(
            {"name": "Amazon (grid)", "platform": "amazon",
             "amazon_marketplace_id": "ATVPDKIKX0DER"}
        )  # fmt: skip
        self.env["ecommerce.api.status"]._ensure_rows(account)
        self.env["ecommerce.api.call"]._record(
            account,
            [
                base.CallRecord(
                    api=base.API_AMAZON_WRITEBACK,
                    operation="confirmShipment",
                    started_at=fields.Datetime.now() - datetime.timedelta(seconds=30),
                    duration_ms=100,
                    outcome="success",
                    http_status=204,
                )
            ],
        )
        status = account.api_status_ids.filtered(
            lambda s: s.api == base.API_AMAZON_WRITEBACK
        )
        status.write({"state": "red", "message": "stale", "checked_on": False})
        self.start_tour(
            "/odoo/action-stock_ecommerce_writeback.action_writeback_grid",
            "stock_ecommerce_writeback_export_buttons",
            login="admin",
        )
        status.invalidate_recordset()
        self.assertEqual(
            (status.state, status.message),
            ("green", "Connected and operating normally."),
            "Update recomputed the status",
        )
        self.assertTrue(status.checked_on)
