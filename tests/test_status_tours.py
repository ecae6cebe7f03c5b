# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The eCommerce Status screens in a real browser (headless Chromium):
Needs attention, a bulk retry, Mark as handled, the delivery's header badge,
the export checked against the grid, the account cards, Test connection."""

from odoo.tests import tagged

from ..marketplaces import base
from ..marketplaces.policy import State
from .common import WritebackHttpCase
from .status_common import StatusScreenMixin


@tagged("post_install", "-at_install")
class TestStatusScreenTours(StatusScreenMixin, WritebackHttpCase):
    """The screens in a real browser (headless Chromium), at 1440 px."""

    browser_size = "1440x900"

    def test_needs_attention_tour(self):
        self._status_screen_data()
        self.env.ref("base.user_admin").group_ids |= self.env.ref(
            "stock_ecommerce_writeback.group_writeback_accountant"
        )
        self.start_tour(
            "/odoo/action-stock_ecommerce_writeback.action_writeback_grid",
            "stock_ecommerce_writeback_attention_tour",
            login="admin",
        )
        self.env.invalidate_all()
        self.assertEqual(self.bad.writeback_state, State.PENDING, "bulk retry")
        self.assertEqual(self.cancelled.writeback_state, State.CANCELLED)
        self.assertEqual(self.cancelled.writeback_manual_reason, "cancelled")
        self.assertTrue(
            self.env["ir.attachment"].search_count(
                [("res_model", "=", "ecommerce.writeback.export")]
            )
        )


@tagged("post_install", "-at_install")
class TestAccountCardsTours(StatusScreenMixin, WritebackHttpCase):
    """The Connection Status cards and Test connection, in their own browser."""

    browser_size = "1440x900"

    def test_account_cards_and_test_connection_tour(self):
        self._status_screen_data()
        self.run_cron("ir_cron_api_status_refresh")
        # The cards reload themselves every 2 s in this test (issue 19.6).
        self.env["ir.config_parameter"].set_param(
            "stock_ecommerce_writeback.status_refresh_seconds", "2"
        )
        # A status the last check left Red, which the journal says is Green:
        # Update says so.
        self.amazon.api_status_ids.filtered(
            lambda s: s.api == base.API_AMAZON_WRITEBACK
        ).state = "red"
        self.start_tour(
            "/odoo/action-stock_ecommerce_writeback.action_ecommerce_status_overview",
            "stock_ecommerce_writeback_connection_tour",
            login="admin",
        )
        self.start_tour(
            "/odoo/action-stock_ecommerce_writeback.action_ecommerce_account/"
            f"{self.amazon.id}",
            "stock_ecommerce_writeback_test_connection_tour",
            login="admin",
        )
        self.env.invalidate_all()
        self.assertTrue(self.amazon.connection_test_ok)
        # Issue 19.5: the journal and status lists show names whole.
        self.start_tour(
            "/odoo/action-stock_ecommerce_writeback.action_ecommerce_api_call",
            "stock_ecommerce_writeback_api_calls_tour",
            login="admin",
        )
        self.start_tour(
            "/odoo/action-stock_ecommerce_writeback.action_ecommerce_api_status",
            "stock_ecommerce_writeback_api_status_tour",
            login="admin",
        )


@tagged("post_install", "-at_install")
class TestGuidanceTour(StatusScreenMixin, WritebackHttpCase):
    """Guidance that fits the error (issue 19, point 4)."""

    browser_size = "1440x900"

    def setUp(self):
        super().setUp()
        self._status_screen_data()

    def test_guidance_fits_the_error_tour(self):
        self.assertTrue(self.bad.writeback_fixable)
        self.assertTrue(self.to_fix.writeback_fixable)
        self.assertFalse(self.cancelled.writeback_fixable)
        self.start_tour(
            "/odoo/action-stock_ecommerce_writeback.action_writeback_grid",
            "stock_ecommerce_writeback_guidance_tour",
            login="admin",
        )

    def test_cancelled_hint_fits_who_reads_it(self):
        """A warehouse user is not told to use a button they do not have."""
        view = self.env.ref("stock_ecommerce_writeback.view_writeback_form")
        warehouse = self.env["res.users"].create(
            {
                "name": "Warehouse Wendy",
                "login": "wendy-guidance",
                "group_ids": [(6, 0, [self.env.ref("stock.group_stock_user").id])],
            }
        )
        arch = (
            self.env["stock.picking"]
            .with_user(warehouse)
            .get_views([(view.id, "form")])["views"]["form"]["arch"]
        )
        self.assertIn("tell whoever confirms orders by hand", arch)
        self.assertNotIn("to close this write-back", arch)
        admin_arch = (
            self.env["stock.picking"]
            .with_user(self.env.ref("base.user_admin"))
            .get_views([(view.id, "form")])["views"]["form"]["arch"]
        )
        self.assertNotIn("tell whoever confirms orders by hand", admin_arch)
        self.assertIn("to close this write-back", admin_arch)
