# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The batch push: sellers take turns, a throttled seller gives its other
claims back unused, a shipment that cannot go is told why without holding
up the batch, and the chatter hears only what a user needs. (Its cost per
write-back is measured by ``scripts/benchmark_writeback.py``, not here.)"""

import datetime
import os
import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields
from odoo.tests import tagged
from odoo.tools import config

from ..marketplaces import pacer as marketplace_pacer
from .common import WritebackCase


@tagged("post_install", "-at_install")
class TestWritebackBatch(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.amazon_2 = cls.amazon.copy(
            {
                "name": "Amazon US, second seller (sandbox)",
                "amazon_seller_id": "A2SECOND",
                "lwa_refresh_token": "Atzr|second-seller-refresh-token",
            }
        )

    def _seller_of_sends(self):
        """The seller of each confirmShipment Amazon received, in order (the
        prefix of the order reference: 111 or 222)."""
        return [
            r["order_ref"].split("-")[0]
            for r in self.requests_of("amazon.confirmShipment")
        ]

    def test_sellers_take_turns_and_each_shipment_is_sent_once(self):
        """Two sellers with three shipments each: one push sends all six,
        alternating sellers (one seller's backlog never holds the other's
        shipments back), each exactly once, with its attempt counted and
        its call in the journal."""
        first = self.ship_amazon_orders(self.amazon, 3, "111")
        second = self.ship_amazon_orders(self.amazon_2, 3, "222")
        self.push()
        both = first | second
        self.assertEqual(set(both.mapped("writeback_state")), {"submitted"})
        self.assertEqual(set(both.mapped("writeback_attempt_count")), {1})
        sellers = self._seller_of_sends()
        self.assertEqual(sorted(sellers), ["111"] * 3 + ["222"] * 3)
        self.assertNotEqual(sellers[0], sellers[1], "sellers take turns")
        self.assertNotEqual(sellers[2], sellers[3], "sellers take turns")
        for picking in both:
            calls = picking.writeback_call_ids.filtered(
                lambda c: c.operation == "confirmShipment"
            )
            self.assertEqual(len(calls), 1)
            self.assertEqual(calls.outcome, "success")
            self.assertEqual(calls.company_id, picking.company_id)
            self.assertEqual(calls.order_ref, picking.ecommerce_order_ref)

    def test_throttled_seller_gives_its_other_claims_back_unused(self):
        """Amazon answers the first shipment of a seller with a 429 and
        Retry-After: that seller's other claimed shipments are not sent in
        this run and keep all their attempts; the other seller's go."""
        first = self.ship_amazon_orders(self.amazon, 3, "111")
        second = self.ship_amazon_orders(self.amazon_2, 2, "222")
        self.amazon_error(
            "amazon.confirmShipment",
            429,
            "QuotaExceeded",
            "You exceeded your quota for the requested resource.",
            headers={"Retry-After": "30"},
            order_ref=first[0].ecommerce_order_ref,
        )
        first.invalidate_recordset()
        before = fields.Datetime.now()
        self.push()
        self.assertEqual(set(second.mapped("writeback_state")), {"submitted"})
        self.assertEqual(set(first.mapped("writeback_state")), {"pending"})
        self.assertEqual(set(first.mapped("writeback_attempt_count")), {0})
        throttled = first.filtered("writeback_throttle_count")
        self.assertEqual(throttled, first[0])
        for picking in first:
            self.assertGreaterEqual(
                picking.writeback_next_attempt,
                before + datetime.timedelta(seconds=25),
                "waits for the marketplace, not retried at once",
            )
        sends = self._seller_of_sends()
        self.assertEqual(sends.count("111"), 1, "no send after the 429")

    def test_a_shipment_that_cannot_go_is_told_why_and_the_batch_goes_on(self):
        """The carrier of one delivery lost its Amazon code after the
        delivery was queued: that one stays pending with the reason and its
        attempt unused; the others of the batch are sent."""
        pickings = self.ship_amazon_orders(self.amazon, 3, "111")
        odd_carrier = self.carrier.copy()
        pickings[1].carrier_id = odd_carrier
        odd_carrier.amazon_carrier_code_id = False
        self.push()
        self.assertEqual(pickings[0].writeback_state, "submitted")
        self.assertEqual(pickings[2].writeback_state, "submitted")
        blocked = pickings[1]
        self.assertEqual(blocked.writeback_state, "pending")
        self.assertEqual(blocked.writeback_attempt_count, 0)
        self.assertFalse(blocked.writeback_next_attempt)
        self.assertIn(odd_carrier.name, blocked.writeback_error)
        self.assertIn("has no Amazon carrier code", blocked.writeback_error)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 2)

    def test_only_what_a_user_needs_reaches_the_chatter(self):
        """Pending, sending and submitted are bookkeeping: a write-back that
        goes through posts one message, when Amazon shows the package."""
        picking = self.ship_amazon_orders(self.amazon, 1, "111")
        messages = picking.message_ids
        self.push()
        self.assertEqual(picking.writeback_state, "submitted")
        self.assertEqual(picking.message_ids, messages, "nothing to tell yet")
        self.make_due(picking)
        self.verify()
        self.assertEqual(picking.writeback_state, "success")
        new = picking.message_ids - messages
        self.assertEqual(len(new), 1)
        self.assertIn("Shipment confirmed on", new.body)
        self.assertFalse(new.tracking_value_ids)

    def test_a_claim_takes_no_more_than_its_batch(self):
        """One claim of a batch of 3 (a queue job's unit of work) sends 3
        shipments of the 7 due, never more, however PostgreSQL plans it."""
        pickings = self.ship_amazon_orders(self.amazon, 7, "111")
        for limit in (3, 1):
            with self.enter_registry_test_mode(), self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                engine = env["ecommerce.writeback.engine"]
                sent = engine._push_account(
                    env["ecommerce.account"].browse(self.amazon.id), limit=limit
                )
            self.env.invalidate_all()
            self.assertEqual(sent, limit)
        self.assertEqual(
            len(pickings.filtered(lambda p: p.writeback_state == "submitted")), 4
        )
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 4)

    def test_a_push_claims_50_shipments_of_a_seller_at_a_time(self):
        """A worker claims 50 due shipments of a seller at a time (one
        statement, committed before its first send): the 51st is not
        claimed until the next batch."""
        pickings = self.ship_amazon_orders(self.amazon, 51, "111")
        seen = []

        def states_at_first_send():
            self.env.cr.execute(  # what the worker committed
                "SELECT writeback_state, count(*) FROM stock_picking"
                " WHERE id = ANY(%s) GROUP BY writeback_state",
                [pickings.ids],
            )
            seen.append(dict(self.env.cr.fetchall()))

        self.push_killed(on_send=states_at_first_send)
        self.assertEqual(seen, [{"sending": 50, "pending": 1}])

    def test_a_shipment_that_cannot_be_built_waits_without_using_an_attempt(self):
        """A bug while building one claimed shipment: that delivery goes back
        to pending with the reason, its attempt unused, tried again after
        the base delay; the rest of the batch is sent."""
        pickings = self.ship_amazon_orders(self.amazon, 3, "111")
        broken = pickings[1]
        Picking = type(self.env["stock.picking"])
        build = Picking._writeback_checked_shipment

        def checked_shipment(picking):
            if picking == broken:
                raise RuntimeError("a bug")
            return build(picking)

        with (
            patch.object(Picking, "_writeback_checked_shipment", checked_shipment),
            self.assertLogs(
                "odoo.addons.stock_ecommerce_writeback.models.writeback_claim", "ERROR"
            ),
        ):
            self.push()
        self.assertEqual(
            (pickings - broken).mapped("writeback_state"), ["submitted", "submitted"]
        )
        self.assertEqual(broken.writeback_state, "pending")
        self.assertEqual(broken.writeback_attempt_count, 0)
        self.assertIn("could not be built (RuntimeError)", broken.writeback_error)
        wait = (broken.writeback_next_attempt - fields.Datetime.now()).total_seconds()
        self.assertGreater(wait, 240)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 2)

    def test_an_account_whose_client_cannot_be_built_does_not_stop_the_others(self):
        """One seller's endpoint became unusable (stored by hand, past the
        form's check): its shipments wait with the reason, attempts unused,
        and the other seller's shipments go."""
        mine = self.ship_amazon_orders(self.amazon, 1, "111")
        theirs = self.ship_amazon_orders(self.amazon_2, 1, "222")
        self.amazon_2.writeback_pacing_state = {"confirmShipment": [1.0, 0.0]}
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE ecommerce_account SET api_base_url = 'http://192.0.2.1'"
            " WHERE id = %s",
            [self.amazon_2.id],
        )
        self.amazon_2.invalidate_recordset()
        with self.assertLogs(
            "odoo.addons.stock_ecommerce_writeback.models", "ERROR"
        ) as logged:
            self.push()
        self.assertTrue(logged.output)
        self.assertEqual(mine.writeback_state, "submitted")
        self.assertEqual(theirs.writeback_state, "pending")
        self.assertEqual(theirs.writeback_attempt_count, 0)
        self.assertIn("could not be built", theirs.writeback_error)
        self.assertEqual(
            [r["order_ref"] for r in self.requests_of("amazon.confirmShipment")],
            ["111-0000000-0000000"],
        )

    def test_the_attempt_count_never_exceeds_the_accounts_maximum(self):
        """Retry now on a Submitted shipment that used its 5 attempts gives it
        a fresh set; a shipment with more attempts than a lowered maximum is
        sent with the count at the maximum (its last attempt)."""
        submitted, waiting = self.ship_amazon_orders(self.amazon, 2, "111")
        # the second is refused at first (nothing recorded on Amazon)
        self.amazon_error(
            "amazon.confirmShipment",
            503,
            "InternalFailure",
            "down",
            order_ref=waiting.ecommerce_order_ref,
        )
        self.push()
        self.assertEqual(waiting.writeback_state, "pending")
        engine = {"writeback_engine": True}
        submitted.with_context(**engine).write({"writeback_attempt_count": 5})
        submitted.action_writeback_retry()
        self.assertEqual(submitted.writeback_attempt_count, 0)
        self.amazon_error(
            "amazon.confirmShipment", 503, "InternalFailure", "down", times=None
        )
        waiting.with_context(**engine).write(
            {"writeback_state": "pending", "writeback_attempt_count": 3}
        )
        self.make_due(waiting)
        self.amazon.max_attempts = 2
        self.push()
        self.assertEqual(waiting.writeback_attempt_count, 2)
        self.assertEqual(waiting.writeback_state, "failed")
        self.assertIn("gave up after 2 attempts", waiting.writeback_error)
        self.assertLessEqual(submitted.writeback_attempt_count, 2)

    def test_a_queued_claim_another_worker_took_is_never_sent(self):
        """While the worker sends the first of its claims, the verify cron of
        another worker takes the second one (its lease moved on, as when it
        reconciles an expired lease): right before its turn the worker sees
        the claim is no longer its own and does not send it."""
        first, second = self.ship_amazon_orders(self.amazon, 2, "111")
        moved = []

        def other_worker_takes_the_second():
            if not moved:
                self.env.cr.execute(
                    "UPDATE stock_picking SET writeback_lease_until ="
                    " writeback_lease_until + interval '1 minute' WHERE id = %s",
                    [second.id],
                )
                moved.append(second)

        from ..marketplaces.amazon import AmazonClient

        confirm = AmazonClient.confirm_shipment

        def confirm_and_interfere(client, shipment):
            other_worker_takes_the_second()
            return confirm(client, shipment)

        with patch.object(AmazonClient, "confirm_shipment", confirm_and_interfere):
            self.push()
        self.assertEqual(first.writeback_state, "submitted")
        self.assertEqual(second.writeback_state, "sending", "left to its new owner")
        self.assertEqual(
            [r["order_ref"] for r in self.requests_of("amazon.confirmShipment")],
            [first.ecommerce_order_ref],
        )

    def test_a_run_claims_only_what_it_can_send_in_the_time_it_has(self):
        """In prefork, Odoo kills a cron worker limit_time_real_cron seconds
        after its job started: a push with 5 s claims only what the seller's
        rate (Amazon: 2 confirmations a second, burst 10) lets it send in
        the time it has left, not its whole batch; the rest stays pending,
        attempts unused, for the next run. Without a limit it claims the
        batch."""
        pickings = self.ship_amazon_orders(self.amazon, 30, "111")
        seen = []

        def states_at_first_send():
            self.env.cr.execute(
                "SELECT writeback_state, count(*) FROM stock_picking"
                " WHERE id = ANY(%s) GROUP BY writeback_state",
                [pickings.ids],
            )
            seen.append(dict(self.env.cr.fetchall()))

        limits = {"workers": 2, "limit_time_real_cron": 5}
        with patch.dict(config.options, limits):
            self.push_killed(on_send=states_at_first_send)
        claimed = seen[0].get("sending", 0)
        self.assertGreaterEqual(claimed, 9, seen)  # the burst at least
        self.assertLessEqual(claimed, 20, seen)  # 10 + 2/s x 5 s at most
        self.assertEqual(
            set(
                pickings.filtered(lambda p: p.writeback_state == "pending").mapped(
                    "writeback_attempt_count"
                )
            ),
            {0},
        )

        seen.clear()
        rest = pickings.filtered(lambda p: p.writeback_state == "pending")
        marketplace_pacer.PACER.reset()
        self.push_killed(on_send=states_at_first_send)  # no limit (threaded)
        self.assertEqual(seen[0].get("pending", 0), 0, "the whole batch is claimed")
        self.assertTrue(rest)

    def test_claims_waiting_their_turn_keep_their_lease(self):
        """A slow marketplace: the claims queued behind the sends get their
        leases extended before they end (committed), so the verify cron
        never takes a claim still waiting in the queue; a claim another
        worker or a user took meanwhile leaves the queue and is never
        sent."""
        from ..models.writeback_engine import LEASE_SECONDS, PushRound, WritebackRun

        first, second, third = self.ship_amazon_orders(self.amazon, 3, "111")
        ids = [first.id, second.id, third.id]
        soon = fields.Datetime.now() + datetime.timedelta(seconds=5)
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            # a worker of its own, committing as the crons do
            env = api.Environment(cr, SUPERUSER_ID, {})
            engine = env["ecommerce.writeback.engine"]
            account = env["ecommerce.account"].browse(self.amazon.id)
            run = WritebackRun(env)
            push = PushRound([account.id])
            push.add_claims(
                [account.id], engine._claim_batch(run, [account.id], 50, push)
            )
            queue = push.queues[account.id]
            self.assertEqual([item.picking.id for item in queue], ids)

            # Time passes behind a slow marketplace: the leases are about to
            # end, and the third was taken over (its lease moved on by
            # someone else).
            cr.execute(
                "UPDATE stock_picking SET writeback_lease_until = %s"
                " WHERE id = ANY(%s)",
                [soon, ids[:2]],
            )
            cr.execute(
                "UPDATE stock_picking SET writeback_lease_until = %s WHERE id = %s",
                [soon + datetime.timedelta(minutes=30), third.id],
            )
            for item in queue:
                item.lease = soon
            before = fields.Datetime.now()
            engine._extend_leases(push)
            self.assertEqual(
                [item.picking.id for item in push.queues[account.id]],
                ids[:2],
                "the claim taken over left the queue",
            )
            env.invalidate_all()
            for picking in env["stock.picking"].browse(ids[:2]):
                self.assertGreaterEqual(
                    picking.writeback_lease_until,
                    before + datetime.timedelta(seconds=LEASE_SECONDS - 1),
                    "extended by a whole lease",
                )
            # Once the old leases would have ended, the verify cron takes
            # none of the claims still queued.
            later = soon + datetime.timedelta(minutes=1)
            with patch.object(fields.Datetime, "now", return_value=later):
                due = env["stock.picking"].search(engine._verify_domain())
            self.assertFalse(set(due.ids) & set(ids[:2]))

            # The queue is sent: the two extended claims, never the third.
            while push.queues.get(account.id):
                item = push.queues[account.id].pop(0)
                if engine._still_ours(item):
                    push.add_result(item, engine._send_claimed(run, item))
            engine._apply_batch(run, push.take_results())
            run.flush_journal()
        self.env.invalidate_all()
        self.assertEqual(
            sorted(r["order_ref"] for r in self.requests_of("amazon.confirmShipment")),
            sorted([first.ecommerce_order_ref, second.ecommerce_order_ref]),
        )
        self.assertEqual((first | second).mapped("writeback_state"), ["submitted"] * 2)
        self.assertEqual(third.writeback_state, "sending")

    def test_many_read_backs_go_by_search_pages_not_one_read_each(self):
        """Reads are picked by the seller's whole backlog, not by the size
        of one batch: 35 Amazon shipments due for their read-back at once,
        more than getOrder's bucket covers (burst 30), verified in batches
        of 12: the first batch goes by one searchOrders page, which carries
        the other batches' orders too: one request instead of 35, every one
        Success against what Amazon holds. 20 due later, which getOrder
        covers, are read one by one (a search page refills in 3 minutes)."""
        pickings = self.ship_amazon_orders(self.amazon, 35, "112")
        self.push()
        self.assertEqual(set(pickings.mapped("writeback_state")), {"submitted"})
        self.make_due(pickings)
        marketplace_pacer.PACER.reset()
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ecommerce.writeback.engine"]._cron_verify(batch_size=12)
        self.env.invalidate_all()
        self.assertEqual(set(pickings.mapped("writeback_state")), {"success"})
        self.assertEqual(
            [r["status"] for r in self.requests_of("amazon.searchOrders")], [200]
        )
        self.assertEqual(self.requests_of("amazon.getOrder"), [])
        for picking in pickings:
            held = self.sandbox.amazon_order(picking.ecommerce_order_ref)
            self.assertEqual(
                [p["tracking_number"] for p in held["packages"]],
                [picking.carrier_tracking_ref],
            )

        later = self.ship_amazon_orders(self.amazon, 20, "113")
        self.push()
        self.make_due(later)
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ecommerce.writeback.engine"]._cron_verify(batch_size=12)
        self.env.invalidate_all()
        self.assertEqual(set(later.mapped("writeback_state")), {"success"})
        self.assertEqual(len(self.requests_of("amazon.searchOrders")), 1)
        self.assertEqual(len(self.requests_of("amazon.getOrder")), 20)

    def test_read_back_buckets_follow_the_seller_across_workers(self):
        """Two verify runs of one seller in two cron workers, one after the
        other: the second is paced from the getOrder bucket the first left
        (stored on the account), not from a full one that Amazon no longer
        has: no 429. A push saving its confirmShipment bucket meanwhile
        keeps the read buckets (each operation's later state wins)."""
        pickings = self.ship_amazon_orders(self.amazon, 24, "114")
        self.push()
        self.make_due(pickings)
        marketplace_pacer.PACER.reset()
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ecommerce.writeback.engine"]._cron_verify()
        self.env.invalidate_all()
        self.assertEqual(len(self.requests_of("amazon.getOrder")), 24)
        read_state = self.amazon.writeback_pacing_state
        self.assertIn("getOrder", read_state)
        # A push in the first worker stores what its process knew earlier:
        # an older getOrder bucket (a full one) beside its confirmShipment.
        engine = self.env["ecommerce.writeback.engine"]
        engine._store_pacing(
            self.amazon,
            {
                "getOrder": [30.0, read_state["getOrder"][1] - 60],
                "confirmShipment": [3.0, read_state["getOrder"][1] + 1],
            },
        )
        self.amazon.invalidate_recordset()
        stored = self.amazon.writeback_pacing_state
        self.assertEqual(stored["getOrder"], read_state["getOrder"])
        self.assertEqual(stored["confirmShipment"][0], 3.0)

        more = self.ship_amazon_orders(self.amazon, 12, "115")
        self.push()
        self.make_due(more)
        marketplace_pacer.PACER.reset()  # another worker: a process of its own
        self.forget_readbacks()
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ecommerce.writeback.engine"]._cron_verify()
        self.env.invalidate_all()
        self.assertNotIn(
            429, [r["status"] for r in self.requests_of("amazon.getOrder")]
        )
        self.assertNotIn(
            429, [r["status"] for r in self.requests_of("amazon.searchOrders")]
        )

    def test_a_read_the_rate_limit_would_pause_is_held_back_not_slept_on(self):
        """One seller's getOrder bucket is empty (another worker read just
        now), the other's is full: the verify reads the second seller's
        order and holds the first one's back, without a request, a sleep or
        a failed read counted: due again when the bucket allows. A run
        without time left holds every read back the same way."""
        from ..models.writeback_engine import WritebackEngine

        mine = self.ship_amazon_orders(self.amazon, 1, "111")
        theirs = self.ship_amazon_orders(self.amazon_2, 1, "222")
        self.push()
        self.make_due(mine | theirs)
        marketplace_pacer.PACER.reset()
        now = time.time()
        # half a token: the pacer would sleep about a second for it
        self.amazon.writeback_pacing_state = {"getOrder": [0.5, now]}
        slept = []
        with patch.object(time, "sleep", slept.append):
            self.verify()
        self.assertEqual(theirs.writeback_state, "success")
        self.assertEqual(mine.writeback_state, "submitted")
        self.assertEqual(mine.writeback_read_failures, 0)
        self.assertEqual(
            [r["order_ref"] for r in self.requests_of("amazon.getOrder")],
            [theirs.ecommerce_order_ref],
        )
        self.assertFalse([s for s in slept if s >= 1], "no sleep on one seller")
        due_in = (mine.writeback_next_attempt - fields.Datetime.now()).total_seconds()
        self.assertLessEqual(due_in, 5, "due again when the bucket has a token")

        self.time_passes()
        self.make_due(mine)
        with patch.object(WritebackEngine, "_time_left", return_value=0.0):
            self.verify()
        self.assertEqual(mine.writeback_state, "submitted")
        self.assertEqual(mine.writeback_read_failures, 0)
        self.assertEqual(len(self.requests_of("amazon.getOrder")), 1)

        self.make_due(mine)
        self.verify()
        self.assertEqual(mine.writeback_state, "success")

    def test_jobs_of_one_cron_wake_up_share_its_deadline(self):
        """Odoo kills a cron worker limit_time_real_cron seconds after it
        last pinged its master, which it does before it sleeps: a job's
        time counts the sleep before it and the jobs before it in the same
        wake-up (less a margin of 20 % of the limit). A fresh worker may
        have slept a whole interval; a job right after another one shares
        its deadline; a job woken soon after the previous one ended has
        nearly the whole limit; a deadline already gone never leaves a job
        with nothing."""
        from ..models import writeback_engine as module

        engine = self.env["ecommerce.writeback.engine"]
        clock = [1000.0]
        limits = {"workers": 2, "limit_time_real_cron": 120}
        margin = 120 * (1 - module.TIME_LEFT_SHARE)
        sleep = module.MAX_CRON_SLEEP

        def time_left(started, cron_id=1):
            clock[0] = started
            end = started + module.MIN_TIME_PER_JOB
            return engine.with_context(cron_end_time=end, cron_id=cron_id)._time_left()

        def ended(at):
            clock[0] = at
            engine._job_ended()

        pid = os.getpid()
        with (
            patch.dict(config.options, limits),
            patch.dict(module._WORKER_DEADLINE, clear=True),
            patch.dict(module._PROCESS_STARTED, {pid: 0.0}),
            patch.object(module.time, "monotonic", lambda: clock[0]),
        ):
            # a fresh worker: it may have slept a whole interval already
            self.assertAlmostEqual(time_left(1000.0), 120 - sleep - margin)
            ended(1010.0)
            # the next job of the same wake-up: the same deadline
            self.assertAlmostEqual(
                time_left(1011.0, cron_id=2), 1000 - sleep + 120 - 1011 - margin
            )
            ended(1012.0)
            # woken 18 s later (a notification): the ping came at 1012
            self.assertAlmostEqual(time_left(1030.0), 1012 + 120 - 1030 - margin)
            # a later claim of the same run: the same deadline, less the time
            # spent (not a fresh worker's)
            clock[0] = 1040.0
            end = 1030.0 + module.MIN_TIME_PER_JOB
            self.assertAlmostEqual(
                engine.with_context(cron_end_time=end, cron_id=1)._time_left(),
                1012 + 120 - 1040 - margin,
            )
            ended(1050.0)
            # the same job again at once: a new wake-up (each due job runs
            # once per wake-up), its ping right after the last one ended
            self.assertAlmostEqual(time_left(1051.0), 1050 + 120 - 1051 - margin)
            ended(1100.0)
            # after a long sleep: the last ping was at most a sleep ago
            self.assertAlmostEqual(time_left(1300.0), 120 - sleep - margin)
            ended(1400.0)
            # at once, but that deadline is gone: a new wake-up
            self.assertGreater(time_left(1401.0), 0)

        # A limit shorter than the sleep (20 s): a worker started 5 s ago
        # (the previous one was killed) has 15 s, less 4 s of margin.
        with (
            patch.dict(config.options, {"workers": 2, "limit_time_real_cron": 20}),
            patch.dict(module._WORKER_DEADLINE, clear=True),
            patch.dict(module._PROCESS_STARTED, {pid: 2000.0}),
            patch.object(module.time, "monotonic", lambda: clock[0]),
        ):
            self.assertAlmostEqual(time_left(2005.0), 20 - 5 - 4)
