# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The two runners of the push: the cron (default) and, when the addon
queue_job is installed and the setting is on, queue jobs (one per account and
batch, a channel per seller, never two jobs of a seller at once).

The test database has queue_job (scripts/test.sh); the addon does not
depend on it. Jobs are stored for real and run through queue_job's own
``/queue_job/runjob`` controller code, in registry test mode."""

import datetime
import unittest

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.tests import tagged

from ..marketplaces import pacer as marketplace_pacer
from . import fixtures
from .common import WritebackCase

PARAM = "stock_ecommerce_writeback.use_queue_job"
JOB_FUNCTION = "<ecommerce.writeback.engine>._job_push_account"


@tagged("post_install", "-at_install")
class TestPushRunners(WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if "queue.job" not in cls.env:
            raise unittest.SkipTest("queue_job is not installed in this database")
        cls.amazon_2 = fixtures.amazon_account(
            cls.env,
            cls.sandbox.url,
            name="Amazon US, second seller (sandbox)",
            amazon_seller_id="A3SELLER",
            lwa_refresh_token="Atzr|second-seller-refresh-token",
            user_id=cls.responsible.id,
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def set_queue_mode(self, on):
        self.env["ir.config_parameter"].sudo().set_param(PARAM, "True" if on else "")

    def push_with_batch(self, batch_size):
        """The push cron's body with another batch size, in a cursor of its
        own as the cron runner gives it (so that it may commit)."""
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["ecommerce.writeback.engine"]._cron_push(batch_size=batch_size)
        self.env.invalidate_all()

    def push_jobs(self):
        return self.env["queue.job"].search(
            [("job_function_id.name", "=", JOB_FUNCTION)], order="id"
        )

    def run_job(self, job):
        """Run ``job`` as the job runner does, with the code of queue_job's
        /queue_job/runjob controller: acquire it (enqueued -> started, job
        lock), perform it (in a cursor of its own: the push job may commit)
        and mark it done, or postpone it."""
        from odoo.addons.queue_job.controllers.main import RunJobController
        from odoo.addons.queue_job.exception import RetryableJobError

        job.with_context(_job_edit_sentinel=job.EDIT_SENTINEL).state = "enqueued"
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            acquired = RunJobController._acquire_job(env, job.uuid)
            self.assertTrue(acquired, f"the runner could not acquire {job.name}")
            try:
                RunJobController._try_perform_job(env, acquired)
            except RetryableJobError as err:
                # RunJobController._runjob's retry_postpone, in this cursor:
                # in tests every cursor shares one transaction, so the
                # controller's final rollback would undo its own postpone.
                cr.rollback()
                acquired.postpone(result=str(err), seconds=err.seconds)
                acquired.set_pending(reset_retry=False)
                acquired.store()
        self.env.invalidate_all()

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------
    def test_default_the_cron_sends(self):
        """Without the setting (the default, queue_job installed or not),
        the push cron sends the shipments itself and queues no job."""
        self.assertFalse(
            self.env["ir.config_parameter"].sudo().get_param(PARAM),
            "queue mode is off by default",
        )
        pickings = self.ship_amazon_orders(
            self.amazon, 3, "111"
        ) | self.ship_amazon_orders(self.amazon_2, 2, "222")
        self.push()
        self.assertEqual(set(pickings.mapped("writeback_state")), {"submitted"})
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 5)
        self.assertFalse(self.push_jobs())
        self.assertFalse(
            self.env["queue.job"].search_count(
                [("identity_key", "=like", "stock_ecommerce_writeback.%")]
            )
        )

    def test_queue_mode_fans_out_then_jobs_send(self):
        """With the setting on, the cron queues one job per account and
        batch in the seller's channel, sends nothing itself, and never
        queues a batch twice; running the jobs sends every shipment."""
        self.set_queue_mode(True)
        first = self.ship_amazon_orders(self.amazon, 5, "111")
        second = self.ship_amazon_orders(self.amazon_2, 1, "222")

        self.push_with_batch(2)
        self.assertEqual(self.requests_of("amazon.confirmShipment"), [])
        self.assertEqual(
            set((first | second).mapped("writeback_state")),
            {"pending"},
            "the cron claims nothing in queue mode",
        )
        jobs = self.push_jobs()
        self.assertEqual(
            [(j.identity_key, j.channel, j.state) for j in jobs],
            [
                # interleaved: every seller's first batch first
                (
                    f"stock_ecommerce_writeback.push:{self.amazon.id}:0",
                    f"root.ecommerce_writeback.seller_{self.amazon.id}",
                    "pending",
                ),
                (
                    f"stock_ecommerce_writeback.push:{self.amazon_2.id}:0",
                    f"root.ecommerce_writeback.seller_{self.amazon_2.id}",
                    "pending",
                ),
                (
                    f"stock_ecommerce_writeback.push:{self.amazon.id}:1",
                    f"root.ecommerce_writeback.seller_{self.amazon.id}",
                    "pending",
                ),
                (
                    f"stock_ecommerce_writeback.push:{self.amazon.id}:2",
                    f"root.ecommerce_writeback.seller_{self.amazon.id}",
                    "pending",
                ),
            ],
        )
        self.assertIn("Amazon US (sandbox)", jobs[0].name)
        function = jobs.job_function_id
        self.assertTrue(function.allow_commit, "the push job commits as it goes")
        self.assertEqual(function.channel, "root.ecommerce_writeback")

        # The next cron run (or a validation waking it) queues nothing new.
        self.push_with_batch(2)
        self.push()
        self.assertEqual(self.push_jobs(), jobs)

        # Once the first batch is sent, 3 shipments of the first seller are
        # due, and its 2 remaining jobs cover them: nothing more is queued.
        self.run_job(jobs[0])
        self.push_with_batch(2)
        self.assertEqual(self.push_jobs(), jobs)

        for job in jobs[1:]:
            self.run_job(job)
        self.assertEqual(set(jobs.mapped("state")), {"done"}, jobs.mapped("result"))
        self.assertEqual(
            jobs.mapped("result"),
            [
                "2 shipment(s) sent.",  # first seller, batch 1
                "1 shipment(s) sent.",  # second seller
                "2 shipment(s) sent.",  # first seller, batch 2
                "1 shipment(s) sent.",  # first seller, batch 3
            ],
        )
        self.assertEqual(set((first | second).mapped("writeback_state")), {"submitted"})
        confirms = self.requests_of("amazon.confirmShipment")
        self.assertEqual(len(confirms), 6, "each shipment sent once")
        for picking in first | second:
            [package] = self.sandbox.amazon_order(picking.ecommerce_order_ref)[
                "packages"
            ]
            self.assertEqual(package["tracking_number"], picking.carrier_tracking_ref)

        # Nothing due: the cron queues nothing.
        self.push_with_batch(2)
        self.assertEqual(self.push_jobs(), jobs)

    def test_one_job_per_seller_at_a_time(self):
        """A job whose seller is busy (another worker or machine holds the
        seller's lock) sends nothing and is postponed, without using a
        retry; once the seller is free it sends."""
        self.set_queue_mode(True)
        pickings = self.ship_amazon_orders(self.amazon, 2, "111")
        self.push()
        [job] = self.push_jobs()

        # Another worker's connection holds the seller's lock.
        engine = self.env["ecommerce.writeback.engine"]
        with sql_db.db_connect(self.env.cr.dbname).cursor() as other:
            self.assertTrue(engine._writeback_try_seller_lock(other, self.amazon.id))
            before = fields.Datetime.now()
            self.run_job(job)
            after = fields.Datetime.now()
            other.rollback()
        self.assertEqual(job.state, "pending")
        self.assertEqual(job.retry, 0, "waiting for the seller is not a retry")
        five = datetime.timedelta(seconds=5)
        eta = job.eta.replace(microsecond=0)  # (queue_job keeps microseconds)
        self.assertTrue(
            before + five <= eta <= after + five,
            f"postponed 5 s: {before} .. {after}, eta {job.eta}",
        )
        self.assertIn(
            f"Another job is sending for seller {self.amazon.id}: retrying in 5 s.",
            job.result,
        )
        self.assertEqual(self.requests_of("amazon.confirmShipment"), [])
        self.assertEqual(set(pickings.mapped("writeback_state")), {"pending"})

        self.run_job(job)
        self.assertEqual(job.state, "done")
        self.assertEqual(set(pickings.mapped("writeback_state")), {"submitted"})
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 2)

    def test_a_job_at_its_sellers_rate_limit_comes_back_later(self):
        """A job never sleeps on its seller's rate limit while the worker
        could run other sellers' jobs: once the seller's burst is used it
        gives the shipments it did not send back (attempts unused) and is
        queued again, same batch slot, to start when the seller can send;
        that job sends the rest."""
        self.set_queue_mode(True)
        pickings = self.ship_amazon_orders(self.amazon, 14, "111")
        self.push()
        [job] = self.push_jobs()
        self.run_job(job)
        self.assertEqual(job.state, "done")
        sent = pickings.filtered(lambda p: p.writeback_state == "submitted")
        waiting = pickings - sent
        self.assertTrue(sent, job.result)
        self.assertTrue(waiting, "more than a burst: some wait for the seller")
        self.assertLess(len(self.requests_of("amazon.confirmShipment")), 14)
        self.assertFalse(
            [
                r
                for r in self.requests_of("amazon.confirmShipment")
                if r["status"] == 429
            ],
            "no 429: the job stopped before Amazon would throttle",
        )
        self.assertEqual(set(waiting.mapped("writeback_state")), {"pending"})
        self.assertEqual(set(waiting.mapped("writeback_attempt_count")), {0})
        again = self.push_jobs() - job
        self.assertEqual(len(again), 1)
        self.assertEqual(again.identity_key, job.identity_key)
        self.assertEqual(again.channel, job.channel)
        self.assertEqual(again.state, "pending")
        # A burst's worth later (Amazon refills 10 confirmations in 5 s),
        # even though one send could go in half a second.
        self.assertIn("the rest in 5.0 s.", job.result)
        self.assertGreaterEqual(
            again.eta, job.date_started + datetime.timedelta(seconds=5)
        )
        self.assertLessEqual(
            again.eta.replace(microsecond=0),
            job.date_done + datetime.timedelta(seconds=5),
        )

        # The next job of the seller may run on another worker (a process
        # whose pacer never saw this seller): it starts from the bucket the
        # last job left, so it does not send into Amazon's empty bucket.
        self.assertIn("confirmShipment", self.amazon.writeback_pacing_state)
        marketplace_pacer.PACER.reset()
        sends = len(self.requests_of("amazon.confirmShipment"))
        self.run_job(again)
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), sends)
        [later] = self.push_jobs() - job - again
        self.assertEqual(later.identity_key, job.identity_key)

        # Time passes: the seller's buckets (Amazon's, the client's) refill.
        self.time_passes()
        self.run_job(later)
        self.assertEqual(set(pickings.mapped("writeback_state")), {"submitted"})
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 14)

    def test_accounts_sharing_credentials_share_a_seller(self):
        """Two accounts on one seller authorization (e.g. two marketplaces
        of one seller) are one seller: their jobs share a channel, and
        while a job sends for one, the other's job waits for it; another
        seller's job goes at once."""
        amazon_ca = self.amazon.copy(
            {
                "name": "Amazon CA (same seller)",
                "amazon_marketplace_id": "A2EUQ1WTGCTBG2",
                "lwa_refresh_token": self.amazon.lwa_refresh_token,
                "lwa_client_id": self.amazon.lwa_client_id,
            }
        )
        self.set_queue_mode(True)
        pickings = self.ship_amazon_orders(self.amazon, 1, "111")
        pickings |= self.ship_amazon_orders(amazon_ca, 1, "222")
        pickings |= self.ship_amazon_orders(self.amazon_2, 1, "333")
        self.push()
        jobs = self.push_jobs()
        by_account = {job.kwargs.get("account_id", job.args[0]): job for job in jobs}
        us, ca, other = (
            by_account[a.id] for a in (self.amazon, amazon_ca, self.amazon_2)
        )
        seller = f"root.ecommerce_writeback.seller_{self.amazon.id}"
        self.assertEqual((us.channel, ca.channel), (seller, seller))
        self.assertNotEqual(other.channel, seller)

        # A worker is sending for Amazon US: Amazon CA's job waits for it.
        engine = self.env["ecommerce.writeback.engine"]
        with sql_db.db_connect(self.env.cr.dbname).cursor() as busy:
            self.assertTrue(engine._writeback_try_seller_lock(busy, self.amazon.id))
            self.run_job(ca)
            self.run_job(other)
            busy.rollback()
        self.assertEqual(ca.state, "pending")
        self.assertIn("Another job is sending for seller", ca.result)
        self.assertEqual(other.state, "done")
        sent = {r["order_ref"] for r in self.requests_of("amazon.confirmShipment")}
        self.assertEqual(sent, {"333-0000000-0000000"})

        self.run_job(ca)
        self.run_job(us)
        self.assertEqual(set(pickings.mapped("writeback_state")), {"submitted"})

    def test_a_job_per_batch_of_50_due_shipments(self):
        """The cron queues one job per 50 due shipments of an account: 50
        make one job, the 51st a second one."""
        self.set_queue_mode(True)
        self.ship_amazon_orders(self.amazon, 50, "111")
        self.push()
        self.assertEqual(len(self.push_jobs()), 1)
        self.ship_amazon_orders(self.amazon, 1, "112")
        self.push()
        jobs = self.push_jobs()
        self.assertEqual(
            jobs.mapped("identity_key"),
            [
                f"stock_ecommerce_writeback.push:{self.amazon.id}:{batch}"
                for batch in (0, 1)
            ],
        )

    def test_turning_queue_mode_off_gives_the_push_back_to_the_cron(self):
        """Jobs still queued when the setting is turned off do nothing; the
        cron sends."""
        self.set_queue_mode(True)
        pickings = self.ship_amazon_orders(self.amazon, 1, "111")
        self.push()
        [job] = self.push_jobs()
        self.set_queue_mode(False)
        self.push()
        self.assertEqual(pickings.writeback_state, "submitted")
        self.run_job(job)
        self.assertEqual(job.state, "done")
        self.assertEqual(job.result, "Queue mode is off: the push cron sends.")
        self.assertEqual(len(self.requests_of("amazon.confirmShipment")), 1)

    def test_setting_in_inventory_settings(self):
        """The administrator turns queue mode on in Inventory > Settings."""
        arch = self.env["res.config.settings"].get_views([(False, "form")])["views"][
            "form"
        ]["arch"]
        self.assertIn('name="writeback_use_queue_job"', arch)
        engine = self.env["ecommerce.writeback.engine"]
        self.assertFalse(engine._writeback_use_queue_job())
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.writeback_queue_job_available)
        settings.writeback_use_queue_job = True
        settings.execute()
        self.assertTrue(engine._writeback_use_queue_job())
        settings = self.env["res.config.settings"].create({})
        self.assertTrue(settings.writeback_use_queue_job)
        settings.writeback_use_queue_job = False
        settings.execute()
        self.assertFalse(engine._writeback_use_queue_job())
