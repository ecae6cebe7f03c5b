# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Shared set-up of the Odoo tier: a real marketplace sandbox on 127.0.0.1,
marketplace accounts bound to it, and helpers that drive deliveries and
crons the way users and the scheduler do."""

import contextlib
import datetime
import importlib.util
import pathlib
from unittest.mock import patch
from urllib.parse import urlsplit

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, new_test_user
from odoo.tests.common import BlockedRequest, _super_send

from ..marketplaces import amazon as marketplace_amazon
from ..marketplaces import pacer as marketplace_pacer
from ..marketplaces import tokens as marketplace_tokens
from ..sandbox.server import SandboxServer
from . import fixtures


def writeback_users(env, prefix):
    """``(warehouse user, accountant, write-back administrator)``: an
    Inventory / User (the write-back User level), the accountant group
    (manual confirmation and export) and the write-back Administrator."""
    return (
        new_test_user(env, f"{prefix}_warehouse", groups="stock.group_stock_user"),
        new_test_user(
            env,
            f"{prefix}_accountant",
            groups="stock_ecommerce_writeback.group_writeback_accountant",
        ),
        new_test_user(
            env,
            f"{prefix}_admin",
            groups="stock_ecommerce_writeback.group_writeback_manager",
        ),
    )


def load_migration(version):
    """The module ``migrations/<version>/post-migration.py`` of this addon,
    loaded from its file (its name is not a Python identifier)."""
    path = (
        pathlib.Path(__file__).resolve().parents[1]
        / "migrations"
        / version
        / "post-migration.py"
    )
    name = "post_migration_" + version.replace(".", "_")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class WorkerKilled(BaseException):
    """Stands for the SIGKILL of a worker: nothing in the worker catches it
    (a ``BaseException``), so it leaves whatever it committed, no more."""


class SandboxMixin:
    """One sandbox server per class, reset for every test, with the
    process-wide token cache and pacer; requests may reach it with their
    own timeouts."""

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Odoo's default handler raises every timeout below 10 s to 10 s and
        # breaks on (connect, read) tuples; the sandbox is local, so let the
        # caller's own timeout apply. Anything not local stays blocked.
        if urlsplit(r.url).hostname in ("127.0.0.1", "localhost"):
            return _super_send(s, r, **kw)
        raise BlockedRequest(f"External requests verboten (was {r.method} {r.url})")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer(host="127.0.0.1", port=0)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)

    def setUp(self):
        super().setUp()
        # A request a previous test left sleeping in a "delay" fault must not
        # land in this test's log.
        self.sandbox.wait_idle(10)
        self.sandbox.reset()
        # Tokens and pacing are per process, like in production.
        marketplace_tokens.TOKEN_CACHE.clear()
        marketplace_pacer.PACER.reset()
        self.forget_readbacks()

    def forget_readbacks(self):
        """A process of its own: no search cursor, no views kept from the
        earlier read-backs (they are per process, like the pacer)."""
        from ..models import writeback_engine

        marketplace_amazon.SEARCH_CURSORS.clear()
        writeback_engine._READBACKS.clear()
        writeback_engine._BATCH_READ_AT.clear()

    def grid_export_lines(self, pickings, columns):
        """The lines of the grid's CSV export of ``pickings`` with
        ``columns`` (``[[field, heading], ...]``), heading line first."""
        wizard = (
            self.env["ecommerce.writeback.export"]
            .with_context(active_model="stock.picking", active_ids=pickings.ids)
            .create({"export_format": "grid_csv", "grid_columns": columns})
        )
        return wizard._export_file()[0].decode("utf-8-sig").splitlines()

    def time_passes(self):
        """The sellers' rate-limit buckets refill: Amazon's, this process's
        and the ones the last runs stored for the other workers."""
        self.sandbox.limiter.reset()
        marketplace_pacer.PACER.reset()
        self.env["ecommerce.account"].with_context(active_test=False).search([]).write(
            {"writeback_pacing_state": False}
        )

    def requests_of(self, operation):
        return self.sandbox.requests(operation)


class WritebackMixin(SandboxMixin):
    """Marketplace accounts bound to the class's sandbox; helpers that act
    as users and the scheduler do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        url = cls.sandbox.url
        cls.env.user.group_ids |= cls.env.ref(
            "stock_ecommerce_writeback.group_writeback_manager"
        )
        cls.responsible = cls.env["res.users"].create(
            {"name": "Marketplace Manager", "login": "mp_manager_test"}
        )
        responsible = {"user_id": cls.responsible.id}
        cls.amazon = fixtures.amazon_account(cls.env, url, **responsible)
        cls.ebay = fixtures.ebay_account(cls.env, url, **responsible)
        cls.carrier = fixtures.carrier(cls.env)
        cls.carrier_product = cls.carrier.product_id
        cls.customer = cls.env["res.partner"].create({"name": "Marketplace Buyer"})
        cls.product_a = fixtures.product(cls.env, "Widget A", "WA", stock=100)
        cls.product_b = fixtures.product(cls.env, "Widget B", "WB", stock=100)
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.env.company.id)], limit=1
        )
        cls.stock_location = cls.warehouse.lot_stock_id

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def make_order(self, account, order_ref, lines):
        """A confirmed sale order; ``lines`` = [(product, qty, item_ref)]."""
        return fixtures.order(
            self.env, account, order_ref, lines, self.customer, self.carrier
        )

    def ship(self, picking, tracking, quantities=None, backorder=True):
        """Validate ``picking`` as a warehouse user would (see
        :func:`.fixtures.ship`)."""
        fixtures.ship(self.env, picking, tracking, self.carrier, quantities, backorder)
        self.assertEqual(picking.state, "done")
        return picking

    def ship_amazon_orders(self, account, count, prefix):
        """``count`` validated deliveries of ``account``, one Amazon order of
        one item each (see :func:`.fixtures.amazon_orders`)."""
        return fixtures.amazon_orders(
            self.env,
            self.sandbox,
            account,
            count,
            prefix,
            self.product_a,
            self.customer,
            self.carrier,
        )

    def run_cron(self, xmlid):
        """Run a cron through Odoo's cron runner (its own cursor, commits
        and progress), as the scheduler does."""
        cron = self.env.ref(f"stock_ecommerce_writeback.{xmlid}")
        if isinstance(self, HttpCase):  # already in registry test mode
            cron.method_direct_trigger()
        else:
            with self.enter_registry_test_mode():
                cron.method_direct_trigger()
        self.env.invalidate_all()

    def push(self):
        self.run_cron("ir_cron_writeback_push")

    def push_killed(self, after_send=True, on_send=None):
        """Run the push as the scheduler does, its worker killed as its first
        confirmation leaves: right after the marketplace recorded it
        (``after_send``), or before the request went out. Its claims are
        committed and its outcome is never written (the test database keeps
        what the worker committed). Unlike a real SIGKILL, the worker's
        ``finally`` clauses still run: the claims it had not sent yet are
        given back. ``on_send()`` is called as the confirmation leaves,
        while the worker runs."""
        from ..marketplaces import platforms

        def dying(confirm):
            def confirm_then_die(client, shipment):
                if on_send is not None:
                    on_send()
                if after_send:
                    confirm(client, shipment)
                raise WorkerKilled

            return confirm_then_die

        clients = {
            api.client
            for platform in platforms.PLATFORMS.values()
            for api in platform.writeback_apis.values()
        }
        with contextlib.ExitStack() as stack:
            for client in clients:
                stack.enter_context(
                    patch.object(
                        client, "confirm_shipment", dying(client.confirm_shipment)
                    )
                )
            # (not assertRaises: Odoo's rolls its savepoint back, undoing
            # what the worker committed)
            try:
                self.push()
            except WorkerKilled:
                pass
            else:
                self.fail("the push sent nothing: no worker was killed")
        self.env.invalidate_all()

    def verify(self):
        self.run_cron("ir_cron_writeback_verify")

    def make_due(self, pickings, seconds=1):
        """Time passes: whatever the engine scheduled is due now."""
        past = fields.Datetime.now() - datetime.timedelta(seconds=seconds)
        for picking in pickings:
            vals = {"writeback_next_attempt": past}
            if (
                picking.writeback_state == "submitted"
                and picking.writeback_submitted_date
            ):
                vals["writeback_submitted_date"] = min(
                    picking.writeback_submitted_date, past
                )
            if picking.writeback_state == "sending":
                vals["writeback_lease_until"] = past
            picking.with_context(writeback_engine=True).write(vals)

    def amazon_error(self, operation, status, code, message, **fault):
        """Make the sandbox answer ``operation`` with an SP-API error body
        (``{"errors": [{"code", "message"}]}``, as every model defines it)."""
        return self.sandbox.inject_fault(
            operation,
            status=status,
            body={"errors": [{"code": code, "message": message}]},
            **fault,
        )

    def chatter(self, record):
        """The text of all messages posted on ``record``."""
        return "\n".join(record.message_ids.mapped("body"))


class WritebackCase(WritebackMixin, TransactionCase):
    pass


class WritebackHttpCase(WritebackMixin, HttpCase):
    pass
