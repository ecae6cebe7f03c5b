# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import logging

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from ..marketplaces import base, policy
from ..marketplaces.policy import State
from . import fixtures
from .common import WritebackCase, writeback_users
from .fixtures import AMAZON_MARKETPLACE

ORDER = "114-0000009-0000009"


@tagged("post_install", "-at_install")
class TestWritebackSecurity(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse_user, cls.accountant, __ = writeback_users(cls.env, "wb_sec")
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

    # -- README, Access rights: Administrator = accounts, credentials and the
    # -- carrier mapping; Inventory administrators do not get it.
    def _inventory_admin(self):
        return new_test_user(
            self.env, "wb_stock_admin", groups="stock.group_stock_manager"
        )

    def test_inventory_admin_does_not_get_writeback_administrator(self):
        stock_admin = self._inventory_admin()
        self.assertTrue(stock_admin.has_group("stock.group_stock_manager"))
        self.assertTrue(
            stock_admin.has_group("stock_ecommerce_writeback.group_writeback_user")
        )
        for group in ("group_writeback_manager", "group_writeback_accountant"):
            self.assertFalse(
                stock_admin.has_group(f"stock_ecommerce_writeback.{group}"), group
            )
        account = self.amazon.with_user(stock_admin)
        with self.assertRaises(AccessError):
            account.read(["lwa_client_secret"])
        with self.assertRaises(AccessError):
            account.write({"name": "Renamed"})

    def test_only_writeback_administrators_change_the_carrier_mapping(self):
        stock_admin = self._inventory_admin()
        carrier = self.carrier.with_user(stock_admin)
        fedex = fixtures.carrier_code(self.env, "amazon", "FedEx")
        ebay_fedex = fixtures.carrier_code(self.env, "ebay", "FedEx")
        for vals in (
            {"amazon_carrier_code_id": fedex.id},
            {"amazon_carrier_name": "Someone Else"},
            {"ebay_carrier_code_id": ebay_fedex.id},
            {"ecommerce_service_name": "Overnight"},
        ):
            with self.assertRaises(AccessError), self.cr.savepoint():
                carrier.write(vals)
        with self.assertRaises(AccessError), self.cr.savepoint():
            carrier.create(
                {
                    "name": "Courier",
                    "product_id": self.carrier_product.id,
                    "ebay_carrier_code_id": fixtures.carrier_code(
                        self.env, "ebay", "DHL"
                    ).id,
                }
            )
        self.assertEqual(
            (
                self.carrier.amazon_carrier_code_id.code,
                self.carrier.ebay_carrier_code_id.code,
            ),
            ("UPS", "UPS"),
        )
        # The rest of the carrier stays the Inventory administrator's.
        carrier.write({"name": "UPS Ground (renamed)"})
        twin = carrier.copy()
        self.assertFalse(twin.amazon_carrier_code_id or twin.ebay_carrier_code_id)
        # The form shows them the mapping neither to edit nor to read.
        arch = carrier.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn('name="ebay_carrier_code_id"', arch)
        self.assertNotIn('name="amazon_carrier_code_id"', arch)
        # Write-back administrators do change it, and see it on the form.
        wb_admin = new_test_user(
            self.env,
            "wb_admin",
            groups="stock.group_stock_manager,"
            "stock_ecommerce_writeback.group_writeback_manager",
        )
        mine = self.carrier.with_user(wb_admin)
        mine.write(
            {"amazon_carrier_code_id": fedex.id, "ebay_carrier_code_id": ebay_fedex.id}
        )
        self.assertEqual(self.carrier.ebay_carrier_code_id.code, "FedEx")
        arch = mine.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('name="ebay_carrier_code_id"', arch)
        self.assertTrue(mine.copy().ebay_carrier_code_id)

    def test_carrier_codes_are_read_by_users_and_kept_by_administrators(self):
        Code = self.env["ecommerce.carrier.code"]
        user = new_test_user(
            self.env,
            "wb_code_user",
            groups="stock_ecommerce_writeback.group_writeback_user",
        )
        dpd = Code.with_user(user).name_search("DPD", [("platform", "=", "amazon")])
        self.assertIn("DPD", [name for _id, name in dpd])
        with self.assertRaises(AccessError), self.cr.savepoint():
            Code.with_user(user).create(
                {"platform": "amazon", "code": "Mine", "name": "Mine"}
            )
        admin = new_test_user(
            self.env,
            "wb_code_admin",
            groups="stock_ecommerce_writeback.group_writeback_manager",
        )
        code = Code.with_user(admin)._find("amazon", "Yodel")
        code.active = False
        self.assertFalse(
            Code.search([("platform", "=", "amazon"), ("code", "=", "Yodel")])
        )

    # -- README: every model has a multi-company record rule.
    def test_api_journal_and_amazon_listings_stay_in_their_company(self):
        started = fields.Datetime.now()
        Call = self.env["ecommerce.api.call"]
        theirs = Call._record(
            self.other_account,
            [
                base.CallRecord(
                    api=base.API_AMAZON_WRITEBACK,
                    operation="confirmShipment",
                    started_at=started,
                    duration_ms=10,
                    outcome="success",
                    http_status=204,
                )
            ],
        )
        ours = Call._record(
            self.amazon,
            [
                base.CallRecord(
                    api=base.API_AMAZON_WRITEBACK,
                    operation="confirmShipment",
                    started_at=started,
                    duration_ms=10,
                    outcome="success",
                    http_status=204,
                )
            ],
        )
        Listing = self.env["ecommerce.product.listing"]
        their_listing = Listing.create(
            {
                "product_id": self.product_a.id,
                "account_id": self.other_account.id,
                "asin": "B0OTHER001",
            }
        )
        our_listing = Listing.create(
            {
                "product_id": self.product_a.id,
                "account_id": self.amazon.id,
                "asin": "B0OURS0001",
            }
        )
        self.assertEqual(their_listing.company_id, self.other_company)
        stock_admin = self._inventory_admin()  # edits listings (README)
        for user in (self.warehouse_user, stock_admin):
            calls = Call.with_user(user).search([("id", "in", (theirs | ours).ids)])
            self.assertEqual(calls, ours, user.login)
            listings = Listing.with_user(user).search(
                [("id", "in", (their_listing | our_listing).ids)]
            )
            self.assertEqual(listings, our_listing, user.login)
            with self.assertRaises(AccessError):
                theirs.with_user(user).read(["operation"])
            with self.assertRaises(AccessError):
                their_listing.with_user(user).read(["asin"])
        with self.assertRaises(AccessError), self.cr.savepoint():
            their_listing.with_user(stock_admin).write({"asin": "B0CHANGED1"})
        with self.assertRaises(AccessError), self.cr.savepoint():
            Listing.with_user(stock_admin).create(
                {
                    "product_id": self.product_b.id,
                    "account_id": self.other_account.id,
                    "asin": "B0SNEAKY01",
                }
            )
        our_listing.with_user(stock_admin).write({"asin": "B0OURS0002"})
        # A user of both companies sees both.
        stock_admin.write(
            {
                "company_ids": [Command.link(self.other_company.id)],
            }
        )
        both = Listing.with_user(stock_admin).with_context(
            allowed_company_ids=[self.env.company.id, self.other_company.id]
        )
        self.assertEqual(
            both.search([("id", "in", (their_listing | our_listing).ids)]),
            their_listing | our_listing,
        )

    # -- README: credentials never appear in logs or error messages.
    def test_no_credential_reaches_the_log_when_the_token_exchange_fails(self):
        secrets = (
            "amazon-secret-value",
            "Atzr|amazon-refresh-token",
            "SBX-ebay-cert-secret",
            "v^1.1#ebay-refresh-token",
        )
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "91111111111112", "quantity": 1}],
        )
        ebay_order_ref = "12-00009-00009"
        self.sandbox.add_ebay_order(
            ebay_order_ref,
            line_items=[
                {
                    "line_item_id": "10000000000009",
                    "quantity": 1,
                    "item_id": "110000000009",
                    "transaction_id": "0",
                }
            ],
        )
        amazon_order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "91111111111112")]
        )
        ebay_order = self.make_order(
            self.ebay, ebay_order_ref, [(self.product_b, 1, "110000000009-0")]
        )
        self.sandbox.revoke_refresh_token("Atzr|amazon-refresh-token")
        self.sandbox.revoke_refresh_token("v^1.1#ebay-refresh-token")
        self.ship(amazon_order.picking_ids, "1Z0019")
        self.ship(ebay_order.picking_ids, "1Z0029")

        records = []

        class Capture(logging.Handler):
            def emit(self, record):
                records.append(record)

        handler = Capture(logging.DEBUG)
        root = logging.getLogger()
        watched = [
            logging.getLogger(name)
            for name in ("odoo.addons.stock_ecommerce_writeback", "urllib3", "requests")
        ]
        levels = [logger.level for logger in watched]
        root.addHandler(handler)
        for logger in watched:
            logger.setLevel(logging.DEBUG)
        try:
            self.push()
        finally:
            root.removeHandler(handler)
            for logger, level in zip(watched, levels, strict=True):
                logger.setLevel(level)

        self.assertTrue(self.amazon.auth_error and self.ebay.auth_error)
        text = "\n".join(
            f"{record.name} {record.getMessage()} {record.exc_text or ''}"
            for record in records
        )
        # The capture did see the failing exchanges.
        self.assertIn("/auth/o2/token", text)
        self.assertIn("/identity/v1/oauth2/token", text)
        shown = [
            text,
            self.amazon.auth_error,
            self.ebay.auth_error,
            *(amazon_order.picking_ids | ebay_order.picking_ids).mapped(
                "writeback_error"
            ),
            *self.env["ecommerce.api.call"].search([]).mapped("error_message"),
            self.chatter(amazon_order.picking_ids),
            self.chatter(ebay_order.picking_ids),
        ]
        for secret in secrets:
            for where in shown:
                self.assertNotIn(secret, where or "")

    def test_stored_outcomes_stay_in_their_company(self):
        """A stored outcome is seen only by users of its delivery's company."""
        manager = new_test_user(
            self.env,
            "wb_manager_one_company",
            groups="stock_ecommerce_writeback.group_writeback_manager",
        )
        their_type = self.env["stock.picking.type"].search(
            [("company_id", "=", self.other_company.id), ("code", "=", "outgoing")],
            limit=1,
        )
        our_type = self.env["stock.picking.type"].search(
            [("company_id", "=", self.env.company.id), ("code", "=", "outgoing")],
            limit=1,
        )
        Picking = self.env["stock.picking"]
        theirs, ours = (
            Picking.create({"picking_type_id": kind.id, "partner_id": self.customer.id})
            for kind in (their_type, our_type)
        )
        Outcome = self.env["ecommerce.writeback.outcome"]
        stored = Outcome.browse()
        for picking in (theirs, ours):
            stored |= Outcome._store(
                picking,
                policy.Decision(State.SUCCESS),
                State.SENDING,
                (1, False),
                None,
                None,
            )
        visible = Outcome.with_user(manager).search([("id", "in", stored.ids)])
        self.assertEqual(visible.picking_id, ours)

    def test_only_writeback_administrators_test_a_connection_or_set_pacing(self):
        """Test connection uses the credentials: a warehouse user calling it
        over RPC is refused and nothing reaches the marketplace; nobody but
        the engine sets an account's rate-limit state."""
        with self.assertRaises(AccessError):
            self.amazon.with_user(self.warehouse_user).action_test_connection()
        self.assertEqual(self.sandbox.requests(), [])
        admin = self.env.ref("base.user_admin")
        with self.assertRaises(AccessError):
            self.amazon.with_user(admin).write(
                {"writeback_pacing_state": {"confirmShipment": [-1e9, 0]}}
            )
        self.amazon.with_user(admin).action_test_connection()
        self.assertTrue(self.requests_of("amazon.token"))


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
