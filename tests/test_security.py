# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .common import AMAZON_MARKETPLACE, WritebackCase

ORDER = "114-0000009-0000009"


@tagged("post_install", "-at_install")
class TestWritebackSecurity(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse_user = new_test_user(
            cls.env, "wb_warehouse", groups="stock.group_stock_user"
        )
        cls.accountant = new_test_user(
            cls.env,
            "wb_accountant",
            groups="stock_ecommerce_writeback.group_writeback_accountant",
        )
        cls.other_company = cls.env["res.company"].create({"name": "Other Seller Ltd"})
        cls.other_account = cls.env["ecommerce.account"].create(
            {
                "name": "Amazon (other company)",
                "platform": "amazon",
                "amazon_marketplace_id": AMAZON_MARKETPLACE,
                "company_id": cls.other_company.id,
            }
        )

    def test_warehouse_user_sees_statuses_not_credentials(self):
        account = self.amazon.with_user(self.warehouse_user)
        self.assertEqual(account.name, "Amazon US (sandbox)")
        self.assertTrue(account.api_status_ids)
        with self.assertRaises(AccessError):
            account.read(["lwa_client_secret"])
        with self.assertRaises(AccessError):
            account.read(["api_base_url"])
        self.assertNotIn("lwa_refresh_token", account.read()[0])
        self.assertNotIn("lwa_refresh_token", account.fields_get())
        with self.assertRaises(AccessError):
            account.write({"name": "Renamed"})

    def test_endpoint_overrides_need_https_except_loopback(self):
        for url in ("http://sellingpartnerapi-na.example.com", "ftp://127.0.0.1"):
            with self.assertRaises(ValidationError), self.cr.savepoint():
                self.amazon.api_base_url = url
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.ebay.auth_url = "http://api.ebay.example/identity/v1/oauth2/token"
        self.amazon.api_base_url = "https://sandbox.sellingpartnerapi-na.amazon.com"
        self.amazon.api_base_url = "http://localhost:8765"

    def test_other_company_records_stay_invisible(self):
        Account = self.env["ecommerce.account"].with_user(self.warehouse_user)
        self.assertNotIn(self.other_account, Account.search([]))
        self.assertFalse(
            self.env["ecommerce.api.status"]
            .with_user(self.warehouse_user)
            .search([("account_id", "=", self.other_account.id)])
        )
        with self.assertRaises(AccessError):
            self.other_account.with_user(self.warehouse_user).read(["name"])

    def test_only_accountants_mark_manually_confirmed(self):
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "91111111111111", "quantity": 1}],
        )
        order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "91111111111111")]
        )
        picking = self.ship(order.picking_ids, "1Z0009")
        with self.assertRaises(UserError):
            picking.with_user(self.warehouse_user).action_writeback_mark_manual()
        self.assertEqual(picking.writeback_state, "pending")
        picking.with_user(
            self.warehouse_user
        ).action_writeback_retry()  # warehouse users may retry
        picking.with_user(self.accountant).action_writeback_mark_manual()
        self.assertEqual(picking.writeback_state, "manual")
        self.assertEqual(picking.writeback_manual_user_id, self.accountant)


@tagged("post_install", "-at_install")
class TestCredentialsOverRpc(HttpCase):
    def test_warehouse_user_cannot_read_credentials_over_jsonrpc(self):
        account = self.env["ecommerce.account"].create(
            {
                "name": "Amazon RPC",
                "platform": "amazon",
                "amazon_marketplace_id": AMAZON_MARKETPLACE,
                "lwa_client_secret": "top-secret-value",
                "lwa_refresh_token": "Atzr|top-secret-refresh",
            }
        )
        new_test_user(self.env, "wb_rpc_user", groups="stock.group_stock_user")
        self.authenticate("wb_rpc_user", "wb_rpc_user")

        def call(method, args, kwargs=None):
            return self.url_open(
                f"/web/dataset/call_kw/ecommerce.account/{method}",
                json={
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "model": "ecommerce.account",
                        "method": method,
                        "args": args,
                        "kwargs": kwargs or {},
                    },
                },
            ).json()

        answer = call("read", [[account.id], ["name", "lwa_client_secret"]])
        self.assertIn("error", answer)
        self.assertNotIn("top-secret-value", str(answer))
        answer = call("search_read", [[["id", "=", account.id]]], {"fields": []})
        self.assertEqual(answer["result"][0]["name"], "Amazon RPC")
        self.assertNotIn("top-secret", str(answer))
        answer = call(
            "web_search_read",
            [],
            {
                "domain": [["id", "=", account.id]],
                "specification": {"lwa_refresh_token": {}},
            },
        )
        self.assertNotIn("top-secret", str(answer))
