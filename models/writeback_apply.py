# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Applying outcomes: one path for a batch of sends, a batch of read-backs
and the outcomes stored by earlier runs.

An outcome is written only on the claim it was decided for, through the
write-back object's transitions (:class:`~.writeback.Writeback`); rows
another transaction holds are waited for, at most ``APPLY_LOCK_TIMEOUT_MS``
twice (once per snapshot), then their outcome is stored
(``ecommerce.writeback.outcome``) and applied by the next run, never
dropped. What the outcomes mean for their accounts (authentication flags,
held shipments) is gathered and written once, by one function, in
savepoints that a concurrent write of the same fact cannot abort."""

import dataclasses
import datetime
import logging

from odoo import api, fields, models
from odoo.tools import SQL, mute_logger

from ..marketplaces import policy
from ..marketplaces.policy import State
from . import writeback
from .writeback import IllegalTransition, Writeback
from .writeback_engine import (
    APPLY_LOCK_TIMEOUT_MS,
    CLAIM_FIELDS,
    CONCURRENCY_ERRORS,
    Claimed,
)

_logger = logging.getLogger(__name__)


@dataclasses.dataclass
class AccountEffects:
    """What a set of outcomes means for their accounts, gathered while they
    are applied and written once (``ecommerce.writeback.engine``
    ``_apply_account_effects``)."""

    now: object
    clears: set = dataclasses.field(default_factory=set)  # {(account, api)}
    flags: dict = dataclasses.field(default_factory=dict)  # (account, api) -> ...
    verify_at: object = None  # the earliest first read-back it schedules

    def note(self, item, decision, vals):
        key = (item.account, item.api)
        if decision.flag_account:
            self.flags[key] = (decision, item.expected_state)
        elif decision.state in (State.SUBMITTED, State.SUCCESS):
            self.clears.add(key)
        if decision.state == State.SUBMITTED and item.expected_state == State.SENDING:
            due = vals.get("writeback_next_attempt")
            if due and (self.verify_at is None or due < self.verify_at):
                self.verify_at = due


class WritebackEngineApply(models.AbstractModel):
    _inherit = "ecommerce.writeback.engine"

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

    @api.model
    def _apply_batch(self, run, results):
        """Store the run's journal so far and apply ``results`` (see
        :meth:`_apply_outcomes`); the caller's batch loop commits. Returns
        how many outcomes there were."""
        run.flush_journal()
        self._apply_outcomes(results)
        return len(results)

    @api.model
    def _apply_outcomes(self, results, store_held=True):
        """Apply ``[(Claimed, Decision)]``: the deliveries are locked in one
        statement and the still-claimed ones written grouped by outcome;
        then each delivery whose row is held is waited for (bounded) and
        written the same way, or, with ``store_held``, its outcome stored
        for the next run. Returns the ids of the deliveries settled
        (written, or whose outcome no longer applies)."""
        Picking = self.env["stock.picking"]
        pickings = Picking.browse([item.picking.id for item, _d in results])
        try:
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint(flush=False):
                locked = pickings.try_lock_for_update(allow_referencing=True)
        except CONCURRENCY_ERRORS:
            locked = Picking
        pickings.invalidate_recordset()
        pickings.fetch(CLAIM_FIELDS)
        held = [(item, d) for item, d in results if item.picking not in locked]
        self._write_outcomes([(i, d) for i, d in results if i.picking in locked])
        settled = set(locked.ids)
        for item, decision in held:
            if store_held and self._wait_for_row(item.picking):
                self._write_outcomes([(item, decision)])
                settled.add(item.picking.id)
            elif store_held:
                self.env["ecommerce.writeback.outcome"]._store(
                    item.picking,
                    decision,
                    item.expected_state,
                    item.claim,
                    item.api,
                    item.readback,
                )
        return settled

    @api.model
    def _wait_for_row(self, picking):
        """Lock ``picking``'s row, waiting at most APPLY_LOCK_TIMEOUT_MS for
        it, twice: the second time with a fresh snapshot (the row may have
        changed since this transaction's). False when it stays held."""
        for _try in range(2):
            if self._lock(picking, wait_ms=APPLY_LOCK_TIMEOUT_MS):
                return True
            self._commit()
        return False

    @api.model
    def _write_outcomes(self, results):
        """Write ``[(Claimed, Decision)]`` on their locked deliveries (the
        ones still under their claim), grouped by the values written, post
        what users read, and apply the accounts' effects."""
        Picking = self.env["stock.picking"]
        now = fields.Datetime.now()
        effects = AccountEffects(now)
        groups = {}  # frozen vals -> (vals, ids)
        posts = []
        sent = []  # ids whose send reached the marketplace
        for item, decision in results:
            picking = item.picking
            change = self._claimed_change(
                picking, decision, item.expected_state, item.claim, now
            )
            if change is None:
                continue
            vals = change.apply(decision, item.readback).vals
            key = tuple(sorted((k, repr(v)) for k, v in vals.items()))
            groups.setdefault(key, (vals, []))[1].append(picking.id)
            if decision.sent:
                sent.append(picking.id)
            if decision.state in (State.SUCCESS, State.FAILED, State.DISAGREES):
                posts.append((picking, decision))
            effects.note(item, decision, vals)
        for vals, ids in groups.values():
            Picking.browse(ids).with_context(
                writeback_engine=True, mail_notrack=True
            ).write(vals)
        if sent:
            # Tracking Sent: what went out, read by the messages below
            self.env.flush_all()
            self.env.cr.execute(writeback.sent_tracking_statement(sent))
            Picking.invalidate_model(["writeback_sent_tracking"])
        for picking, decision in posts:
            picking._writeback_post_outcome(decision)
        self.env.flush_all()
        self._apply_account_effects(effects)

    @api.model
    def _apply_account_effects(self, effects):
        """What outcomes mean for their accounts (:class:`AccountEffects`):
        a call that went through clears the account's authentication flag
        of that API; credentials refused flag the account, and a refused
        send holds the account's other shipments; a first read-back is
        scheduled."""
        for account, api_key in effects.clears - set(effects.flags):
            if api_key and account.auth_error:
                self._shared_write(account._writeback_clear_auth, api_key)
        for (account, api_key), (decision, expected) in effects.flags.items():
            self._shared_write(
                account._writeback_flag_auth, decision.error, api=api_key
            )
            if (
                expected == State.SENDING
                and decision.state == State.PENDING
                and decision.retry_in is not None
            ):
                self._shared_write(
                    self._hold_account,
                    account,
                    effects.now + datetime.timedelta(seconds=decision.retry_in),
                )
        if effects.verify_at:
            self._trigger("ir_cron_writeback_verify", effects.verify_at)

    @api.model
    def _claimed_change(self, picking, decision, expected_state, claim, now):
        """The :class:`~.writeback.Writeback` through which ``decision`` is
        written on the locked ``picking``, or None when it must not be:
        the delivery left ``expected_state`` or the claim (a user or another
        worker acted meanwhile, and they win), or the transition table does
        not allow the change (a bug: logged, refused)."""
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
            return None
        try:
            writeback.check_transition(expected_state, State(decision.state))
        except IllegalTransition:
            _logger.error(
                "Write-back of %s: refusing %s -> %s",
                picking.display_name,
                expected_state,
                decision.state,
            )
            return None
        return Writeback(picking, now)

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
        """Apply the outcomes earlier runs could not (the row was held), one
        by one, each in isolation and committed: one that cannot be applied
        never stops the others. A row still held keeps its outcome."""
        Outcome = self.env["ecommerce.writeback.outcome"]
        for outcome in Outcome.search([], order="id", limit=limit):
            with self._isolated(outcome.picking_id, "stored outcome"):
                item, decision = outcome._as_result()
                if item.picking.id in self._apply_outcomes(
                    [(item, decision)], store_held=False
                ):
                    outcome._forget()
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

    def _as_result(self):
        """This outcome as the engine applies it: ``(Claimed, Decision)``."""
        self.ensure_one()
        picking = self.picking_id
        item = Claimed(
            picking=picking,
            account=picking.ecommerce_account_id,
            shipment=None,
            claim=(self.claim_attempt, self.claim_date),
            attempt=self.claim_attempt,
            throttled=picking.writeback_throttle_count,
            expected_state=State(self.expected_state),
            api=self.api_key or None,
            readback=self.readback or None,
        )
        return item, policy.Decision.from_dict(self.decision)

    def _forget(self):
        """Delete these stored outcomes, applied (or no longer applicable);
        one another run deleted meanwhile is no error."""
        self.env.cr.execute(
            SQL("DELETE FROM ecommerce_writeback_outcome WHERE id = ANY(%s)", self.ids)
        )
        self.invalidate_model()
