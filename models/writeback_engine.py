# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The write-back engine: claim, send, apply, verify and reconcile.

Validating a delivery only queues it (state *pending*, see
``stock.picking._writeback_queue``). Everything that talks to a marketplace
happens here, in cron runs, outside any user's transaction:

* **push** claims due *pending* shipments one by one (row lock, skipping
  locked rows; state *sending*, attempt counted, lease set) and commits,
  calls the marketplace, commits the call journal, then applies the
  outcome decided by :mod:`..marketplaces.policy` and commits again;
* **verify** reads orders back: *submitted* shipments become *Success* once
  the marketplace shows every package on the right lines, and *sending*
  shipments whose lease expired (their worker died mid-call) are reconciled
  before anything is sent again.

Guarantees, whatever number of workers run these methods at once:

* a claim is committed before any call, so a send is never made twice in
  parallel, and a lock a worker took but did not use is released at once;
* an outcome is applied only if the shipment is still in the state (and
  the claim) the worker left it in, so a user's action in between wins;
* an outcome is never dropped: it is applied after a short bounded wait for
  the row, else stored and applied by the next run
  (``ecommerce.writeback.outcome``);
* serialization failures and lock timeouts are handled per shipment and
  never abort a run; one account's trouble never stops the others.

The shape follows OCA ``queue_job``: the run (:class:`WritebackRun`, like
``Job``) is plain Python; the stored, shown record is ``stock.picking``.
"""

import contextlib
import datetime
import logging

import psycopg2.errors

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import mute_logger

from ..marketplaces import base, errors, policy
from ..marketplaces.policy import State

_logger = logging.getLogger(__name__)

# A send that has not reported back after this long is presumed dead.
LEASE_SECONDS = 600
# How long applying an outcome waits for a row a user or another worker
# holds before storing the outcome for the next run.
APPLY_LOCK_TIMEOUT_MS = 2000
# Blocked shipments (something to fix) rechecked per run, paging by id.
BLOCKED_PAGE = 500
BLOCKED_CURSOR_PARAM = "stock_ecommerce_writeback.blocked_recheck_cursor"
CONCURRENCY_ERRORS = (
    psycopg2.errors.SerializationFailure,
    psycopg2.errors.LockNotAvailable,
    psycopg2.errors.DeadlockDetected,
)


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

    @contextlib.contextmanager
    def journal(self, account, picking=None):
        """Collect the calls made inside the block and store them, for
        ``account`` (and ``picking`` when the calls were made for one
        delivery), whatever happens in the block."""
        calls, previous = [], self._calls
        self._calls = calls
        try:
            yield calls
        finally:
            self._calls = previous
            self.env["ecommerce.api.call"]._record(account, calls, picking=picking)


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
    def _batch_loop(self, model, domain, process, *, batch_size=20, order="id"):
        """Work through the records of ``model`` matching ``domain()`` (a
        callable: the domain may depend on the time), ``batch_size`` at a
        time, each record at most once per run.

        ``process(batch)`` handles a batch (locking what it changes and
        skipping what is locked, committing as it goes) and returns how many
        records it processed. Progress is committed and what remains counted
        once per batch. Returns False when the cron's time is up.
        """
        cron = self.env["ir.cron"]
        Model = self.env[model]
        seen = set()
        while True:
            search_domain = domain()
            if seen:
                search_domain &= Domain("id", "not in", list(seen))
            batch = Model.search(search_domain, limit=batch_size, order=order)
            if not batch:
                return True
            seen.update(batch.ids)
            processed = process(batch)
            remaining = Model.search_count(
                domain() & Domain("id", "not in", list(seen))
            )
            if not cron._commit_progress(processed, remaining=remaining):
                return False

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

    @api.model
    def _lock_record(self, record):
        """Lock ``record``'s row without waiting; False when it is held
        elsewhere or changed since this transaction's snapshot."""
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                locked = bool(record.try_lock_for_update(allow_referencing=True))
        except CONCURRENCY_ERRORS:
            locked = False
        record.invalidate_recordset()
        return locked

    @api.model
    def _lock(self, picking, wait_ms=0):
        """Lock ``picking``'s row for this transaction: without waiting
        (``wait_ms`` 0, skip when held) or waiting at most ``wait_ms``.
        Returns False when the row is held elsewhere or changed since this
        transaction's snapshot; never raises for either, and leaves the
        transaction usable."""
        cr = self.env.cr
        try:
            with mute_logger("odoo.sql_db"), cr.savepoint(flush=False):
                if wait_ms:
                    # set_config(..., true) is SET LOCAL, with a parameter
                    cr.execute(
                        "SELECT set_config('lock_timeout', %s, true)",
                        [f"{int(wait_ms)}ms"],
                    )
                    cr.execute(
                        "SELECT id FROM stock_picking WHERE id = %s FOR NO KEY UPDATE",
                        [picking.id],
                    )
                    locked = bool(cr.fetchall())
                    cr.execute("SET LOCAL lock_timeout TO DEFAULT")
                else:
                    return self._lock_record(picking)
        except CONCURRENCY_ERRORS as exc:
            _logger.info(
                "Write-back of %s: row busy (%s)", picking.display_name, exc.pgcode
            )
            locked = False
        picking.invalidate_recordset()
        return locked

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
    def _cron_push(self, batch_size=20):
        """Send due pending shipments (see the module docstring)."""
        run = WritebackRun(self.env)
        self._apply_stored_outcomes()
        self._recheck_blocked()
        self._commit()
        if self._push_queued(batch_size):  # queue_job runs it (writeback_queue.py)
            return

        def process(batch):
            sent = 0
            for picking in batch:
                if picking.ecommerce_account_id.id in run.held_accounts:
                    continue
                with self._isolated(picking, "send"):
                    if picking._writeback_lines_to_resolve():
                        self._resolve_lines(run, picking)
                        self._commit()
                    shipment = self._claim(run, picking)
                    self._commit()  # the claim, or the release of a skipped lock
                    if shipment is None:
                        continue
                    self._send(run, picking, shipment)
                    self._commit()
                    sent += 1
            return sent

        self._batch_loop(
            "stock.picking",
            self._push_domain,
            process,
            batch_size=batch_size,
            order="writeback_next_attempt, id",
        )

    @api.model
    def _due_accounts(self):
        """``{account id: number of due pending shipments}``."""
        groups = self.env["stock.picking"]._read_group(
            self._push_domain(), ["ecommerce_account_id"], ["__count"]
        )
        return {account.id: count for account, count in groups}

    @api.model
    def _push_account(self, account, limit=20, run=None):
        """Send up to ``limit`` due shipments of ``account`` (claiming them
        itself, skipping those another worker holds or already sent) and
        apply their outcomes, committing as it goes. The unit of work of
        both runners: the push cron and, when enabled, queue jobs.
        Returns how many shipments were sent."""
        run = run or WritebackRun(self.env)
        pickings = self.env["stock.picking"].search(
            self._push_domain() & Domain("ecommerce_account_id", "=", account.id),
            limit=limit,
            order="writeback_next_attempt, id",
        )
        sent = 0
        for picking in pickings:
            if account.id in run.held_accounts:
                break
            with self._isolated(picking, "send"):
                if picking._writeback_lines_to_resolve():
                    self._resolve_lines(run, picking)
                    self._commit()
                shipment = self._claim(run, picking)
                self._commit()  # the claim, or the release of a skipped lock
                if shipment is None:
                    continue
                self._send(run, picking, shipment)
                self._commit()
                sent += 1
        return sent

    @api.model
    def _claim(self, run, picking):
        """Lock ``picking`` (skipping it if another transaction holds it),
        check it is still due and sendable, and mark it *sending* with one
        more attempt and a lease. Returns the Shipment to send, or None."""
        if not self._lock(picking):
            return None
        now = fields.Datetime.now()
        if (
            picking.writeback_state != State.PENDING
            or not picking.writeback_next_attempt
            or picking.writeback_next_attempt > now
        ):
            return None
        shipment, problem = picking._writeback_checked_shipment()
        if problem:
            picking.with_context(writeback_engine=True).write(
                {"writeback_error": problem, "writeback_next_attempt": False}
            )
            return None
        client = run.client(picking.ecommerce_account_id)
        picking._writeback_note_wire_changes()
        # The shipment holds the tracking numbers as the marketplace gets
        # them (eBay REST: letters and digits only, see _writeback_shipment).
        sent_packages = [
            [p.tracking_number, [[i.item_ref, i.quantity] for i in p.items]]
            for p in shipment.packages
        ]
        picking.with_context(writeback_engine=True).write(
            {
                "writeback_state": State.SENDING.value,
                "writeback_attempt_count": picking.writeback_attempt_count + 1,
                "writeback_last_attempt": now,
                "writeback_lease_until": now
                + datetime.timedelta(
                    seconds=self._lease_seconds(picking, client, shipment)
                ),
                "writeback_sent_tracking": ",".join(
                    number for number, _items in sent_packages
                ),
                "writeback_sent_packages": sent_packages,
            }
        )
        return shipment

    @api.model
    def _lease_seconds(self, picking, client, shipment):
        """How long a send may take before it is presumed dead: well above
        what its requests can last with the account's timeout (a token
        exchange plus every request the client makes for this shipment,
        e.g. one CompleteSale per line), so a slow send is never reconciled
        while still running."""
        requests = client.request_count(shipment)
        return max(
            LEASE_SECONDS, 2 * (requests + 1) * picking.ecommerce_account_id.timeout
        )

    @api.model
    def _send(self, run, picking, shipment):
        """Send ``shipment`` (what the claim built) and apply the outcome."""
        account = picking.ecommerce_account_id
        claim = picking._writeback_claim_key()
        error = None
        with run.journal(account, picking):
            try:
                run.client(account).confirm_shipment(shipment)
            except errors.MarketplaceError as exc:
                error = exc
            except Exception as exc:
                _logger.exception(
                    "Write-back of %s failed unexpectedly", picking.display_name
                )
                error = errors.TransientError(
                    self.env._(
                        "Unexpected error while sending: %s", exc.__class__.__name__
                    )
                )
        # Keep the journal whatever happens next, and start a fresh snapshot
        # so a user's change made during the call is seen, not a conflict.
        self._commit()
        picking.invalidate_recordset()
        decision = policy.after_send(
            error,
            picking.writeback_attempt_count,
            account._writeback_policy(),
            throttled=picking.writeback_throttle_count,
        )
        if decision.throttled:
            run.held_accounts.add(account.id)
        self._apply(
            picking, decision, State.SENDING, claim, api=account._writeback_apis()[0]
        )
        if picking.writeback_state == State.SUBMITTED:
            self._trigger("ir_cron_writeback_verify", picking.writeback_next_attempt)

    # ------------------------------------------------------------------
    # eBay line ids
    # ------------------------------------------------------------------
    @api.model
    def _resolve_lines(self, run, picking):
        """Look up on eBay's order the line ids this delivery's lines lack
        for the account's API (Trading OrderLineItemID or REST lineItemId),
        matching them by the ids they have, then by variation and SKU.
        Found ids are stored and logged in the chatter; a line that matches
        no line or several lines gets a message and the delivery waits."""
        account = picking.ecommerce_account_id
        lines = picking._writeback_lines_to_resolve()
        error = None
        with run.journal(account, picking):
            try:
                order = run.client(account).read_order(picking.ecommerce_order_ref)
            except errors.MarketplaceError as exc:
                error = exc
        self._commit()
        if isinstance(error, errors.AuthError):
            account._writeback_flag_auth(str(error), api=account._writeback_apis()[1])
        if error is not None and not isinstance(error, errors.PermanentError):
            # Not now: the delivery stays due a little later.
            if self._lock(picking) and picking.writeback_state == State.PENDING:
                picking.with_context(writeback_engine=True).write(
                    {
                        "writeback_error": self.env._(
                            "Could not look up the eBay line ids yet: %s", error
                        ),
                        "writeback_next_attempt": fields.Datetime.now()
                        + datetime.timedelta(
                            seconds=account._writeback_policy().verify_interval
                        ),
                    }
                )
            return False
        found = []
        for line in lines:
            fname = line._ecommerce_item_field()
            if error is not None:
                reason = "error"
                match = None
            else:
                match, reason = base.match_order_line(
                    order.lines,
                    order_line_item_id=line.ebay_order_line_item_id or "",
                    line_item_id=line.ebay_line_item_id or "",
                    item_id=line.ebay_legacy_item_id or "",
                    variation_id=line.ebay_legacy_variation_id or "",
                    sku=line.product_id.default_code or "",
                )
            if match is None:
                line.with_context(writeback_engine=True).write(
                    {
                        "ebay_line_resolution_error": self._resolution_message(
                            line, fname, reason, error
                        )
                    }
                )
                continue
            value = (
                match.order_line_item_id
                if fname == "ebay_order_line_item_id"
                else match.line_item_id
            )
            vals = {fname: value}
            if match.item_id and not line.ebay_legacy_item_id:
                vals["ebay_legacy_item_id"] = match.item_id
            if match.variation_id and not line.ebay_legacy_variation_id:
                vals["ebay_legacy_variation_id"] = match.variation_id
            line.with_context(writeback_engine=True).write(vals)
            found.append((line, line._fields[fname].string, value))
        if found:
            picking.message_post(
                body=self.env._(
                    "Looked up on eBay order %(order)s: %(found)s.",
                    order=picking.ecommerce_order_ref,
                    found="; ".join(
                        self.env._(
                            "%(line)s has %(field)s %(value)s",
                            line=line.product_id.display_name,
                            field=label,
                            value=value,
                        )
                        for line, label, value in found
                    ),
                )
            )
        return True

    @api.model
    def _resolution_message(self, line, fname, reason, error):
        label = line._fields[fname].string
        if reason == "ambiguous":
            return self.env._(
                "Several lines of eBay order %(order)s match %(product)s: enter "
                "its %(field)s by hand on the sales order line.",
                order=line.order_id.ecommerce_order_ref,
                product=line.product_id.display_name,
                field=label,
            )
        if error is not None:
            return self.env._(
                "eBay could not show order %(order)s to look up the %(field)s of "
                "%(product)s (%(error)s): enter it by hand on the sales order line.",
                order=line.order_id.ecommerce_order_ref,
                field=label,
                product=line.product_id.display_name,
                error=error,
            )
        return self.env._(
            "No line of eBay order %(order)s matches %(product)s: enter its "
            "%(field)s by hand on the sales order line.",
            order=line.order_id.ecommerce_order_ref,
            product=line.product_id.display_name,
            field=label,
        )

    # ------------------------------------------------------------------
    # Applying outcomes
    # ------------------------------------------------------------------
    @api.model
    def _apply(self, picking, decision, expected_state, claim, api=None, readback=None):
        """Write ``decision`` on ``picking`` unless a user changed it since
        the worker left it in ``expected_state`` with ``claim`` (then their
        action wins). Waits briefly for the row; when it stays held, the
        outcome is stored and applied by the next run, never dropped."""
        for _try in range(2):
            if self._lock(picking, wait_ms=APPLY_LOCK_TIMEOUT_MS):
                break
            # Changed since this snapshot, or held: look again with a
            # fresh snapshot once, then store the outcome.
            self._commit()
        else:
            self.env["ecommerce.writeback.outcome"]._store(
                picking, decision, expected_state, claim, api, readback
            )
            return False
        return self._write_outcome(
            picking, decision, expected_state, claim, api, readback
        )

    @api.model
    def _write_outcome(self, picking, decision, expected_state, claim, api, readback):
        """Write ``decision`` on the locked ``picking``, if still expected."""
        if (
            picking.writeback_state != expected_state
            or picking._writeback_claim_key() != claim
        ):
            _logger.info(
                "Write-back of %s: changed to %s meanwhile, outcome %s not applied",
                picking.display_name,
                picking.writeback_state,
                decision.state,
            )
            return False
        if not policy.can_transition(expected_state, decision.state):
            _logger.error(
                "Write-back of %s: refusing %s -> %s",
                picking.display_name,
                expected_state,
                decision.state,
            )
            return False
        now = fields.Datetime.now()
        account = picking.ecommerce_account_id
        later = (
            now + datetime.timedelta(seconds=decision.retry_in)
            if decision.retry_in is not None
            else False
        )
        vals = {"writeback_state": State(decision.state).value}
        if decision.state == State.SENDING:  # reconcile postponed
            vals["writeback_lease_until"] = later
        else:
            vals["writeback_lease_until"] = False
            vals["writeback_next_attempt"] = later
        if not decision.keep_error:
            vals["writeback_error"] = decision.error or False
        if decision.refund_attempt:
            vals["writeback_attempt_count"] = max(
                picking.writeback_attempt_count - 1, 0
            )
        if decision.failed_attempt:
            vals["writeback_error_count"] = picking.writeback_error_count + 1
        vals["writeback_throttle_count"] = (
            picking.writeback_throttle_count + 1 if decision.throttled else 0
        )
        if decision.state == State.SUBMITTED and expected_state == State.SENDING:
            vals["writeback_submitted_date"] = now
        if decision.state == State.SUCCESS:
            vals["writeback_done_date"] = now
        if readback is not None:
            vals.update(
                {
                    "ecommerce_readback_status": readback.get("status_label")
                    or readback.get("status"),
                    "ecommerce_readback_date": now,
                    "ecommerce_readback": readback,
                }
            )
        picking.with_context(writeback_engine=True).write(vals)
        picking._writeback_post_outcome(decision)
        self.env.flush_all()
        # The account and its other deliveries are shared with the other
        # workers: a concurrent flag, clear or hold of the same rows is not
        # a reason to lose this delivery's outcome.
        if (
            api
            and not decision.flag_account
            and decision.state
            in (
                State.SUBMITTED,
                State.SUCCESS,
            )
        ):
            self._shared_write(account._writeback_clear_auth, api)
        if decision.flag_account:
            self._shared_write(account._writeback_flag_auth, decision.error, api=api)
            if expected_state == State.SENDING and decision.state == State.PENDING:
                self._shared_write(self._hold_account, account, later)
        return True

    @api.model
    def _shared_write(self, method, *args, **kwargs):
        """Run ``method`` (a write to rows other workers may write at the
        same time) in a savepoint; a concurrent update makes it a no-op
        (the other worker wrote the same fact) instead of aborting the run."""
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                method(*args, **kwargs)
                self.env.flush_all()
        except CONCURRENCY_ERRORS as exc:
            _logger.info("Concurrent update skipped (%s): %s", exc.pgcode, method)
            self.env.invalidate_all()

    @api.model
    def _hold_account(self, account, until):
        """Credentials rejected: the account's other pending shipments wait
        too (their attempts are not used)."""
        waiting = self.env["stock.picking"].search(
            [
                ("ecommerce_account_id", "=", account.id),
                ("writeback_state", "=", State.PENDING.value),
                ("writeback_next_attempt", "!=", False),
                ("writeback_next_attempt", "<", until),
            ]
        )
        # Rows another worker holds are its business (it is about to meet
        # the same refusal, or has just been told otherwise).
        waiting = waiting.try_lock_for_update(allow_referencing=True)
        waiting.with_context(writeback_engine=True).write(
            {"writeback_next_attempt": until}
        )

    @api.model
    def _apply_stored_outcomes(self, limit=200):
        """Apply the outcomes earlier runs could not (the row was held)."""
        stored = self.env["ecommerce.writeback.outcome"].search(
            [], order="id", limit=limit
        )
        for outcome in stored:
            picking = outcome.picking_id
            if not self._lock(picking):
                continue
            self._write_outcome(
                picking,
                policy.Decision.from_dict(outcome.decision),
                State(outcome.expected_state),
                (outcome.claim_attempt, outcome.claim_date),
                outcome.api_key or None,
                outcome.readback or None,
            )
            outcome.unlink()
            self._commit()

    # ------------------------------------------------------------------
    # Blocked shipments
    # ------------------------------------------------------------------
    @api.model
    def _recheck_blocked(self, limit=BLOCKED_PAGE):
        """Shipments held back by something to fix (pending, no next attempt)
        go as soon as it is fixed (local checks, no marketplace call). All of
        them are rechecked over successive runs, ``limit`` per run, paging by
        id."""
        params = self.env["ir.config_parameter"].sudo()
        cursor = int(params.get_param(BLOCKED_CURSOR_PARAM) or 0)
        domain = Domain(
            [
                ("writeback_state", "=", State.PENDING.value),
                ("writeback_next_attempt", "=", False),
                ("ecommerce_account_id.active", "=", True),
            ]
        )
        Picking = self.env["stock.picking"]
        blocked = Picking.search(
            domain & Domain("id", ">", cursor), order="id", limit=limit
        )
        if len(blocked) == limit:
            next_cursor = max(blocked.ids)
        else:  # the end is reached: wrap around
            next_cursor = 0
            if cursor:
                blocked |= Picking.search(
                    domain & Domain("id", "<=", cursor),
                    order="id",
                    limit=limit - len(blocked),
                )
        if next_cursor != cursor:
            params.set_param(BLOCKED_CURSOR_PARAM, str(next_cursor))
        now = fields.Datetime.now()
        for picking in blocked.filtered(lambda p: not p._writeback_problem()):
            if self._lock(picking) and picking.writeback_state == State.PENDING:
                picking.with_context(writeback_engine=True).write(
                    {"writeback_error": False, "writeback_next_attempt": now}
                )

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
    def _cron_verify(self, batch_size=20):
        """Read orders back (see the module docstring): one read per order
        and run, whatever number of its deliveries are waiting."""
        run = WritebackRun(self.env)
        self._apply_stored_outcomes()
        self._commit()

        def process(batch):
            by_order = {}
            for picking in batch:
                key = (picking.ecommerce_account_id, picking.ecommerce_order_ref)
                by_order.setdefault(key, self.env["stock.picking"])
                by_order[key] |= picking
            for (account, order_ref), pickings in by_order.items():
                with self._isolated(pickings, "verify"):
                    self._verify_order(run, account, order_ref, pickings)
                    self._commit()
            return len(batch)

        self._batch_loop(
            "stock.picking", self._verify_domain, process, batch_size=batch_size
        )

    @api.model
    def _claim_checks(self, account, pickings):
        """Claim the read-back of these deliveries for this worker: each one
        still due is locked and its next check (or lease) moved on by the
        verify interval, and committed, so concurrent workers do not read
        the same order again. Returns the claimed deliveries."""
        claimed = self.env["stock.picking"]
        now = fields.Datetime.now()
        later = now + datetime.timedelta(
            seconds=max(account._writeback_policy().verify_interval, 60)
        )
        for picking in pickings:
            if not self._lock(picking):
                continue
            if (
                picking.writeback_state == State.SUBMITTED
                and picking.writeback_next_attempt
                and picking.writeback_next_attempt <= now
            ):
                field = "writeback_next_attempt"
            elif (
                picking.writeback_state == State.SENDING
                and picking.writeback_lease_until
                and picking.writeback_lease_until < now
            ):
                field = "writeback_lease_until"
            else:
                continue
            picking.with_context(writeback_engine=True).write({field: later})
            claimed |= picking
        self._commit()
        return claimed

    @api.model
    def _verify_order(self, run, account, order_ref, pickings):
        pickings = self._claim_checks(account, pickings)
        if not pickings:
            return
        order = error = None
        with run.journal(account, pickings if len(pickings) == 1 else None):
            try:
                order = run.client(account).read_order(order_ref)
            except errors.MarketplaceError as exc:
                error = exc
            except Exception as exc:
                _logger.exception(
                    "Reading back order %s failed unexpectedly", order_ref
                )
                error = errors.TransientError(exc.__class__.__name__)
        self._commit()  # keep the journal; fresh snapshot (see _send)
        retry_policy = account._writeback_policy()
        read_api = account._writeback_apis()[1]
        now = fields.Datetime.now()
        readback = order.as_dict() if order is not None else None
        for picking in pickings:
            picking.invalidate_recordset()
            state = picking.writeback_state
            if state not in (State.SUBMITTED, State.SENDING):
                continue
            claim = picking._writeback_claim_key()
            packages = picking._writeback_sent_package_list()
            if order is not None and state == State.SUBMITTED:
                age = (now - (picking.writeback_submitted_date or now)).total_seconds()
                decision = policy.after_verify(
                    order, packages, picking.writeback_attempt_count, age, retry_policy
                )
            elif order is not None:
                decision = policy.after_interrupted_send(
                    order, packages, picking.writeback_attempt_count, retry_policy
                )
            else:
                since = (
                    picking.writeback_submitted_date
                    if state == State.SUBMITTED
                    else picking.writeback_last_attempt
                ) or now
                decision = policy.after_readback_failure(
                    error,
                    state,
                    picking.writeback_attempt_count,
                    (now - since).total_seconds(),
                    retry_policy,
                )
            self._apply(
                picking, decision, State(state), claim, api=read_api, readback=readback
            )
            self._commit()


class WritebackOutcome(models.Model):
    """An outcome a worker could not apply because the delivery's row was
    held (a user editing it, another transaction): applied by the next push
    or verify run, so no outcome is ever dropped."""

    _name = "ecommerce.writeback.outcome"
    _description = "Marketplace Write-back Outcome (not applied yet)"
    _order = "id"

    picking_id = fields.Many2one(
        "stock.picking", required=True, ondelete="cascade", index=True
    )
    expected_state = fields.Selection(policy.SELECTION, required=True)
    claim_attempt = fields.Integer()
    claim_date = fields.Datetime()
    decision = fields.Json(required=True)
    api_key = fields.Char(string="API")
    readback = fields.Json()

    @api.model
    def _store(self, picking, decision, expected_state, claim, api_key, readback):
        _logger.info(
            "Write-back of %s is held; outcome %s stored for the next run",
            picking.display_name,
            decision.state,
        )
        attempt, date = claim
        return self.sudo().create(
            {
                "picking_id": picking.id,
                "expected_state": State(expected_state).value,
                "claim_attempt": attempt,
                "claim_date": date,
                "decision": decision.as_dict(),
                "api_key": api_key or False,
                "readback": readback,
            }
        )
