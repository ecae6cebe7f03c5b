# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The write-back engine: claim, send, apply, verify and reconcile.

Validating a delivery only queues it (state *pending*, see
``stock.picking._writeback_queue``). Everything that talks to a marketplace
happens here, in cron runs (or queue jobs), outside any user's transaction:

* **push** claims due *pending* shipments in batches, one statement per
  batch for every account (row locks, skipping locked rows; state
  *sending*, attempt counted, lease set), builds their shipments with
  prefetching and commits, then sends them, the accounts taking turns so
  that the worker waits on a marketplace's rate limit only when no other
  account has a shipment ready, and applies the outcomes decided by
  :mod:`..marketplaces.policy` a batch at a time (journal in one insert,
  writes grouped by outcome) and commits again;
* **verify** claims due read-backs the same way and reads each order back
  once: *submitted* shipments become *Success* once the marketplace shows
  every package on the right lines, and *sending* shipments whose lease
  expired (their worker died mid-call) are reconciled before anything is
  sent again.

Guarantees, whatever number of workers run these methods at once:

* a claim is committed before any call, so a send is never made twice in
  parallel, and a claim that was not sent (a throttled account, the run's
  time up) is given back with its attempt unused;
* an outcome is applied only if the shipment is still in the state (and
  the claim) the worker left it in, so a user's action in between wins;
* an outcome is never dropped: it is applied after a short bounded wait for
  the row, else stored and applied by the next run
  (``ecommerce.writeback.outcome``);
* serialization failures and lock timeouts are handled per shipment and
  never abort a run; one account's trouble never stops the others;
* a worker that dies leaves *sending* shipments whose lease ends: the
  verify run reconciles them from what the marketplace holds.

The shape follows OCA ``queue_job``: the run (:class:`WritebackRun`, like
``Job``) is plain Python; the stored, shown record is ``stock.picking``.
"""

import contextlib
import dataclasses
import datetime
import json
import logging
import os
import time

import psutil
import psycopg2.errors

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.service.server import SLEEP_INTERVAL
from odoo.tools import SQL, config, mute_logger

from odoo.addons.base.models.ir_cron import MIN_TIME_PER_JOB

from ..marketplaces import (
    amazon,
    base,
    ebay_fulfillment,
    ebay_trading,
    errors,
    policy,
)
from ..marketplaces.policy import State

_logger = logging.getLogger(__name__)

# The share of the time a cron run has left that its claims may fill (the
# rest covers the sends under way and the bookkeeping).
TIME_LEFT_SHARE = 0.8
# A send that has not reported back after this long is presumed dead.
LEASE_SECONDS = 600
# How long applying an outcome waits for a row a user or another worker
# holds before storing the outcome for the next run.
APPLY_LOCK_TIMEOUT_MS = 2000
# Shipments claimed per account at a time (one statement for all accounts).
CLAIM_BATCH = 50
# A queue job whose seller must wait for its rate limit stops and comes
# back after at least this long (Amazon refills a burst of 10 confirmations
# in 5 s), leaving the worker to other sellers' jobs meanwhile.
RESUME_AFTER = 5.0
# Stores a seller's rate-limit buckets ({operation: [tokens, epoch
# seconds]}) over what is stored, each operation's later state winning.
PACING_MERGE = """
    UPDATE ecommerce_account a
       SET writeback_pacing_state = (
           SELECT jsonb_object_agg(
                      op,
                      CASE
                          WHEN old.state IS NULL THEN new.state
                          WHEN new.state IS NULL THEN old.state
                          WHEN jsonb_typeof(old.state) <> 'array'
                            OR jsonb_typeof(old.state -> 1) <> 'number'
                          THEN new.state
                          WHEN (new.state ->> 1)::float8 >= (old.state ->> 1)::float8
                          THEN new.state
                          ELSE old.state
                      END)
             FROM jsonb_each(%s::jsonb) AS new(op, state)
             FULL JOIN jsonb_each(
                 CASE WHEN jsonb_typeof(a.writeback_pacing_state) = 'object'
                      THEN a.writeback_pacing_state ELSE '{}'::jsonb END
             ) AS old(op, state) USING (op)
       )
     WHERE a.id = %s
"""
# A verify run with time left waits for read-backs coming due within this
# many seconds (the reads the rate limit held back, the confirmations just
# sent) instead of ending: the cron's next call is a minute or more away.
VERIFY_WAIT = 10.0
# Reads the seller's rate limit holds back are due again after at least
# this long (a few tokens' worth, not a claim per token).
READ_HOLD = 5.0
# Read-backs claimed at a time.
VERIFY_BATCH = 50
# While every account waits for its rate limit, the outcomes sent so far are
# applied once the oldest is this old (or a batch is full): a paced push
# does its bookkeeping every few seconds, not after every send.
APPLY_EVERY = 10.0
# pid -> {"started", "deadline", "ended"} (monotonic seconds) of the
# engine's last job in this cron worker: when Odoo ends the worker's
# current wake-up (see _time_left)
_WORKER_DEADLINE = {}
# A job of the engine that starts within this many seconds of the end of the
# previous one runs in the same wake-up of the cron worker (due jobs run back
# to back; a new wake-up comes after Odoo's poll interval, 60 s).
SAME_WAKE_UP = 5.0


def _process_started():
    """When this process started, on the ``time.monotonic`` clock."""
    started = _PROCESS_STARTED.get(os.getpid())
    if started is None:
        age = time.time() - psutil.Process().create_time()
        started = _PROCESS_STARTED[os.getpid()] = time.monotonic() - max(age, 0.0)
    return started


_PROCESS_STARTED = {}
# The longest a cron worker sleeps between two wake-ups (Odoo's
# SLEEP_INTERVAL + pid % 10), counted in its time limit.
MAX_CRON_SLEEP = SLEEP_INTERVAL + 9
# The requests that can record a confirmation (the journal's operation):
# a claim that made none of them gets its attempt back when reconciled.
SEND_OPERATIONS = frozenset(
    {
        amazon.CONFIRM_SHIPMENT.name,
        ebay_trading.COMPLETE_SALE.name,
        ebay_fulfillment.CREATE_SHIPPING_FULFILLMENT.name,
    }
)
# What applying an outcome reads of a delivery (read for a batch at once).
CLAIM_FIELDS = [
    "writeback_state",
    "writeback_attempt_count",
    "writeback_last_attempt",
    "writeback_error_count",
    "writeback_throttle_count",
    "writeback_read_failures",
    "writeback_sent_unanswered",
    "ecommerce_account_id",
]
# Blocked shipments (something to fix) rechecked per run, paging by id.
BLOCKED_PAGE = 500
BLOCKED_CURSOR_PARAM = "stock_ecommerce_writeback.blocked_recheck_cursor"
CONCURRENCY_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.DeadlockDetected,
)


@dataclasses.dataclass
class Claimed:
    """A shipment claimed for a send (or a read-back) in this run."""

    picking: object  # stock.picking
    account: object  # ecommerce.account
    shipment: base.Shipment
    claim: tuple  # stock.picking._writeback_claim_key() after the claim
    attempt: int
    throttled: int
    expected_state: State = State.SENDING  # the state the claim left it in
    api: str | None = None  # the API the outcome is about (auth flag)
    readback: dict | None = None  # the order as read back
    lease: object = None  # when the claim's lease ends (a send: as last set)
    lease_seconds: float = 0.0  # how long a lease of this send lasts


class PushRound:
    """The queues of one push run: per account, the shipments claimed and
    not sent yet, and the outcomes not applied yet. Plain Python."""

    def __init__(self, account_ids, claims=None):
        self.account_ids = list(account_ids)
        self.claims_left = claims  # None: as many as there is work
        self.queues = {}  # account id -> [Claimed, ...]
        self.exhausted = set()  # accounts with nothing (more) due in this run
        self.seen = set()  # deliveries claimed in this run: once per run
        self.resolved = set()  # deliveries whose eBay line ids were looked up
        self.again = set()  # accounts with deliveries due again (lines found)
        self.results = []  # (Claimed, Decision) not applied yet
        self.results_since = None  # when the oldest of them was added
        self.sent = 0
        self.turn = 0
        self.leases_at = time.monotonic()  # when queued leases were last extended
        self.conflicts = 0
        self.time_up = False  # the cron's time is up: claim nothing more
        # a seller had due shipments but no time left in this run to send
        # them: the scheduler must run the push again
        self.out_of_time = False
        self.over = False  # nothing more to send in this run

    def wanting(self, held):
        """The accounts to claim shipments for now (their queue is empty,
        they may still have due shipments and are not held back)."""
        if self.claims_left == 0:
            return []
        return [
            a
            for a in self.account_ids
            if not self.queues.get(a) and a not in self.exhausted and a not in held
        ]

    def add_claims(self, wanting, claimed):
        """Queue what a claim returned (None: a concurrent update, nothing
        claimed; the next round claims again)."""
        if claimed is None:
            self.conflicts += 1
            if self.conflicts >= 3:  # busy rows: leave them to the next run
                self.exhausted.update(wanting)
            return
        if self.claims_left is not None:
            self.claims_left -= 1
        for item in claimed:
            self.queues.setdefault(item.account.id, []).append(item)
        self.exhausted.update(
            a for a in wanting if not self.queues.get(a) and a not in self.again
        )
        self.again = set()

    def ready(self):
        return [a for a, queue in self.queues.items() if queue]

    def next_item(self, ready_now):
        """The next shipment to send: accounts ready now take turns."""
        self.turn += 1
        return self.queues[ready_now[self.turn % len(ready_now)]].pop(0)

    def stop_claiming(self):
        """The cron's time is up: send what is claimed, claim nothing more."""
        self.time_up = True
        return True

    def add_result(self, item, decision):
        if not self.results:
            self.results_since = time.monotonic()
        self.results.append((item, decision))

    def bookkeeping_due(self, batch_size):
        """While waiting: are the outcomes not applied yet worth a batch
        (a full one, or the oldest is :data:`APPLY_EVERY` seconds old)?"""
        return bool(self.results) and (
            len(self.results) >= batch_size
            or time.monotonic() - self.results_since >= APPLY_EVERY
        )

    def take_results(self):
        results, self.results = self.results, []
        self.results_since = None
        return results

    def take_left(self):
        left = [item for queue in self.queues.values() for item in queue]
        self.queues = {}
        return left


# The batch read-backs' views of this process, shared by its runs: a
# search's cursor (marketplaces.amazon.SEARCH_CURSORS) goes on from the
# last one, so the orders it carried must stay at hand. Per database (a
# cron worker serves every database), then per account. Views older than
# READBACK_KEEP are dropped.
_READBACKS = {}
_BATCH_READ_AT = {}
READBACK_KEEP = datetime.timedelta(minutes=15)


def _recent_readbacks(dbname):
    """``(views, batch read times)`` of this process for ``dbname``, less
    what is older than :data:`READBACK_KEEP`."""
    oldest = fields.Datetime.now() - READBACK_KEEP
    views_of, read_at_of = (
        _READBACKS.setdefault(dbname, {}),
        _BATCH_READ_AT.setdefault(dbname, {}),
    )
    for views in list(views_of.values()):
        for order_ref, (__, read_at) in list(views.items()):
            if read_at < oldest:
                del views[order_ref]
    for account_id, read_at in list(read_at_of.items()):
        if read_at < oldest:
            del read_at_of[account_id]
    return views_of, read_at_of


class WritebackRun:
    """One cron run: its marketplace clients (one per account and API kind,
    each a :class:`~..marketplaces.contract.MarketplaceClient`) and the
    journal the calls go to. Not stored."""

    def __init__(self, env):
        self.env = env
        self._clients = {}
        self._calls = None
        # Accounts not to call again in this run (throttled by the marketplace).
        self.held_accounts = set()
        self._policies = {}
        self._deferred = []  # (account, calls, picking) not stored yet
        # Seconds until a run that stopped on a rate limit can go on.
        self.resume_in = None
        # account id -> write-backs submitted and not carried by a batch
        # read, and those not sent yet, counted for each batch (hints for
        # the client's choice between single and batch reads)
        self.read_backlog = {}
        self.reads_coming = {}
        # account id -> {order ref: (OrderView, read at)}: what the batch
        # read-backs of this process saw, for its later batches and runs (a
        # view read after a delivery was submitted settles it; no second
        # read), and when each account's last batch read started
        self.readbacks, self.batch_read_at = _recent_readbacks(env.cr.dbname)

    def client(self, account, kind="writeback"):
        key = (account.id, kind)
        if key not in self._clients:
            self._clients[key] = account._marketplace_client(
                on_call=self._on_call, kind=kind
            )
        return self._clients[key]

    def _on_call(self, record):
        if self._calls is None:  # a call outside any journal() block: a bug
            _logger.error("Marketplace call %s outside a journal", record.operation)
            return
        self._calls.append(record)

    def policy(self, account=None):
        """The account's retry policy (no account: the timings every account
        shares), read once per run."""
        account = account or self.env["ecommerce.account"]
        if account.id not in self._policies:
            self._policies[account.id] = account._writeback_policy()
        return self._policies[account.id]

    @contextlib.contextmanager
    def journal(self, account, picking=None, defer=False):
        """Collect the calls made inside the block and store them, for
        ``account`` (and ``picking`` when the calls were made for one
        delivery), whatever happens in the block; with ``defer``, they are
        stored by the next :meth:`flush_journal` (one insert for a batch)."""
        calls, previous = [], self._calls
        self._calls = calls
        try:
            yield calls
        finally:
            self._calls = previous
            if defer:
                self._deferred.append((account, calls, picking))
            else:
                self.env["ecommerce.api.call"]._record(account, calls, picking=picking)

    def flush_journal(self):
        """Store the deferred calls, in one insert."""
        deferred, self._deferred = self._deferred, []
        self.env["ecommerce.api.call"]._record_many(deferred)


class WritebackEngine(models.AbstractModel):
    _name = "ecommerce.writeback.engine"
    _description = "Marketplace Write-back Engine"

    # ------------------------------------------------------------------
    # Shared run helpers
    # ------------------------------------------------------------------
    @api.model
    def _trigger(self, cron_xmlid, at=None):
        """Make the cron ``cron_xmlid`` (of this addon) run now, or at
        ``at``: one trigger per minute at most, triggers being precise to the
        minute anyway."""
        cron = self.env.ref(f"stock_ecommerce_writeback.{cron_xmlid}").sudo()
        if at is None:
            cron._trigger()
            return
        at = at.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
        if not (
            self.env["ir.cron.trigger"]
            .sudo()
            .search_count([("cron_id", "=", cron.id), ("call_at", "=", at)], limit=1)
        ):
            cron._trigger(at=at)

    @api.model
    def _batch_loop(self, next_batch, process, *, remaining=None, on_time_up=None):
        """The one loop of the engine's crons (push, verify, catalog).

        ``next_batch()`` takes the next batch of work (a list or recordset;
        empty when there is none left; None after a concurrent update, to
        try again, up to 3 times in a row); ``process(batch)`` does it and
        returns how many it did; progress is committed after each batch.
        When the cron's time is up, ``on_time_up()`` may say to go on (the
        push sends what it already claimed); otherwise the loop stops. A
        loop that ran out of time reports what is left (``remaining()``, a
        domain of deliveries, or a count) so that the scheduler runs the
        cron again at once. Returns False when the time was up."""
        try:
            return self._batch_loop_run(next_batch, process, remaining, on_time_up)
        finally:
            self._job_ended()

    @api.model
    def _batch_loop_run(self, next_batch, process, remaining, on_time_up):
        cron = self.env["ir.cron"]
        conflicts, time_up = 0, False
        while conflicts < 3:
            batch = next_batch()
            if batch is None:
                conflicts += 1
                continue
            conflicts = 0
            if not batch:
                break
            processed = process(batch)
            if not cron._commit_progress(processed):
                # past the scheduler's share of the job: asked again after
                # each batch whether to go on
                time_up = True
                if on_time_up is None or not on_time_up():
                    break
        if time_up and remaining is not None:
            left = remaining()
            if not isinstance(left, int):
                left = self.env["stock.picking"].search_count(left)
            self._report_left(left)
        return not time_up

    @api.model
    def _report_left(self, left):
        """A run that stopped for lack of time with ``left`` shipments due:
        the scheduler runs its cron again at once (Odoo's "partially done"),
        and a trigger wakes a cron worker for it now. Without the trigger,
        the rerun waits for a worker's next poll, up to 69 s (a worker
        sleeps ``SLEEP_INTERVAL`` + pid % 10 between polls unless
        notified), time the sellers' rate limits would have allowed."""
        if not left:
            return
        cron_id = self.env.context.get("cron_id")
        if cron_id:
            self.env["ir.cron"].sudo().browse(cron_id)._trigger()
        self.env["ir.cron"]._commit_progress(0, remaining=left)

    @api.model
    def _time_left(self):
        """Seconds this cron run has before Odoo ends it, minus a margin for
        the sends already under way, or None when nothing will (the
        threaded server and queue jobs set no such limit here).

        In prefork, Odoo kills a cron worker ``limit_time_real_cron``
        seconds (``limit_time_real`` when it is -1) after it last told the
        master it was alive, which it does before it sleeps: the limit
        counts the sleep (up to ``SLEEP_INTERVAL`` + 9 s) and every job due
        in the wake-up, run one after the other. So a job's deadline is the
        end of the engine's previous job in this worker (its ping came right
        after) or, without one, the start less a whole sleep; a job that
        starts right after another one of the engine, in the same wake-up,
        shares that one's deadline."""
        end = self.env.context.get("cron_end_time")
        limit = config["limit_time_real_cron"]
        if limit == -1:
            limit = config["limit_time_real"]
        if end is None or not config["workers"] or not limit or limit < 0:
            return None
        started = end - MIN_TIME_PER_JOB
        now = time.monotonic()
        earlier = _WORKER_DEADLINE.get(os.getpid())
        if earlier is not None and earlier["started"] == started:
            # the same job (a later claim of it, or the scheduler's rerun):
            # the deadline computed when it started
            deadline = earlier["deadline"]
        else:
            # It pinged at the latest when the engine's previous job here
            # ended (or when the process started), and it cannot have slept
            # longer than a whole interval, nor than its limit (it would be
            # gone).
            last_ping = max(
                started - min(MAX_CRON_SLEEP, limit),
                earlier["ended"]
                if earlier is not None and earlier["ended"] <= started
                else _process_started(),
            )
            deadline = last_ping + limit
            cron_id = self.env.context.get("cron_id")
            if (
                earlier is not None
                # another job right after ours: the scheduler runs each due
                # job once per wake-up, so the same job again is a new one
                and earlier["cron_id"] != cron_id
                and 0 <= started - earlier["ended"] < SAME_WAKE_UP
                # past (or close to) that deadline the worker would be gone:
                # a new wake-up (never a run that may claim nothing for ever)
                and earlier["deadline"] - now > SAME_WAKE_UP * 2
            ):
                deadline = min(deadline, earlier["deadline"])
            _WORKER_DEADLINE[os.getpid()] = {
                "started": started,
                "cron_id": cron_id,
                "deadline": deadline,
                "ended": float("inf"),
            }
        # a margin of a share of the whole limit, not of what is left: the
        # last sends of a run, its bookkeeping and the scheduler's rerun
        # take their time even when little is left
        return max(0.0, deadline - now - limit * (1 - TIME_LEFT_SHARE))

    @api.model
    def _job_ended(self):
        """Note when this worker's job ended (see :meth:`_time_left`)."""
        record = _WORKER_DEADLINE.get(os.getpid())
        if record is not None:
            record["ended"] = time.monotonic()

    @api.model
    def _commit(self):
        """Commit the run's work so far (and release its row locks)."""
        self.env["ir.cron"]._commit_progress(0)

    @contextlib.contextmanager
    def _isolated(self, pickings, what):
        """Whatever goes wrong for these deliveries (a bug, a database
        error) is logged and rolled back to the last commit, and the run
        goes on with the next ones: a shipment left *sending* is reconciled
        when its lease expires, so this path ends too."""
        ids = pickings.ids
        try:
            yield
        except Exception:
            self.env.cr.rollback()
            self.env.invalidate_all()
            _logger.exception(
                "Write-back engine: %s of deliveries %s failed; going on with "
                "the others",
                what,
                ids,
            )

    # ------------------------------------------------------------------
    # Push
    # ------------------------------------------------------------------
    @api.model
    def _push_domain(self):
        return Domain(
            [
                ("writeback_state", "=", State.PENDING.value),
                ("writeback_next_attempt", "<=", fields.Datetime.now()),
                ("ecommerce_account_id.active", "=", True),
            ]
        )

    @api.model
    def _cron_push(self, batch_size=CLAIM_BATCH):
        """Send due pending shipments (see the module docstring): every
        account's, interleaved, at the pace its marketplace allows."""
        run = WritebackRun(self.env)
        self._apply_stored_outcomes()
        self._recheck_blocked()
        self._commit()
        if self._push_queued(batch_size):  # queue_job runs it (writeback_queue.py)
            return
        self._push_loop(run, batch_size=batch_size)

    @api.model
    def _due_accounts(self):
        """``{account id: number of due pending shipments}``."""
        groups = self.env["stock.picking"]._read_group(
            self._push_domain(), ["ecommerce_account_id"], ["__count"]
        )
        return {account.id: count for account, count in groups}

    @api.model
    def _push_account(self, account, limit=CLAIM_BATCH, run=None, yield_on_wait=False):
        """Send up to ``limit`` due shipments of ``account`` (one claim:
        those another worker holds or already sent are skipped) and apply
        their outcomes, committing as it goes. The unit of work of a queue
        job. Returns how many shipments were sent."""
        run = run or WritebackRun(self.env)
        return self._push_loop(
            run,
            batch_size=limit,
            account_ids=[account.id],
            claims=1,
            yield_on_wait=yield_on_wait,
        )

    @api.model
    def _push_loop(
        self,
        run,
        batch_size=CLAIM_BATCH,
        account_ids=None,
        claims=None,
        yield_on_wait=False,
    ):
        """The push: claim due shipments in batches (up to ``batch_size`` per
        account, one statement for all accounts), send them interleaving the
        accounts so that the worker waits on a marketplace's rate limit only
        when no other account has a shipment ready to go, and apply their
        outcomes in batches. ``claims`` limits the number of claims (a
        queue job makes one). With ``yield_on_wait`` (a queue job, which
        works for one seller), the run stops instead of waiting on the rate
        limit: the claims not sent are given back and ``run.resume_in`` says
        when the seller can send again, so the worker serves other sellers'
        jobs meanwhile. Returns how many shipments were sent."""
        if account_ids is None:
            account_ids = (
                self.env["ecommerce.account"].search([("active", "=", True)]).ids
            )
        push = PushRound(account_ids, claims)
        self._restore_pacing(run, account_ids)
        try:
            self._batch_loop(
                lambda: self._push_batch(run, push, batch_size, yield_on_wait),
                lambda results: self._apply_batch(run, results),
                remaining=self._push_domain,
                on_time_up=lambda: self._push_goes_on(push),
            )
            if push.out_of_time:
                # what is left is due now: the scheduler runs the push again
                self._report_left(
                    self.env["stock.picking"].search_count(self._push_domain())
                )
        finally:
            try:
                results = push.take_results()  # an error stopped the loop
                if results:
                    self._apply_batch(run, results)
                # An error, or a queue job yielding: give the claims not
                # sent back.
                self._release_claims(run, push.take_left())
            except Exception:
                # The leases end these claims: the verify cron reconciles.
                _logger.exception("Write-back engine: could not finish the batch")
        self._save_pacing(run, account_ids)
        return push.sent

    @api.model
    def _push_goes_on(self, push):
        """The scheduler's share of the run is over (Odoo's 10 s per job):
        in prefork, where the engine knows when the worker ends, it goes on
        claiming what the time left allows (``_claim_limits``), each pause
        between sellers' sends being no time lost to another job; the
        threaded server has no such end: it sends what it claimed and lets
        the other jobs run."""
        if self._time_left() is not None:
            return True
        return push.stop_claiming()

    @api.model
    def _push_batch(self, run, push, batch_size, yield_on_wait):
        """Send until a batch of outcomes is ready to be applied: when
        ``batch_size`` are, before a claim (which commits), while every
        account waits for its rate limit (the bookkeeping is done
        meanwhile), and when nothing more can be sent (empty: the push is
        over). Claims shipments for the accounts whose queue is empty; the
        accounts ready to send take turns, so the worker sleeps only when
        none is. Once the cron's time is up, it claims nothing more but
        sends what is claimed (at most a batch per account: the run ends
        within batch / rate seconds)."""
        while not push.over:
            wanting = [] if push.time_up else push.wanting(run.held_accounts)
            if wanting:
                if push.results:
                    return push.take_results()
                push.add_claims(
                    wanting, self._claim_batch(run, wanting, batch_size, push)
                )
            ready = push.ready()
            if not ready:
                if not push.time_up and push.wanting(run.held_accounts):
                    continue  # e.g. deliveries due again after a line lookup
                push.over = True
                break
            delays = {a: self._send_delay(run, push.queues[a][0]) for a in ready}
            wait = min(delays.values())
            if wait > 0 and yield_on_wait:
                # A queue job stops here: the bucket refills a burst's
                # worth, at least, before the job comes back.
                run.resume_in = max(wait, RESUME_AFTER)
                push.over = True
                break
            if wait > 0:
                if push.bookkeeping_due(batch_size):
                    return push.take_results()  # the bookkeeping meanwhile
                time.sleep(wait)
                continue
            if time.monotonic() - push.leases_at > LEASE_SECONDS / 4:
                self._extend_leases(push)
            item = push.next_item([a for a in ready if delays[a] <= 0])
            if not self._still_ours(item):
                continue  # another worker or a user took it: never sent twice
            decision = self._send_claimed(run, item)
            push.add_result(item, decision)
            push.sent += 1
            if decision.throttled or decision.held_back or decision.flag_account:
                # The account's other claims wait for later (a 429, the
                # client's pause, credentials refused: not once per shipment).
                self._release_claims(run, push.queues.pop(item.account.id), decision)
            if len(push.results) >= batch_size:
                return push.take_results()
        return push.take_results()

    @api.model
    def _restore_pacing(self, run, account_ids):
        """Build the clients of the accounts whose last run left rate-limit
        buckets (the client takes them over: ``_marketplace_client``), so
        that the first send of this run is paced from them; an account
        whose client cannot be built is logged and the others go on."""
        for account in self.env["ecommerce.account"].browse(account_ids):
            if not account.writeback_pacing_state:
                continue
            try:
                run.client(account)
            except Exception:
                # Its sends will say what is wrong with it; the others go on.
                _logger.exception(
                    "Write-back engine: no client for %s", account.display_name
                )

    @api.model
    def _save_pacing(self, run, account_ids=None):
        """Store the rate-limit buckets of the accounts this run's clients
        used (``account_ids``: only those), for the next run of any worker
        (``_marketplace_client`` takes them over). Merged with what is
        stored, operation by operation, the later state winning: a push and
        a read-back of one seller running at once in two workers each keep
        the buckets they used. Best effort: a concurrent update of the
        account row skips it."""
        Account = self.env["ecommerce.account"]
        used = {account_id for account_id, __ in run._clients}
        if account_ids is not None:
            used &= set(account_ids)
        for account in Account.browse(sorted(used)).exists():
            state = {}
            for (account_id, __), client in run._clients.items():
                if account_id == account.id:
                    state.update(client.pacing_state() or {})
            self._store_pacing(account, state)
        Account.invalidate_model(["writeback_pacing_state"])
        self._commit()

    @api.model
    def _store_pacing(self, account, state):
        """Merge ``state`` (a client's ``pacing_state()``) into what
        ``account`` stores (see :meth:`_save_pacing`); not committed."""
        if not state or state == account.writeback_pacing_state:
            return
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                self.env.cr.execute(PACING_MERGE, [json.dumps(state), account.id])
        except CONCURRENCY_ERRORS:
            return
        account.invalidate_recordset(["writeback_pacing_state"])

    @api.model
    def _send_delay(self, run, item):
        """Seconds before ``item`` can be sent without the client pausing
        for the marketplace's rate limit."""
        return run.client(item.account).send_delay(item.shipment)

    @api.model
    def _send_claimed(self, run, item):
        """Send one claimed shipment; returns the policy's Decision. A
        shipment whose last send went unanswered is read first: the
        marketplace may hold it already."""
        account = item.account
        retry_policy = run.policy(account)
        if item.picking.writeback_sent_unanswered:
            order = self._read_for(run, item)
            decision = order and policy.before_resend(
                order, self._sent_packages(item), self._sent_carrier(item)
            )
            if decision:
                return decision
        error = None
        with run.journal(account, item.picking, defer=True):
            try:
                run.client(account).confirm_shipment(item.shipment)
            except errors.MarketplaceError as exc:
                error = exc
            except Exception as exc:
                _logger.exception(
                    "Write-back of %s failed unexpectedly", item.picking.display_name
                )
                error = errors.TransientError(
                    self.env._(
                        "Unexpected error while sending: %s", exc.__class__.__name__
                    )
                )
        if isinstance(error, errors.PermanentError) and not isinstance(
            error, errors.AuthError
        ):
            # A refusal: the marketplace's own view of the order decides
            # (confirmed by hand first, shipped elsewhere, cancelled).
            learns = not item.picking.sale_id.ecommerce_marketplace_id
            decision = policy.after_refusal(
                error,
                self._read_for(run, item),
                self._sent_packages(item),
                item.attempt,
                retry_policy,
                carrier=self._sent_carrier(item),
                # the read-back fills the order's marketplace when it has
                # none: a confirmation that named another one goes again
                marketplace_to_learn=(
                    learns
                    and (
                        item.shipment.marketplace_id
                        or item.account.amazon_marketplace_id
                    )
                )
                or "",
            )
        else:
            decision = policy.after_send(
                error, item.attempt, retry_policy, throttled=item.throttled
            )
            if decision.unanswered and decision.state == State.FAILED:
                # the last attempt's answer was lost: failed only if the
                # marketplace does not hold it
                order = self._read_for(run, item)
                held = order and policy.before_resend(
                    order, self._sent_packages(item), self._sent_carrier(item)
                )
                if held:
                    decision = dataclasses.replace(held, refund_attempt=False)
        if decision.throttled or decision.held_back or decision.flag_account:
            run.held_accounts.add(account.id)
        return decision

    @staticmethod
    def _sent_packages(item):
        return [
            (p.tracking_number, [(i.item_ref, i.quantity) for i in p.items])
            for p in item.shipment.packages
        ]

    @staticmethod
    def _sent_carrier(item):
        return (item.shipment.carrier_code, item.shipment.carrier_name)

    @api.model
    def _read_for(self, run, item):
        """The marketplace's view of the order of the claimed ``item``
        (journaled with its send; kept as its read-back), or None when it
        cannot be read now."""
        account = item.account
        order = None
        with run.journal(account, item.picking, defer=True):
            try:
                order = run.client(account).read_order(item.shipment.order_ref)
            except errors.MarketplaceError as exc:
                _logger.info(
                    "Write-back of %s: the order could not be read: %s",
                    item.picking.display_name,
                    exc,
                )
            except Exception:
                _logger.exception(
                    "Reading back order %s failed unexpectedly",
                    item.shipment.order_ref,
                )
        if order is not None:
            item.readback = order.as_dict()
        return order

    # ------------------------------------------------------------------
    # Verify
    # ------------------------------------------------------------------
    @api.model
    def _verify_domain(self):
        now = fields.Datetime.now()
        return Domain(
            [
                ("ecommerce_account_id.active", "=", True),
                ("writeback_outcome_ids", "=", False),
            ]
        ) & (
            Domain(
                [
                    ("writeback_state", "=", State.SUBMITTED.value),
                    ("writeback_next_attempt", "<=", now),
                ]
            )
            | Domain(
                [
                    ("writeback_state", "=", State.SENDING.value),
                    ("writeback_lease_until", "<", now),
                ]
            )
        )

    @api.model
    def _cron_verify(self, batch_size=VERIFY_BATCH):
        """Read orders back (see the module docstring): due checks claimed
        in batches (one statement each), one read per order and run,
        whatever number of its deliveries are waiting, outcomes applied in
        batches."""
        run = WritebackRun(self.env)
        self._apply_stored_outcomes()
        self._commit()
        seen = set()

        soon = []  # read-backs due soon, that this run had no time for

        def next_batch():
            batch = self._claim_checks(run, batch_size, seen)
            if batch is None or batch:
                return batch
            wait = self._soon_due(seen)
            if wait is None:
                return batch
            left = self._time_left()
            if left is None or left <= wait + VERIFY_WAIT:
                soon.append(wait)
                return batch
            time.sleep(wait)
            return self._claim_checks(run, batch_size, seen)

        def process(pickings):
            results = self._read_back(run, pickings)
            for item, decision in results:
                if decision.held_back:  # due again once the limit allows
                    seen.discard(item.picking.id)
            return self._apply_batch(run, results)

        try:
            self._batch_loop(
                next_batch,
                process,
                remaining=self._verify_domain,
                # in prefork, the reads go on while the worker has time left
                on_time_up=lambda: (self._time_left() or 0) > 0,
            )
            if soon:
                # the next run reads them, in a worker woken for it now
                self._report_left(len(soon))
        finally:
            # the read buckets, for the next read-back in whichever worker
            self._save_pacing(run)

    @api.model
    def _soon_due(self, seen):
        """Seconds until the next read-back comes due, when it does within
        :data:`VERIFY_WAIT` in prefork: the run waits for it rather than end
        and leave it to the cron's next call, a minute or more away (or,
        without the time, ends and has a worker woken for it). None
        otherwise (nothing soon, no deadline known: the threaded server and
        queue jobs do not wait)."""
        if self._time_left() is None:
            return None
        now = fields.Datetime.now()
        soon = self.env["stock.picking"].search(
            [
                ("ecommerce_account_id.active", "=", True),
                ("writeback_outcome_ids", "=", False),
                ("writeback_state", "=", State.SUBMITTED.value),
                ("writeback_next_attempt", ">", now),
                (
                    "writeback_next_attempt",
                    "<=",
                    now + datetime.timedelta(seconds=VERIFY_WAIT),
                ),
                ("id", "not in", list(seen)),
            ],
            order="writeback_next_attempt",
            limit=1,
        )
        if not soon:
            return None
        return max(0.2, (soon.writeback_next_attempt - now).total_seconds())

    @api.model
    def _read_backlog(self, run):
        """``{account id: write-backs to read back now or soon}``: submitted
        and not carried by the account's last batch read in this process
        (which settles those submitted before it), due or not. The client
        reads an account's orders in batches when single reads would not
        cover its whole backlog, whatever share of it one claim holds."""
        cutoffs = {
            str(account_id): fields.Datetime.to_string(read_at)
            for account_id, read_at in run.batch_read_at.items()
        }
        self.env.cr.execute(
            SQL(
                """
            SELECT p.ecommerce_account_id, count(*)
              FROM stock_picking p
             WHERE p.writeback_state = %s
               AND p.ecommerce_account_id IS NOT NULL
               AND (p.writeback_submitted_date IS NULL
                    OR p.writeback_submitted_date > COALESCE(
                        (%s::jsonb ->> p.ecommerce_account_id::text)::timestamp,
                        '-infinity'::timestamp))
             GROUP BY p.ecommerce_account_id
                """,
                State.SUBMITTED.value,
                json.dumps(cutoffs),
            )
        )
        return dict(self.env.cr.fetchall())

    @api.model
    def _reads_coming(self):
        """``{account id: write-backs not sent yet}`` (pending or being
        sent): a batch read that costs a scarce request is saved for them
        while there are any."""
        groups = self.env["stock.picking"]._read_group(
            [
                ("ecommerce_account_id.active", "=", True),
                (
                    "writeback_state",
                    "in",
                    [State.PENDING.value, State.SENDING.value],
                ),
            ],
            ["ecommerce_account_id"],
            ["__count"],
        )
        return {account.id: count for account, count in groups}

    @api.model
    def _read_back(self, run, pickings):
        """Read the orders of ``pickings`` back, once per order, and decide
        each delivery's outcome. Returns ``[(Claimed, Decision)]``."""
        by_order = {}
        for picking in pickings:
            key = (picking.ecommerce_account_id, picking.ecommerce_order_ref)
            by_order.setdefault(key, []).append(picking)
        # what each account has due besides this batch, and to read in all
        run.read_backlog = self._read_backlog(run)
        run.reads_coming = self._reads_coming()
        results = []
        now = fields.Datetime.now()
        requested = self._requested_since_claim(
            pickings.filtered(lambda p: p.writeback_state == State.SENDING)
        )
        # account -> the client's pause or refused credentials: its other
        # reads in this batch wait (no token exchange per order)
        held_back = {}
        # account -> credentials refused by a batch read: told by the first
        # of its orders (the account flagged, red with the reason), the
        # others held back
        refused = {}
        by_account = {}
        for (account, order_ref), group in by_order.items():
            by_account.setdefault(account, {})[order_ref] = group
        batch_views = {}
        for account, groups in by_account.items():
            batch_views[account] = self._batch_read(
                run, account, groups, held_back, refused
            )
        for (account, order_ref), group in by_order.items():
            order = batch_views[account].get(order_ref)
            error = None if order is not None else held_back.get(account)
            if order is None and account in refused:
                error = refused.pop(account)
            journal_picking = group[0] if len(group) == 1 else None
            if order is None and error is None:
                error = self._read_held_back(run, account, held_back)
            with run.journal(account, journal_picking, defer=True):
                try:
                    if order is None and error is None:
                        order = run.client(account).read_order(order_ref)
                except errors.MarketplaceError as exc:
                    error = exc
                    self._hold_back_reads(run, account, exc, held_back)
                except Exception as exc:
                    _logger.exception(
                        "Reading back order %s failed unexpectedly", order_ref
                    )
                    error = errors.TransientError(exc.__class__.__name__)
            readback = order.as_dict() if order is not None else None
            read_api = account._writeback_apis()[1]
            for picking in group:
                state = State(picking.writeback_state)
                item = Claimed(
                    picking=picking,
                    account=account,
                    shipment=None,
                    claim=picking._writeback_claim_key(),
                    attempt=picking.writeback_attempt_count,
                    throttled=picking.writeback_throttle_count,
                    expected_state=state,
                    api=read_api,
                    readback=readback,
                )
                decision = self._verify_decision(
                    run, picking, state, order, error, now, picking.id in requested
                )
                results.append((item, decision))
        return results

    @api.model
    def _read_held_back(self, run, account, held_back):
        """Before a single read of ``account``: the client's pause (a
        RateLimitedError of its own) when the read would have to wait for
        the seller's rate limit, or when the run has no time left; the
        account's other reads in the batch wait too. The worker reads the
        other sellers' orders meanwhile instead of sleeping on this one's
        bucket, and a run never outlasts its cron worker."""
        left = self._time_left()
        if left is not None and left <= 0:
            error = errors.RateLimitedError(
                "No time left in this run: read at the next one",
                code=errors.CLIENT_PACING,
                retry_after=1,
            )
            held_back[account] = error
            return error
        try:
            delay = run.client(account).read_delay()
        except Exception:  # noqa: BLE001 - the read itself says what is wrong
            return None
        if delay <= 0:
            return None
        error = errors.RateLimitedError(
            f"Holding back the read: the seller's rate limit allows the next "
            f"one in {delay:.1f} s",
            code=errors.CLIENT_PACING,
            # not every token: a few seconds' reads at once, and no churn
            retry_after=max(delay, READ_HOLD),
        )
        held_back[account] = error
        return error

    @api.model
    def _hold_back_reads(self, run, account, error, held_back):
        """After ``error`` from one of ``account``'s reads: its other reads
        in this batch wait when it is the client's own pause or refused
        credentials (nothing counted, no token exchange per order)."""
        if errors.is_held_back(error):
            held_back[account] = error
        elif isinstance(error, errors.AuthError):
            held_back[account] = errors.RateLimitedError(
                str(error),
                code=errors.CLIENT_PACING,
                retry_after=run.policy(account).verify_interval,
            )

    @api.model
    def _batch_read(self, run, account, groups, held_back, refused=None):
        """``{order ref: OrderView}`` for the orders of ``groups`` (``{order
        ref: deliveries}``, one account) that the run already saw after
        their confirmation or that batch reads settle now (Amazon
        ``searchOrders``, eBay ``GetOrders`` / ``getOrders`` with many
        ids; the client picks by volume and may read none). Orders left out
        are read one by one. A batch read's failure is not a delivery's:
        the single reads that follow meet the error themselves, except
        refused credentials, which hold the account's reads back: the
        error goes into ``refused`` (``{account: error}``) for the first
        of its orders to tell."""
        seen = run.readbacks.setdefault(account.id, {})
        # what is due for this account, this batch included: the next
        # batches have that much less to read
        backlog = max(run.read_backlog.get(account.id, 0), len(groups))
        coming = run.reads_coming.get(account.id, 0)
        views, wanted, claimed_at = {}, [], []
        for order_ref, group in groups.items():
            earlier = seen.get(order_ref)
            settled = earlier is not None and all(
                p.writeback_state == State.SUBMITTED
                and p.writeback_submitted_date
                and earlier[1] >= p.writeback_submitted_date
                for p in group
            )
            if settled:
                views[order_ref] = earlier[0]
                continue
            wanted.append(order_ref)
            claimed_at.extend(
                p.writeback_last_attempt or p.writeback_submitted_date
                for p in group
                if p.writeback_last_attempt or p.writeback_submitted_date
            )
        if (len(wanted) < 2 and backlog < 2) or not wanted or account in held_back:
            return views
        left = self._time_left()
        if left is not None and left <= 0:
            return views  # the single reads are held back for the next run
        client = run.client(account)
        # the earliest claim precedes every send of the batch; the client
        # allows for the marketplace's clock
        since = min(claimed_at) if claimed_at else fields.Datetime.now()
        since = since.replace(tzinfo=datetime.UTC)
        size = max(1, client.read_batch_size)
        while wanted:
            chunk, wanted = wanted[:size], wanted[size:]
            read_at = fields.Datetime.now()
            with run.journal(account, None, defer=True):
                try:
                    found = client.read_orders(
                        chunk,
                        since=since,
                        backlog=backlog,
                        coming=coming,
                    )
                except errors.MarketplaceError as exc:
                    self._hold_back_reads(run, account, exc, held_back)
                    if isinstance(exc, errors.AuthError) and refused is not None:
                        refused[account] = exc
                    break
                except Exception:
                    _logger.exception(
                        "Reading back %s orders at once failed unexpectedly",
                        len(chunk),
                    )
                    break
            if found:
                run.batch_read_at[account.id] = read_at
            for order_ref, view in found.items():
                seen[order_ref] = (view, read_at)
                if order_ref in groups:
                    views[order_ref] = view
            if not found:  # the client reads these one by one
                break
            wanted = [order_ref for order_ref in wanted if order_ref not in views]
        return views

    @api.model
    def _requested_since_claim(self, pickings):
        """The ids of ``pickings`` whose current claim produced a
        confirmation request to the marketplace, as the journal shows (token
        exchanges and reads, e.g. an earlier reconciliation's, not
        counted)."""
        if not pickings:
            return set()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            SELECT DISTINCT c.picking_id
              FROM ecommerce_api_call c
              JOIN stock_picking p ON p.id = c.picking_id
             WHERE c.picking_id = ANY(%s)
               AND c.operation = ANY(%s)
               AND c.call_date >= p.writeback_last_attempt
                """,
                pickings.ids,
                list(SEND_OPERATIONS),
            )
        )
        return {row[0] for row in self.env.cr.fetchall()}

    @api.model
    def _verify_decision(self, run, picking, state, order, error, now, requested):
        """What the read-back (``order``, or ``error``) means for ``picking``
        (``state``: submitted, or sending with its lease expired;
        ``requested``: its claim produced a request, as the journal shows)."""
        retry_policy = run.policy(picking.ecommerce_account_id)
        packages = picking._writeback_sent_package_list()
        if order is not None and state == State.SUBMITTED:
            age = (now - (picking.writeback_submitted_date or now)).total_seconds()
            return policy.after_verify(
                order,
                packages,
                picking.writeback_attempt_count,
                age,
                retry_policy,
                carrier=picking._writeback_sent_carrier(),
                order_level=picking._writeback_marks_order_shipped(),
            )
        if order is not None:
            return policy.after_interrupted_send(
                order,
                packages,
                picking.writeback_attempt_count,
                retry_policy,
                requested=requested,
            )
        return policy.after_readback_failure(
            error,
            state,
            picking.writeback_attempt_count,
            picking.writeback_read_failures,
            retry_policy,
        )
