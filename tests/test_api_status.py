# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from odoo import fields
from odoo.tests import freeze_time, tagged

from ..marketplaces import base, ebay_oauth, health, tokens
from .common import WritebackCase
from .fixtures import AMAZON_MARKETPLACE

ORDER = "114-0000001-0000001"


@tagged("post_install", "-at_install")
class TestApiStatus(WritebackCase):
    def status(self, account, api):
        return self.env["ecommerce.api.status"].search(
            [("account_id", "=", account.id), ("api", "=", api)]
        )

    def refresh(self):
        self.run_cron("ir_cron_api_status_refresh")

    def journal(self, account, api, outcomes, duration_ms=120, minutes_ago=1):
        """Calls as the engine journals them (outcome per call)."""
        start = fields.Datetime.now() - datetime.timedelta(minutes=minutes_ago)
        self.env["ecommerce.api.call"]._record(
            account,
            [
                base.CallRecord(
                    api=api,
                    operation="confirmShipment",
                    started_at=start + datetime.timedelta(seconds=i),
                    duration_ms=duration_ms,
                    outcome=outcome,
                    http_status=200 if outcome == "success" else 503,
                    error_message=""
                    if outcome == "success"
                    else "HTTP 503 from Amazon",
                )
                for i, outcome in enumerate(outcomes)
            ],
        )

    def test_every_account_has_its_apis(self):
        self.assertEqual(
            sorted(self.amazon.api_status_ids.mapped("api")),
            sorted(
                [
                    base.API_AMAZON_PRODUCTS,
                    base.API_AMAZON_WRITEBACK,
                    base.API_AMAZON_ORDERS,
                ]
            ),
        )
        # eBay: the API the account writes back with (issue 19, point 2)
        self.assertEqual(
            self.ebay.api_status_ids.mapped("api"), [base.API_EBAY_TRADING]
        )
        self.assertEqual(set(self.amazon.api_status_ids.mapped("state")), {"none"})

    def test_green_after_real_calls_and_probes(self):
        """A shipment goes through; the status cron probes the idle APIs
        (one cheap read-only call each) and every light turns green."""
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[
                {
                    "order_item_id": "31111111111111",
                    "quantity": 1,
                    "asin": "B0A",
                    "sku": "WA",
                }
            ],
        )
        order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "31111111111111")]
        )
        self.ship(order.picking_ids, "1Z0001")
        self.push()
        self.refresh()
        writeback = self.status(self.amazon, base.API_AMAZON_WRITEBACK)
        self.assertEqual(writeback.state, "green")
        self.assertEqual(writeback.message, "Connected and operating normally.")
        self.assertEqual(writeback.call_count, 2)  # token + confirmShipment
        self.assertTrue(writeback.last_success)
        self.assertTrue(writeback.access_token_expiry)
        self.assertEqual(
            writeback.rate_limit, 2.0, "x-amzn-RateLimit-Limit of confirmShipment"
        )
        # 2 calls in a 60-minute window against 2 calls/s: almost all left.
        self.assertAlmostEqual(writeback.rate_headroom, 100 * (1 - 2 / 3600 / 2), 3)
        for api in (base.API_AMAZON_PRODUCTS, base.API_AMAZON_ORDERS):
            self.assertEqual(self.status(self.amazon, api).state, "green")
        # Probes: a token exchange per idle Amazon API, a one-row read per eBay API.
        self.assertEqual(len(self.requests_of("amazon.token")), 3)
        [get_orders] = self.requests_of("ebay.GetOrders")
        self.assertIn("EntriesPerPage>1<", get_orders["xml"])
        self.assertFalse(self.requests_of("ebay.getOrders"), "Fulfillment not used")
        self.assertEqual(self.status(self.ebay, base.API_EBAY_TRADING).state, "green")
        self.assertFalse(self.status(self.ebay, base.API_EBAY_FULFILLMENT))
        self.assertFalse(self.sandbox.requests("ebay.GeteBayOfficialTime"))

    def test_yellow_on_error_rate_and_on_latency(self):
        self.journal(
            self.amazon, base.API_AMAZON_WRITEBACK, ["transient"] + ["success"] * 4
        )
        self.journal(
            self.amazon, base.API_AMAZON_ORDERS, ["success"] * 3, duration_ms=8000
        )
        self.env["ecommerce.api.status"].action_refresh_now()
        writeback = self.status(self.amazon, base.API_AMAZON_WRITEBACK)
        self.assertEqual(writeback.state, "yellow")
        self.assertIn("1 of 5 calls failed", writeback.message)
        self.assertEqual((writeback.call_count, writeback.error_count), (5, 1))
        orders = self.status(self.amazon, base.API_AMAZON_ORDERS)
        self.assertEqual(orders.state, "yellow")
        self.assertIn("8.0 s on average", orders.message)
        self.assertEqual(orders.avg_latency_ms, 8000)

    def test_red_when_down_or_extreme_error_rate(self):
        self.journal(
            self.amazon, base.API_AMAZON_WRITEBACK, ["success"] + ["transient"] * 3
        )
        self.journal(self.amazon, base.API_AMAZON_ORDERS, ["transient", "success"] * 3)
        self.env["ecommerce.api.status"].action_refresh_now()
        writeback = self.status(self.amazon, base.API_AMAZON_WRITEBACK)
        self.assertEqual(writeback.state, "red")
        self.assertIn("Unavailable", writeback.message)
        orders = self.status(self.amazon, base.API_AMAZON_ORDERS)
        self.assertEqual(orders.state, "red")
        self.assertIn("Extreme error rate", orders.message)

    def test_red_when_authentication_fails(self):
        """A revoked refresh token: the probe fails with invalid_grant and
        the status says to re-authorize."""
        self.sandbox.revoke_refresh_token("Atzr|amazon-refresh-token")
        self.refresh()
        products = self.status(self.amazon, base.API_AMAZON_PRODUCTS)
        self.assertEqual(products.state, "red")
        self.assertIn("Re-authorize", products.message)
        self.assertNotIn("amazon-refresh-token", products.message)

    def test_none_when_no_call_in_ten_minutes(self):
        self.journal(self.amazon, base.API_AMAZON_WRITEBACK, ["success"] * 3)
        statuses = self.env["ecommerce.api.status"]
        statuses.action_refresh_now()
        self.assertEqual(
            self.status(self.amazon, base.API_AMAZON_WRITEBACK).state, "green"
        )
        with freeze_time(fields.Datetime.now() + datetime.timedelta(minutes=11)):
            statuses.action_refresh_now()
        writeback = self.status(self.amazon, base.API_AMAZON_WRITEBACK)
        self.assertEqual(writeback.state, "none")
        self.assertIn("no call to this API in the last 10 minutes", writeback.message)

    def test_none_on_network_error(self):
        """The marketplace cannot be reached at all: status unknown, "Error
        reading API status"."""
        self.ebay.write(
            {
                "api_base_url": "http://127.0.0.1:9",
                "auth_url": "http://127.0.0.1:9/identity/v1/oauth2/token",
            }
        )
        self.refresh()
        trading = self.status(self.ebay, base.API_EBAY_TRADING)
        self.assertEqual(trading.state, "none")
        self.assertTrue(trading.message.startswith("Error reading API status"))
        self.assertEqual(
            self.status(self.amazon, base.API_AMAZON_ORDERS).state, "green"
        )

    def test_thresholds_are_configurable(self):
        self.env["ir.config_parameter"].set_param(
            "stock_ecommerce_writeback.health_yellow_error_rate", "0.5"
        )
        self.journal(
            self.amazon, base.API_AMAZON_WRITEBACK, ["transient"] + ["success"] * 4
        )
        self.env["ecommerce.api.status"].action_refresh_now()
        self.assertEqual(
            self.status(self.amazon, base.API_AMAZON_WRITEBACK).state, "green"
        )

    def test_a_400_refusal_is_not_a_health_problem(self):
        """README: failed calls are timeouts, connection errors, 5xx and
        authentication failures; a marketplace refusing bad data is not."""
        self.env["ecommerce.api.call"]._record(
            self.amazon,
            [
                base.CallRecord(
                    api=base.API_AMAZON_WRITEBACK,
                    operation="confirmShipment",
                    started_at=fields.Datetime.now()
                    - datetime.timedelta(minutes=1, seconds=-i),
                    duration_ms=100,
                    outcome="permanent",
                    http_status=400,
                    error_code="InvalidInput",
                    error_message="Tracking number is not valid",
                )
                for i in range(5)
            ],
        )
        self.env["ecommerce.api.status"].action_refresh_now()
        writeback = self.status(self.amazon, base.API_AMAZON_WRITEBACK)
        self.assertEqual(writeback.state, "green")
        self.assertEqual((writeback.call_count, writeback.error_count), (5, 0))

    def test_boundaries_and_every_threshold_parameter(self):
        """10 % errors is still green, 3 failures in a row are red (README
        defaults); then each system parameter is read."""
        self.journal(
            self.amazon, base.API_AMAZON_WRITEBACK, ["transient"] + ["success"] * 9
        )
        self.journal(
            self.amazon,
            base.API_AMAZON_ORDERS,
            ["success"] * 20 + ["transient"] * 2,
        )
        statuses = self.env["ecommerce.api.status"]
        statuses.action_refresh_now()
        self.assertEqual(
            self.status(self.amazon, base.API_AMAZON_WRITEBACK).state, "green"
        )
        self.assertEqual(
            self.status(self.amazon, base.API_AMAZON_ORDERS).state,
            "green",
            "2 failures in a row of 22 calls",
        )
        values = {
            "window_minutes": "30",
            "idle_minutes": "5",
            "yellow_error_rate": "0.05",
            "red_error_rate": "0.2",
            "yellow_throttle_rate": "0.5",
            "slow_latency_ms": "100",
            "red_consecutive_failures": "2",
        }
        params = self.env["ir.config_parameter"].sudo()
        for name, value in values.items():
            params.set_param(f"stock_ecommerce_writeback.health_{name}", value)
        self.assertEqual(
            statuses._thresholds(),
            health.Thresholds(
                window_minutes=30,
                idle_minutes=5,
                yellow_error_rate=0.05,
                red_error_rate=0.2,
                yellow_throttle_rate=0.5,
                slow_latency_ms=100,
                red_consecutive_failures=2,
            ),
        )
        statuses.action_refresh_now()
        writeback = self.status(self.amazon, base.API_AMAZON_WRITEBACK)
        self.assertEqual(writeback.state, "yellow")
        self.assertIn("1 of 10 calls failed in the last 30 minutes", writeback.message)
        orders = self.status(self.amazon, base.API_AMAZON_ORDERS)
        self.assertEqual(orders.state, "red")
        self.assertIn("the last 2 calls failed", orders.message)

    def test_old_journal_rows_are_cleaned(self):
        """Rows past retention go, except the history of shipments that
        still need attention (by delivery, or by order for read-backs)."""
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": "31111111111111", "quantity": 1}],
        )
        order = self.make_order(
            self.amazon, ORDER, [(self.product_a, 1, "31111111111111")]
        )
        self.ship(order.picking_ids, "1Z0001")  # pending: its history stays
        Call = self.env["ecommerce.api.call"]

        def row(minutes_ago, **vals):
            api = base.API_AMAZON_WRITEBACK
            self.journal(self.amazon, api, ["success"], minutes_ago=minutes_ago)
            record = Call.search([], order="id desc", limit=1)
            record.write(vals)
            return record

        old = 91 * 24 * 60
        row(old)
        recent = row(5)
        kept = row(89 * 24 * 60)  # 90 days are kept
        shared_read_back = row(old, order_ref=ORDER)
        own = row(old, picking_id=order.picking_ids.id)
        self.refresh()
        calls = Call.search(
            [("account_id", "=", self.amazon.id), ("operation", "=", "confirmShipment")]
        )
        self.assertEqual(calls, recent | kept | shared_read_back | own)


EBAY_REFRESH = "v^1.1#ebay-refresh-token"
EBAY_ORDER = "19-00002-00002"


@tagged("post_install", "-at_install")
class TestEbayApiStatus(WritebackCase):
    """An eBay account is checked on the API it writes back with (issue 19,
    point 2): a Trading-only consent is no Red Fulfillment light, and a
    revoked consent is Red, with the reason, on the API the account uses."""

    def statuses(self, account):
        return {s.api: s for s in account.api_status_ids}

    def test_checked_on_the_api_it_uses(self):
        self.assertEqual(list(self.statuses(self.ebay)), [base.API_EBAY_TRADING])
        # The seller consented to Trading only (README: that works).
        self.sandbox.set_ebay_consent(EBAY_REFRESH, [ebay_oauth.API_SCOPE])
        self.run_cron("ir_cron_api_status_refresh")
        self.assertEqual(self.statuses(self.ebay)[base.API_EBAY_TRADING].state, "green")
        self.assertFalse(
            self.sandbox.requests("ebay.getOrders"), "no Fulfillment probe"
        )
        self.ebay.action_test_connection()
        self.assertTrue(self.ebay.connection_test_ok, self.ebay.connection_test_result)
        self.assertNotIn("Fulfillment", self.ebay.connection_test_result)
        self.assertNotIn("choose the write-back API", self.ebay.connection_test_result)
        # Choosing the other API moves the light with it.
        self.ebay.ebay_api = "fulfillment"
        self.assertEqual(list(self.statuses(self.ebay)), [base.API_EBAY_FULFILLMENT])

    def test_revoked_consent_is_red_with_the_reason(self):
        self.sandbox.add_ebay_order(
            EBAY_ORDER,
            line_items=[
                {
                    "line_item_id": "110000009002-0",
                    "quantity": 1,
                    "item_id": "110000009002",
                    "transaction_id": "0",
                }
            ],
        )
        order = self.make_order(
            self.ebay, EBAY_ORDER, [(self.product_a, 1, "110000009002-0")]
        )
        self.run_cron("ir_cron_api_status_refresh")
        self.assertEqual(self.statuses(self.ebay)[base.API_EBAY_TRADING].state, "green")
        self.sandbox.revoke_refresh_token(EBAY_REFRESH)
        tokens.TOKEN_CACHE.clear()  # the access token expired meanwhile
        self.ship(order.picking_ids, "1Z9002")
        self.push()
        self.env["ecommerce.api.status"].action_refresh_now()
        trading = self.statuses(self.ebay)[base.API_EBAY_TRADING]
        self.assertEqual(trading.state, "red", trading.message)
        self.assertIn("invalid_grant", trading.message)
        self.assertIn("Re-authorize", trading.message)
        self.assertNotIn("..", trading.message)
        self.assertEqual(self.ebay.api_status_ids, trading, "no Fulfillment light")

    def _shipped_ebay_orders(self, count, first=0):
        pickings = self.env["stock.picking"]
        for i in range(first, first + count):
            ref = f"19-0001{i}-0001{i}"
            line = f"11000001900{i}"
            self.sandbox.add_ebay_order(
                ref,
                line_items=[
                    {
                        "line_item_id": f"{line}-0",
                        "quantity": 1,
                        "item_id": line,
                        "transaction_id": "0",
                    }
                ],
            )
            order = self.make_order(self.ebay, ref, [(self.product_a, 1, f"{line}-0")])
            pickings |= self.ship(order.picking_ids, f"1Z91{i}")
        return pickings

    def test_consent_revoked_between_runs_is_red_on_every_path(self):
        """The seller revokes the app on eBay while Odoo still holds an
        access token: the next read-back (two orders read at once), the
        status cron, *Update* and the next write-back all say Red with
        eBay's reason; never Yellow, never Green."""
        submitted = self._shipped_ebay_orders(2)
        self.push()
        self.assertEqual(submitted.mapped("writeback_state"), ["submitted"] * 2)
        self.run_cron("ir_cron_api_status_refresh")
        trading = self.statuses(self.ebay)[base.API_EBAY_TRADING]
        self.assertEqual(trading.state, "green")
        self.sandbox.revoke_refresh_token(EBAY_REFRESH)  # the token stays cached

        self.make_due(submitted)
        self.verify()
        [token_call] = self.sandbox.requests("ebay.token")[-1:]
        self.assertEqual(token_call["status"], 400)
        self.assertIn("invalid_grant: the provided", self.ebay.auth_error or "")
        self.assertEqual(submitted.mapped("writeback_state"), ["submitted"] * 2)

        def red_with_reason(path):
            self.env.invalidate_all()
            trading = self.statuses(self.ebay)[base.API_EBAY_TRADING]
            self.assertEqual(trading.state, "red", f"{path}: {trading.message}")
            self.assertIn("invalid_grant", trading.message, path)
            self.assertIn("grant code is invalid", trading.message, path)
            self.assertEqual(trading.message.count("Re-authorize"), 1, path)

        self.run_cron("ir_cron_api_status_refresh")
        red_with_reason("status cron")
        self.env["ecommerce.api.status"].action_refresh_now()
        red_with_reason("Update")
        later = self._shipped_ebay_orders(1, first=2)
        self.push()
        self.assertEqual(later.writeback_state, "pending")
        self.assertFalse(self.sandbox.requests("ebay.CompleteSale")[2:], "none sent")
        self.assertFalse(later.writeback_sent_tracking, "nothing was sent")
        self.env["ecommerce.api.status"].action_refresh_now()
        red_with_reason("write-back")

    def test_consent_revoked_met_by_the_reconciliation_is_red(self):
        """The daily reconciliation is the first to meet the revoked consent
        (nothing to write back that day): the account is flagged and its
        API is Red with eBay's reason, not left Green until a probe."""
        self._shipped_ebay_orders(1)
        self.push()
        self.run_cron("ir_cron_api_status_refresh")
        trading = self.statuses(self.ebay)[base.API_EBAY_TRADING]
        self.assertEqual(trading.state, "green")
        self.sandbox.revoke_refresh_token(EBAY_REFRESH)  # the token stays cached
        self.run_cron("ir_cron_reconcile")
        self.assertIn("invalid_grant", self.ebay.auth_error or "")
        self.assertIn("invalid_grant", self.ebay.reconcile_error or "")
        self.run_cron("ir_cron_api_status_refresh")
        trading = self.statuses(self.ebay)[base.API_EBAY_TRADING]
        self.assertEqual(trading.state, "red", trading.message)
        self.assertIn("grant code is invalid", trading.message)
