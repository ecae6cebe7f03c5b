# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One delivery's write-back and every way its state changes.

On the model of OCA queue_job's ``Job``: a :class:`Writeback` wraps the
stored record (``stock.picking``) and changes it only through named
transitions (:meth:`~Writeback.set_pending`, :meth:`~Writeback.set_submitted`,
:meth:`~Writeback.set_done`, :meth:`~Writeback.set_failed`,
:meth:`~Writeback.set_manual`, :meth:`~Writeback.postpone`), each checked
against :data:`..marketplaces.policy.TRANSITIONS`, then :meth:`~Writeback.store`.
What the policy decided for a claim is applied by :meth:`~Writeback.apply`,
which picks the transition. The engine's batch statements are the same
transitions for many rows at once: :func:`claim_statement` (*pending* to
*sending*), :func:`release_statement` (*sending* back to *pending*) and
:func:`readback_claim_statement` (a *submitted* or *sending* row postponed);
each checks the table before it is built.
"""

import datetime

from odoo import fields
from odoo.tools import SQL

from ..marketplaces import policy
from ..marketplaces.policy import State


class IllegalTransition(Exception):
    """A state change the transition table does not allow: a bug."""


def check_transition(old, new):
    if not policy.can_transition(old, new):
        raise IllegalTransition(f"{old} -> {new}")


class Writeback:
    """The write-back of one delivery (``picking``), changed by named
    transitions and written by :meth:`store` (see the module docstring)."""

    def __init__(self, picking, now=None):
        self.picking = picking
        self.state = State(picking.writeback_state) if picking.writeback_state else None
        self.now = now or fields.Datetime.now()
        self.vals = {}

    def _go(self, new):
        check_transition(self.state, new)
        self.state = new
        self.vals["writeback_state"] = new.value
        return self

    def _settle(self, new, **vals):
        """Into ``new``, a state that waits for nothing (nothing due, no
        lease), with ``vals``."""
        self._go(new)
        self.vals.update(
            writeback_next_attempt=False, writeback_lease_until=False, **vals
        )
        return self

    def _later(self, seconds):
        return self.now + datetime.timedelta(seconds=seconds)

    # -- transitions ----------------------------------------------------------

    def set_pending(self, *, due=True, error=None, reset_attempts=False):
        """Waiting to be sent: at ``due`` (True: now, a datetime, False: not
        until something is fixed, ``error`` saying what), the attempts
        counted anew with ``reset_attempts``."""
        self._go(State.PENDING)
        self.vals.update(
            writeback_next_attempt=self.now if due is True else due,
            writeback_lease_until=False,
        )
        if error is not None:
            self.vals["writeback_error"] = error or False
        if reset_attempts:
            self.vals["writeback_attempt_count"] = 0
        return self

    def unclaim(self, *, due, error=None):
        """A claim that was not sent: *pending* again, its attempt given
        back; due at ``due`` (None: as it was; False: once something is
        fixed, ``error`` saying what)."""
        self._go(State.PENDING)
        self.vals.update(
            writeback_attempt_count=max(self.picking.writeback_attempt_count - 1, 0),
            writeback_lease_until=False,
        )
        if due is not None:
            self.vals["writeback_next_attempt"] = due
        if error is not None:
            self.vals["writeback_error"] = error or False
        return self

    def set_submitted(self, check_in):
        """The marketplace accepted the confirmation: read it back in
        ``check_in`` seconds."""
        first = self.state != State.SUBMITTED
        self._go(State.SUBMITTED)
        self.vals.update(
            writeback_next_attempt=self._later(check_in),
            writeback_lease_until=False,
        )
        if first:
            self.vals["writeback_submitted_date"] = self.now
        return self

    def set_done(self):
        """The marketplace shows exactly what shipped: *Success*."""
        return self._settle(State.SUCCESS, writeback_done_date=self.now)

    def set_failed(self, error):
        """Given up: a person must act (``error`` says why)."""
        return self._settle(State.FAILED, writeback_error=error or False)

    def set_disagrees(self, error):
        """The marketplace's own view disagrees with what shipped (cancelled
        there, or shipped under another tracking number): a person decides
        (``error`` says what the marketplace holds); nothing is sent."""
        return self._settle(State.DISAGREES, writeback_error=error or False)

    def set_cancelled(self, user_id):
        """Cancelled on the marketplace, handled by a person (parcel
        intercepted or return arranged): closed; the old error goes."""
        return self._settle(
            State.CANCELLED,
            writeback_done_date=self.now,
            writeback_manual_user_id=user_id,
            writeback_manual_reason="cancelled",
            writeback_error=False,
        )

    def set_manual(self, reason, user_id):
        """Closed by a person (``reason``: see stock.picking MANUAL_REASONS)."""
        return self._settle(
            State.MANUAL,
            writeback_done_date=self.now,
            writeback_manual_user_id=user_id,
            writeback_manual_reason=reason,
        )

    def postpone(self, seconds, error=None):
        """Look again in ``seconds``, in the same state: a *submitted*
        shipment's next read-back, a *sending* one's reconciliation (its
        lease), a *pending* one's next send (``error`` saying why not now)."""
        self._go(self.state)
        if error is not None:
            self.vals["writeback_error"] = error or False
        later = self._later(seconds) if seconds is not None else False
        if self.state == State.SENDING:
            self.vals["writeback_lease_until"] = later
        else:
            self.vals.update(writeback_next_attempt=later, writeback_lease_until=False)
        return self

    # -- the policy's decisions ------------------------------------------------

    def apply(self, decision, readback=None):
        """The transition (and bookkeeping) ``decision``, decided by
        :mod:`..marketplaces.policy` for this write-back in its current
        state, stands for; ``readback`` is the order as read back."""
        new = State(decision.state)
        if new == State.SUCCESS:
            self.set_done()
        elif new == State.FAILED:
            self.set_failed(decision.error)
        elif new == State.DISAGREES:
            self.set_disagrees(decision.error)
        elif new == State.SUBMITTED and self.state == State.SENDING:
            self.set_submitted(decision.retry_in or 0)
        elif new == self.state:
            self.postpone(decision.retry_in)
        elif new == State.PENDING:
            due = (
                self._later(decision.retry_in)
                if decision.retry_in is not None
                else False
            )
            self.set_pending(due=due)
        else:
            self._go(new)
        if new == State.SUCCESS:
            # a refusal the marketplace's view settled is told in the chatter
            self.vals["writeback_error"] = False
        elif new not in (State.FAILED, State.DISAGREES) and not decision.keep_error:
            self.vals["writeback_error"] = decision.error or False
        elif decision.keep_error:
            self.vals.pop("writeback_error", None)
        self._count(decision, new, readback)
        return self

    def _count(self, decision, new, readback):
        """The counters and the read-back ``decision`` (to state ``new``)
        updates."""
        picking = self.picking
        if decision.refund_attempt:
            self.vals["writeback_attempt_count"] = max(
                picking.writeback_attempt_count - 1, 0
            )
        if decision.failed_attempt:
            self.vals["writeback_error_count"] = picking.writeback_error_count + 1
        if not decision.held_back:  # the client's own pause counts nowhere
            self.vals["writeback_throttle_count"] = (
                picking.writeback_throttle_count + 1 if decision.throttled else 0
            )
        # a lost answer: the order is read before the next send (until an
        # answer settles it)
        if decision.unanswered:
            self.vals["writeback_sent_unanswered"] = True
        elif new in (State.SUBMITTED, State.SUCCESS, State.FAILED, State.DISAGREES):
            self.vals["writeback_sent_unanswered"] = False
        if decision.read_failed:
            self.vals["writeback_read_failures"] = picking.writeback_read_failures + 1
        elif readback is not None:
            self.vals["writeback_read_failures"] = 0
        if readback is not None:
            self.vals.update(
                ecommerce_readback_status=readback.get("status_label")
                or readback.get("status"),
                ecommerce_readback_date=self.now,
                ecommerce_readback=readback,
            )

    def store(self, track=False):
        """Write the transitions made so far; without ``track`` no chatter
        tracking (the engine posts what a user needs to read)."""
        if self.vals:
            picking = self.picking.with_context(writeback_engine=True)
            if not track:
                picking = picking.with_context(mail_notrack=True)
            picking.write(self.vals)
        return self


# -- the same transitions, for a batch in one statement ----------------------


def claim_statement(*, accounts, limits, seen, now, lease, uid):
    """*pending* to *sending* for up to ``limits[i]`` due shipments of each
    of ``accounts[i]`` (rows another transaction holds are skipped), one more
    attempt each (never more than the account's maximum, even after the
    maximum was lowered), leased until ``lease``. Returns the claimed ids. The
    locking select is a materialized CTE: inside ``IN (...)`` PostgreSQL may
    run it again and claim more than the limit."""
    check_transition(State.PENDING, State.SENDING)
    return SQL(
        """
        WITH claim AS MATERIALIZED (
             SELECT c.id, c.max_attempts
               FROM unnest(%(accounts)s::int[], %(limits)s::int[]) AS a(id, lim)
              CROSS JOIN LATERAL (
                    SELECT s.id, acc.max_attempts
                      FROM stock_picking s
                      JOIN ecommerce_account acc ON acc.id = a.id
                     WHERE s.ecommerce_account_id = a.id
                       AND s.writeback_state = %(pending)s
                       AND s.writeback_next_attempt <= %(now)s
                       AND s.id <> ALL(%(seen)s::int[])
                     ORDER BY s.writeback_next_attempt, s.id
                     LIMIT a.lim
                       FOR NO KEY UPDATE OF s SKIP LOCKED) c)
        UPDATE stock_picking p
           SET writeback_state = %(sending)s,
               writeback_attempt_count = LEAST(
                   p.writeback_attempt_count + 1, claim.max_attempts),
               writeback_last_attempt = %(now)s,
               writeback_lease_until = %(lease)s,
               write_uid = %(uid)s,
               write_date = %(now)s
          FROM claim
         WHERE p.id = claim.id
     RETURNING p.id
        """,
        sending=State.SENDING.value,
        pending=State.PENDING.value,
        now=now,
        lease=lease,
        uid=uid,
        accounts=list(accounts),
        limits=list(limits),
        seen=sorted(seen),
    )


def release_statement(claims, later=None):
    """*sending* back to *pending*, attempt unused, for claims that were
    not sent (``claims``: ``(picking id, attempt, claimed at)``, applied
    only while still under that claim); due at ``later``, else when they
    were due."""
    check_transition(State.SENDING, State.PENDING)
    return SQL(
        """
        UPDATE stock_picking p
           SET writeback_state = %(pending)s,
               writeback_attempt_count = p.writeback_attempt_count - 1,
               writeback_lease_until = NULL,
               writeback_next_attempt = COALESCE(%(later)s, p.writeback_next_attempt)
          FROM (VALUES %(claims)s) AS v(id, attempt, claimed_at)
         WHERE p.id = v.id
           AND p.writeback_state = %(sending)s
           AND p.writeback_attempt_count = v.attempt
           AND p.writeback_last_attempt = v.claimed_at
        """,
        pending=State.PENDING.value,
        sending=State.SENDING.value,
        later=later,
        claims=SQL(", ").join(
            SQL("(%s, %s, %s::timestamp)", picking_id, attempt, claimed_at)
            for picking_id, attempt, claimed_at in claims
        ),
    )


def sent_tracking_statement(ids):
    """*Tracking Sent* of the deliveries ``ids`` whose send reached the
    marketplace (a decision's ``sent``): the tracking numbers their claim
    carried, as stored when it was claimed (``writeback_sent_packages``).
    Until a send goes out it stays empty; a send that does not go out
    leaves the last one's."""
    return SQL(
        """
        UPDATE stock_picking p
           SET writeback_sent_tracking = (
                   SELECT string_agg(pkg ->> 0, ',' ORDER BY n)
                     FROM jsonb_array_elements(p.writeback_sent_packages)
                          WITH ORDINALITY AS t(pkg, n))
         WHERE p.id = ANY(%s)
           AND jsonb_typeof(p.writeback_sent_packages) = 'array'
        """,
        sorted(ids),
    )


def extend_leases_statement(claims):
    """A longer lease for claims still waiting their turn: ``claims`` are
    ``(picking id, attempt, claimed at, lease as set, new lease)``, each
    extended only while still *sending* under that claim and lease. The
    state does not change. Returns the ids extended."""
    check_transition(State.SENDING, State.SENDING)
    return SQL(
        """
        UPDATE stock_picking p
           SET writeback_lease_until = v.new_lease
          FROM (VALUES %(claims)s) AS v(id, attempt, claimed_at, lease, new_lease)
         WHERE p.id = v.id
           AND p.writeback_state = %(sending)s
           AND p.writeback_attempt_count = v.attempt
           AND p.writeback_last_attempt = v.claimed_at
           AND p.writeback_lease_until = v.lease
     RETURNING p.id
        """,
        sending=State.SENDING.value,
        claims=SQL(", ").join(
            SQL("(%s, %s, %s::timestamp, %s::timestamp, %s::timestamp)", *claim)
            for claim in claims
        ),
    )


def readback_claim_statement(*, limit, seen, now, later):
    """Due read-backs claimed for one worker: a *submitted* shipment's next
    check, or a *sending* one's expired lease, postponed to ``later`` (the
    state does not change), rows another transaction holds skipped and
    those with a stored outcome left to it. Returns the claimed ids."""
    for state in (State.SUBMITTED, State.SENDING):
        check_transition(state, state)
    return SQL(
        """
        WITH claim AS MATERIALIZED (
               SELECT s.id
                 FROM stock_picking s
                 JOIN ecommerce_account a ON a.id = s.ecommerce_account_id
                WHERE a.active
                  AND s.writeback_state IN (%(submitted)s, %(sending)s)
                  AND ((s.writeback_state = %(submitted)s
                        AND s.writeback_next_attempt <= %(now)s)
                       OR (s.writeback_state = %(sending)s
                           AND s.writeback_lease_until < %(now)s))
                  AND NOT EXISTS (
                      SELECT 1 FROM ecommerce_writeback_outcome o
                       WHERE o.picking_id = s.id)
                  AND s.id <> ALL(%(seen)s::int[])
                ORDER BY s.id
                LIMIT %(limit)s
                  FOR NO KEY UPDATE OF s SKIP LOCKED)
        UPDATE stock_picking p
           SET writeback_next_attempt = CASE
                   WHEN p.writeback_state = %(submitted)s THEN %(later)s
                   ELSE p.writeback_next_attempt END,
               writeback_lease_until = CASE
                   WHEN p.writeback_state = %(sending)s THEN %(later)s
                   ELSE p.writeback_lease_until END
          FROM claim
         WHERE p.id = claim.id
     RETURNING p.id
        """,
        submitted=State.SUBMITTED.value,
        sending=State.SENDING.value,
        now=now,
        later=later,
        seen=sorted(seen),
        limit=limit,
    )
