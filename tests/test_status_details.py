# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Little things users notice (issue 19, points 6 and 9) that a browser
tour does not see: chatter entries, time zones, what the browser's
get_views call gets, the Update's list of changes."""

import datetime

from odoo.tests import tagged

from ..marketplaces import base
from ..marketplaces.policy import State
from ..models.formatting import user_datetime
from .common import WritebackCase
from .status_common import StatusScreenMixin


@tagged("post_install", "-at_install")
class TestStatusDetails(StatusScreenMixin, WritebackCase):
    def setUp(self):
        super().setUp()
        self._status_screen_data()

    def flush_tracking(self):
        """What a commit does: tracking messages are written then."""
        self.env.flush_all()
        self.env.cr.precommit.run()

    def test_bookkeeping_states_are_not_logged_and_one_retry_is_one_entry(self):
        self.flush_tracking()
        tracked = self.env["mail.tracking.value"].search(
            [
                ("mail_message_id", "in", self.bad.message_ids.ids),
                ("field_id.name", "=", "writeback_state"),
            ]
        )
        # None → Pending is bookkeeping (Failed has a message of its own)
        self.assertNotIn("Pending", tracked.mapped("new_value_char"))
        before = self.bad.message_ids
        self.bad.action_writeback_retry()
        self.flush_tracking()
        self.assertEqual(self.bad.writeback_state, State.PENDING)
        added = self.bad.message_ids - before
        self.assertEqual(len(added), 1, added.mapped("body"))
        self.assertIn("retry requested", added.body)
        self.assertFalse(added.tracking_value_ids, "no Failed → Pending")

    def test_chatter_sentences_carry_no_utc_time(self):
        self.env.user.tz = "America/New_York"
        self.env.user.group_ids |= self.env.ref(
            "stock_ecommerce_writeback.group_writeback_accountant"
        )
        self.bad.action_writeback_mark_manual()
        body = self.bad.message_ids[:1].body
        self.assertIn("Marked as manually confirmed", body)
        # the chatter dates the entry in each reader's zone: no time in the text
        self.assertNotRegex(body, r"\d{4}-\d\d-\d\d|\d\d:\d\d")

    def test_one_date_format(self):
        moment = datetime.datetime(2026, 2, 11, 1, 30)
        text = user_datetime(self.bad.with_context(tz="America/New_York"), moment)
        self.assertEqual(text, "02/10/2026 08:30 PM")  # en_US, without seconds
        self.amazon.with_context(tz="America/New_York").action_test_connection()
        self.assertRegex(
            self.amazon.connection_test_result,
            r"^Tested at \d\d/\d\d/\d{4} \d\d:\d\d [AP]M\n",
        )

    def test_custom_group_from_the_browser(self):
        """The browser loads the grid with get_views, its context stripped of
        everything but the language (web's view_service.js)."""
        views = self.env["stock.picking"].get_views(
            [
                [
                    self.env.ref("stock_ecommerce_writeback.view_writeback_list").id,
                    "list",
                ],
                [
                    self.env.ref("stock_ecommerce_writeback.view_writeback_search").id,
                    "search",
                ],
            ]
        )
        described = views["models"]["stock.picking"]["fields"]
        for internal in (
            "writeback_lease_until",
            "writeback_sort_account_name",
            "writeback_throttle_count",
        ):
            self.assertFalse(described[internal]["groupable"], internal)
        self.assertTrue(described["ecommerce_account_id"]["groupable"])
        # Inventory's own delivery list keeps every field
        plain = self.env["stock.picking"].get_views(
            [[False, "list"], [False, "search"]]
        )
        self.assertTrue(
            plain["models"]["stock.picking"]["fields"]["writeback_lease_until"][
                "groupable"
            ]
        )

    def test_empty_queue_says_nothing_needs_attention(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "stock_ecommerce_writeback.action_writeback_grid"
        )
        self.assertIn("Nothing needs attention", action["help"])
        self.assertNotIn("No transfer found", action["help"])

    def test_attempts_read_of_the_maximum(self):
        self.assertEqual(self.bad.writeback_attempt_count, 1)
        self.assertEqual(self.bad.writeback_max_attempts, 5)

    def test_update_says_what_changed(self):
        Status = self.env["ecommerce.api.status"]
        Status.action_refresh_now()
        writeback = self.amazon.api_status_ids.filtered(
            lambda s: s.api == base.API_AMAZON_WRITEBACK
        )
        self.assertEqual(writeback.state, "green")
        writeback.state = "red"
        self.assertEqual(
            Status.action_refresh_now(),
            ["Amazon US (sandbox): Writeback API Red → Green"],
        )
        self.assertEqual(Status.action_refresh_now(), [])
        self.assertEqual(Status.get_refresh_seconds(), 30)
        self.env["ir.config_parameter"].set_param(
            "stock_ecommerce_writeback.status_refresh_seconds", "5"
        )
        self.assertEqual(Status.get_refresh_seconds(), 5)
