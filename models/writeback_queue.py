# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""OCA ``queue_job`` as the optional, distributed runner of the push.

Off by default. When the addon ``queue_job`` is installed *and* the setting
``stock_ecommerce_writeback.use_queue_job`` is on (Inventory > Settings),
the push cron still applies stored outcomes and rechecks blocked shipments,
then fans the sending out as jobs instead of sending itself:

* one job per seller account and batch of ``batch_size`` due shipments, each
  calling :meth:`_push_account` (which claims with row locks, skipping locked
  rows, so two jobs never send the same shipment);
* an identity key per account and batch slot, so a batch waiting or running
  is never queued a second time by the next cron run, and an account never
  has more jobs waiting or running than it has batches of due shipments;
* a channel per seller authorization (the accounts sharing credentials, as
  the client's pacer groups them), ``root.ecommerce_writeback.seller_<id>``;
* a PostgreSQL advisory lock per seller authorization held for the whole
  job, so that two jobs of one seller never run at once on two workers or
  machines, whatever the job runner's channel configuration: the pacer is
  per process, so two of them would together exceed the seller's rate. A
  job finding the lock held is postponed a few seconds (not counted as a
  retry).

Nothing here imports ``queue_job``: without it (or with the setting off)
:meth:`_push_queued` returns False and the cron sends as before.
"""

import itertools
import logging
import math

from odoo import api, models, sql_db
from odoo.tools import str2bool

from .writeback_engine import WritebackRun

_logger = logging.getLogger(__name__)

USE_QUEUE_JOB_PARAM = "stock_ecommerce_writeback.use_queue_job"
CHANNEL_PARENT = "ecommerce_writeback"  # under queue_job's "root"
JOB_METHOD = "_job_push_account"
IDENTITY_PREFIX = "stock_ecommerce_writeback.push"
# First key of the two-int advisory lock space ("EC" "WB"): the second is the
# seller's id (the smallest id among the accounts sharing its credentials).
ADVISORY_LOCK_CLASS = 0x45435742 & 0x7FFFFFFF
# A job that finds its seller busy runs again after this long.
SELLER_BUSY_RETRY_SECONDS = 5
# Job states in which a batch slot counts as taken. queue_job's own identity
# check covers wait_dependencies/pending/enqueued only; a started job's slot
# is taken too: it is the one sending that batch.
BUSY_JOB_STATES = ("wait_dependencies", "pending", "enqueued", "started")


class WritebackEngineQueue(models.AbstractModel):
    _inherit = "ecommerce.writeback.engine"

    # ------------------------------------------------------------------
    # Mode
    # ------------------------------------------------------------------
    @api.model
    def _queue_job_available(self):
        """True when the addon queue_job is installed in this database."""
        return "queue.job" in self.env

    @api.model
    def _writeback_use_queue_job(self):
        """True when the push is to be run by queue jobs: queue_job is
        installed and the administrator turned the setting on. Turning it
        off (or uninstalling queue_job) gives the push back to the cron at
        once; jobs already queued then do nothing."""
        if not self._queue_job_available():
            return False
        raw = self.env["ir.config_parameter"].sudo().get_param(USE_QUEUE_JOB_PARAM)
        return str2bool(raw or "0", default=False)

    # ------------------------------------------------------------------
    # Sellers: channels and locks
    # ------------------------------------------------------------------
    @api.model
    def _writeback_seller_ids(self, accounts):
        """``{account id: seller id}``, the seller being the smallest id
        among the active accounts that share the account's endpoint and
        credentials: the marketplace meters each seller authorization, and
        the client's pacer keys its buckets the same way."""

        def authorization(account):
            return account._marketplace_client(on_call=None).seller_key

        Account = self.env["ecommerce.account"].sudo()
        everyone = Account.search([("active", "=", True)]) | accounts.sudo()
        first = {}
        for account in everyone.sorted("id"):
            first.setdefault(authorization(account), account.id)
        return {a.id: first[authorization(a)] for a in accounts.sudo()}

    @api.model
    def _writeback_channel(self, seller_id):
        return f"root.{CHANNEL_PARENT}.seller_{seller_id}"

    @api.model
    def _writeback_identity_key(self, account_id, slot):
        return f"{IDENTITY_PREFIX}:{account_id}:{slot}"

    @api.model
    def _writeback_try_seller_lock(self, cr, seller_id):
        """Take the seller's advisory lock for ``cr``'s transaction, without
        waiting. True when taken."""
        cr.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)",
            [ADVISORY_LOCK_CLASS, seller_id],
        )
        return cr.fetchone()[0]

    # ------------------------------------------------------------------
    # Fan-out (the push cron in queue mode)
    # ------------------------------------------------------------------
    @api.model
    def _push_queued(self, batch_size=20):
        """Queue the push instead of sending, when queue mode is on.
        Returns False (nothing done) when the cron is to send itself."""
        if not self._writeback_use_queue_job():
            return False
        self._enqueue_push(batch_size)
        return True

    @api.model
    def _writeback_job_function(self):
        """The queue.job.function of the push job, created on first use:
        this addon ships no queue_job data (it does not depend on it), and
        the push job must be allowed to commit (claim, call, outcome)."""
        Function = self.env["queue.job.function"].sudo()
        name = Function.job_function_name(self._name, JOB_METHOD)
        function = Function.search([("name", "=", name)], limit=1)
        if function:
            return function
        Channel = self.env["queue.job.channel"].sudo()
        root = self.env.ref("queue_job.channel_root")
        channel = Channel.search(
            [("name", "=", CHANNEL_PARENT), ("parent_id", "=", root.id)], limit=1
        ) or Channel.create({"name": CHANNEL_PARENT, "parent_id": root.id})
        return Function.create(
            {
                "model_id": self.env["ir.model"]._get_id(self._name),
                "method": JOB_METHOD,
                "channel_id": channel.id,
                "allow_commit": True,
                # The job's record is the (empty) engine: nothing to open.
                "related_action": {"enable": False},
            }
        )

    @api.model
    def _writeback_busy_slots(self):
        """``{account id: {batch slot}}`` of the push jobs waiting or
        running."""
        jobs = (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("identity_key", "=like", f"{IDENTITY_PREFIX}:%"),
                    ("state", "in", BUSY_JOB_STATES),
                ]
            )
        )
        busy = {}
        for key in jobs.mapped("identity_key"):
            account_id, slot = key.rsplit(":", 2)[1:]
            busy.setdefault(int(account_id), set()).add(int(slot))
        return busy

    @api.model
    def _enqueue_push(self, batch_size=20):
        """Queue jobs so that every account with due shipments has one job
        waiting or running per batch of ``batch_size`` of them, in its
        seller's channel; a batch slot (identity key) waiting or running is
        never queued again. New jobs are interleaved across sellers (the
        first new job of every account first), so the runner starts
        different sellers side by side. Returns the number of jobs queued."""
        self._writeback_job_function()
        due = self._due_accounts()
        if not due:
            return 0
        accounts = self.env["ecommerce.account"].browse(sorted(due))
        sellers = self._writeback_seller_ids(accounts)
        busy = self._writeback_busy_slots()
        wanted = []  # (rank, account id, slot)
        for account_id, count in due.items():
            taken = busy.get(account_id, set())
            missing = math.ceil(count / batch_size) - len(taken)
            free = (slot for slot in itertools.count() if slot not in taken)
            wanted += [
                (rank, account_id, slot)
                for rank, slot in zip(range(missing), free, strict=False)
            ]
        for _rank, account_id, slot in sorted(wanted):
            account = accounts.browse(account_id)
            self.with_delay(
                channel=self._writeback_channel(sellers[account_id]),
                identity_key=self._writeback_identity_key(account_id, slot),
                description=self.env._(
                    "Send shipment confirmations of %(account)s (batch %(slot)s)",
                    account=account.display_name,
                    slot=slot + 1,
                ),
            )._job_push_account(account_id, limit=batch_size)
        _logger.info(
            "Write-back push: %s job(s) queued for %s account(s), %s due shipment(s)",
            len(wanted),
            len(due),
            sum(due.values()),
        )
        return len(wanted)

    # ------------------------------------------------------------------
    # The job
    # ------------------------------------------------------------------
    @api.model
    def _job_push_account(self, account_id, limit=20):
        """Queue job: send up to ``limit`` due shipments of the account,
        alone for its seller (see the module docstring)."""
        account = self.env["ecommerce.account"].browse(account_id).exists()
        if not account or not account.active:
            return "Account archived or deleted: nothing to send."
        if not self._writeback_use_queue_job():
            return "Queue mode is off: the push cron sends."
        seller_id = self._writeback_seller_ids(account)[account.id]
        # The lock lives in a transaction of its own, on a connection of its
        # own, open while the job runs: _push_account commits as it goes
        # (which would release a transaction-level lock taken on its
        # cursor), and ending that transaction (closing the cursor, or the
        # connection dropping when a worker dies) always releases the lock,
        # unlike a session-level lock left on a pooled connection by a failed
        # unlock. That transaction reads nothing. (db_connect, not
        # registry.cursor(): the same pooled connection in production, and a
        # real one in tests too, where registry cursors share one.)
        with sql_db.db_connect(self.env.cr.dbname).cursor() as lock_cr:
            if not self._writeback_try_seller_lock(lock_cr, seller_id):
                from odoo.addons.queue_job.exception import RetryableJobError

                raise RetryableJobError(
                    f"Another job is sending for seller {seller_id}: "
                    f"retrying in {SELLER_BUSY_RETRY_SECONDS} s.",
                    seconds=SELLER_BUSY_RETRY_SECONDS,
                    ignore_retry=True,
                )
            run = WritebackRun(self.env)
            sent = self._push_account(account, limit=limit, run=run, yield_on_wait=True)
            lock_cr.rollback()  # releases the lock at once
        if run.resume_in:
            # The seller's rate limit is reached: this worker goes on with
            # other jobs, and this batch comes back when the seller can send.
            self._requeue_current_job(run.resume_in)
            return f"{sent} shipment(s) sent; the rest in {run.resume_in:.1f} s."
        return f"{sent} shipment(s) sent."

    @api.model
    def _requeue_current_job(self, seconds):
        """Queue the running push job again (same batch slot: identity key,
        channel and description), to start in ``seconds``."""
        job = (
            self.env["queue.job"]
            .sudo()
            .search([("uuid", "=", self.env.context.get("job_uuid"))], limit=1)
        )
        if not job:  # run outside a job (tests, shell): nothing to requeue
            return
        self.with_delay(
            eta=max(1, math.ceil(seconds)),
            channel=job.channel,
            identity_key=job.identity_key,
            description=job.name,
        )._job_push_account(*job.args, **job.kwargs)
