# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A delivery's row held by another transaction while the engine applies an
outcome, with real connections: the data is committed (a row lock held by a
second connection needs a row that connection can see), the crons run in
transactions of their own, as the scheduler runs them, and everything this
test committed is deleted at the end."""

import threading
import time

from odoo import SUPERUSER_ID, api
from odoo.tests import TransactionCase, tagged

from . import fixtures
from .common import SandboxMixin
from .fixtures import AMAZON_MARKETPLACE

ORDER = "114-4440001-0000001"
ITEM = "44400000000001"
TRACKING = "1ZHELD0000000001"


@tagged("post_install", "-at_install")
class TestHeldRow(SandboxMixin, TransactionCase):
    # ------------------------------------------------------------------
    # Committed data and crons in their own transactions
    # ------------------------------------------------------------------
    def commit_amazon_delivery(self):
        """An Amazon account bound to the sandbox and one validated delivery
        of an order of one item, committed. Returns their ids; they are
        deleted when the test ends."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            account = fixtures.amazon_account(
                env,
                self.sandbox.url,
                name="Amazon US (held row)",
                amazon_seller_id="A2HELDROW",
                lwa_refresh_token="Atzr|held-row-refresh-token",
            )
            carrier = fixtures.carrier(env, name="UPS (held row)")
            shipping = carrier.product_id
            customer = env["res.partner"].create({"name": "Held Row Buyer"})
            product = fixtures.product(env, "Held Row Widget", "HRW", stock=1)
            sale = fixtures.order(
                env, account, ORDER, [(product, 1, ITEM)], customer, carrier
            )
            picking = fixtures.ship(env, sale.picking_ids, TRACKING, carrier)
            ids = {
                "account": account.id,
                "carrier": carrier.id,
                "products": (shipping | product).ids,
                "templates": (shipping | product).product_tmpl_id.ids,
                "partner": customer.id,
                "order": sale.id,
                "picking": picking.id,
            }
        self.addCleanup(self.delete_committed, ids)
        return ids

    def delete_committed(self, ids):
        with self.registry.cursor() as cr:
            picking = [ids["picking"]]
            products = ids["products"]
            for query, args in [
                ("DELETE FROM stock_move_line WHERE picking_id = ANY(%s)", picking),
                ("DELETE FROM stock_move WHERE picking_id = ANY(%s)", picking),
                ("DELETE FROM stock_picking WHERE id = ANY(%s)", picking),
                ("DELETE FROM sale_order WHERE id = %s", ids["order"]),
                ("DELETE FROM ecommerce_account WHERE id = %s", ids["account"]),
                ("DELETE FROM delivery_carrier WHERE id = %s", ids["carrier"]),
                ("DELETE FROM stock_quant WHERE product_id = ANY(%s)", products),
                ("DELETE FROM product_template WHERE id = ANY(%s)", ids["templates"]),
                ("DELETE FROM res_partner WHERE id = %s", ids["partner"]),
            ]:
                cr.execute(query, [args])
            for model, res_ids in [
                ("stock.picking", picking),
                ("sale.order", [ids["order"]]),
                ("ecommerce.account", [ids["account"]]),
                ("res.partner", [ids["partner"]]),
                ("product.product", ids["products"]),
                ("product.template", ids["templates"]),
            ]:
                cr.execute(
                    "DELETE FROM mail_message WHERE model = %s AND res_id = ANY(%s)",
                    [model, res_ids],
                )

    def cron_in_own_transaction(self, xmlid):
        """Run a cron of this addon through Odoo's cron runner on a real
        connection of its own, committing as the scheduler does."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env.ref(f"stock_ecommerce_writeback.{xmlid}").method_direct_trigger()

    def read(self, picking_id):
        """What a third connection sees of the delivery (committed)."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT writeback_state, writeback_attempt_count,"
                " (SELECT count(*) FROM ecommerce_writeback_outcome o"
                "   WHERE o.picking_id = p.id)"
                " FROM stock_picking p WHERE p.id = %s",
                [picking_id],
            )
            return cr.fetchone()

    def waiting_on_a_lock(self, picking_id):
        """True while a connection waits for a row lock of this delivery's
        table (the engine applying its outcome)."""
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT count(*) FROM pg_locks l"
                " WHERE NOT l.granted AND l.relation = 'stock_picking'::regclass"
                "    OR NOT l.granted AND l.locktype = 'transactionid'"
            )
            return cr.fetchone()[0] > 0

    # ------------------------------------------------------------------
    def test_held_row_bounded_wait_then_stored_outcome_applied_next_run(self):
        """A user's transaction holds the delivery's row while the push
        applies Amazon's answer: the push waits for the row twice (once per
        snapshot) for at most 2 s each, stores the outcome and ends; once
        the user's transaction ends, the next run applies the stored
        outcome, nothing is sent twice, and the read-back finds on Amazon
        exactly what shipped."""
        ids = self.commit_amazon_delivery()
        picking_id = ids["picking"]
        self.assertEqual(self.read(picking_id), ("pending", 0, 0))
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": ITEM, "quantity": 1, "sku": "HRW"}],
        )
        # Amazon takes two seconds to answer: time for a user to take the
        # row once the claim is committed and the request is on its way.
        self.sandbox.inject_fault("amazon.confirmShipment", delay=2.0)
        failures = []

        def push():
            try:
                self.cron_in_own_transaction("ir_cron_writeback_push")
            except Exception as exc:  # noqa: BLE001 (reported by the main thread)
                failures.append(exc)

        worker = threading.Thread(target=push, name="held-row push")
        worker.start()
        deadline = time.monotonic() + 20
        while self.read(picking_id)[0] != "sending":  # the claim is committed
            self.assertLess(time.monotonic(), deadline, "the push claimed nothing")
            time.sleep(0.02)

        with self.registry.cursor() as user_cr:
            # A user saves the delivery in a transaction that lasts.
            user_env = api.Environment(user_cr, SUPERUSER_ID, {})
            user_env["stock.picking"].browse(picking_id).write(
                {"note": "<p>Packed by the morning shift</p>"}
            )
            user_env.flush_all()
            waited_from = waited_until = None
            while worker.is_alive():
                now = time.monotonic()
                if self.waiting_on_a_lock(picking_id):
                    waited_from = waited_from or now
                    waited_until = now
                self.assertLess(now, deadline + 20, "the push never ended")
                time.sleep(0.05)
            worker.join()
            self.assertFalse(failures)
            # The push ended while the user still held the row: the outcome
            # is stored, the delivery untouched, Amazon has the package.
            self.assertEqual(self.read(picking_id), ("sending", 1, 1))
            self.assertIsNotNone(waited_from, "the push never waited for the row")
            waited = waited_until - waited_from
            self.assertGreater(waited, 3.5, f"two waits of 2 s, not {waited:.2f} s")
            self.assertLess(waited, 5.0, f"2 x 2 s at most, not {waited:.2f} s")
            held = self.sandbox.amazon_order(ORDER)
            self.assertEqual(
                [p["tracking_number"] for p in held["packages"]], [TRACKING]
            )
        # (the user's transaction is committed here)

        self.cron_in_own_transaction("ir_cron_writeback_push")
        self.assertEqual(
            self.read(picking_id),
            ("submitted", 1, 0),
            "the stored outcome is applied by the next run",
        )
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)

        with self.registry.cursor() as cr:  # the verify delay passes
            cr.execute(
                "UPDATE stock_picking SET writeback_next_attempt ="
                " now() at time zone 'UTC' - interval '1 second'"
                " WHERE id = %s",
                [picking_id],
            )
        self.cron_in_own_transaction("ir_cron_writeback_verify")
        self.assertEqual(self.read(picking_id), ("success", 1, 0))
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)
        held = self.sandbox.amazon_order(ORDER)
        self.assertEqual(held["status"], "SHIPPED")
        self.assertEqual([p["tracking_number"] for p in held["packages"]], [TRACKING])
