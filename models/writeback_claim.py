# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The engine's claims: due shipments taken for one worker in one statement
(rows another transaction holds skipped), their shipments built once, and
the claims committed before any marketplace call; claims not sent given
back with their attempt unused; read-backs claimed the same way; blocked
shipments rechecked. The statements are :mod:`.writeback`'s transitions."""

import contextlib
import datetime
import json
import logging
import time

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL, mute_logger

from ..marketplaces.base import API_EBAY_TRADING
from ..marketplaces.policy import State
from . import writeback
from .writeback import Writeback
from .writeback_engine import (
    BLOCKED_CURSOR_PARAM,
    BLOCKED_PAGE,
    CONCURRENCY_ERRORS,
    LEASE_SECONDS,
    Claimed,
)

_logger = logging.getLogger(__name__)


class WritebackEngineClaims(models.AbstractModel):
    _inherit = "ecommerce.writeback.engine"

    @api.model
    def _claim_rows(self, what, query):
        """Run a claim statement (``query`` returns the claimed ids) as the
        first statement of a fresh transaction. Returns the ids, or None
        after a concurrent update (nothing claimed; claim again)."""
        cr = self.env.cr
        try:
            with mute_logger("odoo.sql_db"):
                cr.execute(query)
                return [row[0] for row in cr.fetchall()]
        except CONCURRENCY_ERRORS as exc:
            _logger.info("%s claim: concurrent update (%s)", what, exc.pgcode)
            cr.rollback()
            self.env.invalidate_all()
            return None

    @api.model
    def _claim_batch(self, run, account_ids, limit, push):
        """Claim up to ``limit`` due shipments of each of ``account_ids`` in
        one statement (rows another transaction holds are skipped; the
        locking select is a materialized CTE: inside ``IN (...)`` PostgreSQL
        may run it again and claim more than ``limit``), build
        what to send, and commit the claims before anything is sent.
        Returns the list of :class:`Claimed`, or None after a concurrent
        update (nothing claimed; try again)."""
        self._commit()  # the claim starts a fresh snapshot
        now = fields.Datetime.now()
        limits = self._claim_limits(run, account_ids, limit)
        for account_id, most in list(limits.items()):
            if most <= 0:  # no time left to send for it in this run
                push.exhausted.add(account_id)
                push.out_of_time = True
                del limits[account_id]
        if not limits:
            return []
        ids = self._claim_rows(
            "Write-back",
            writeback.claim_statement(
                accounts=list(limits),
                limits=list(limits.values()),
                seen=push.seen,
                now=now,
                lease=now + datetime.timedelta(seconds=LEASE_SECONDS),
                uid=self.env.uid,
            ),
        )
        if not ids:
            return ids  # None (a concurrent update) or []
        push.seen.update(ids)
        Picking = self.env["stock.picking"]
        Picking.invalidate_model()
        pickings = Picking.browse(sorted(ids))
        pickings._writeback_prefetch()
        claimed, to_resolve = self._build_claims(run, pickings, push, now)
        for picking in to_resolve:
            # Back to pending, still due: their eBay line ids are looked up
            # first.
            Writeback(picking, now).unclaim(due=None).store()
        self._record_sent(run, claimed, now)
        self._commit()  # the claims
        self._look_up_lines(run, push, to_resolve)
        return claimed

    @api.model
    def _claim_limits(self, run, account_ids, limit):
        """``{account id: how many shipments to claim}``: ``limit``, or fewer
        when the run would not have the time to send them at the seller's
        rate before Odoo ends it (see :meth:`_time_left`)."""
        left = self._time_left()
        limits = {}
        Account = self.env["ecommerce.account"]
        for account in Account.browse(account_ids):
            most = limit
            if left is not None:
                try:
                    fits = run.client(account).sends_within(left)
                except Exception:  # noqa: BLE001 (told when its shipments are built)
                    fits = None
                if fits is not None:
                    most = min(most, fits)
            limits[account.id] = most
        return limits

    @api.model
    def _build_claims(self, run, pickings, push, now):
        """The claimed deliveries' shipments, built once each (the mapper):
        ``(claimed, to_resolve)``, the :class:`Claimed` ready to send and the
        deliveries whose eBay line ids are to be looked up first. A delivery
        with something to fix goes back to *pending*, attempt unused. The
        batch is built under one savepoint; when anything fails in it, it
        is built again one delivery per savepoint, so that the failure
        stays that delivery's (see :meth:`_isolated_claim`)."""
        try:
            with self.env.cr.savepoint():
                return self._build_claim_list(run, pickings, push, now)
        except Exception:  # noqa: BLE001 - rebuilt one by one, logged there
            pickings.invalidate_recordset()
            return self._build_claim_list(run, pickings, push, now, isolated=True)

    @api.model
    def _build_claim_list(self, run, pickings, push, now, isolated=False):
        binder = self.env["ecommerce.writeback.binder"]
        claimed, to_resolve = [], pickings.browse()
        for picking in pickings:
            with (
                self._isolated_claim(run, picking, now)
                if isolated
                else contextlib.nullcontext()
            ):
                if picking.id not in push.resolved and binder._lines_to_resolve(
                    picking
                ):
                    to_resolve |= picking
                    continue
                shipment, problem = picking._writeback_checked_shipment()
                if problem:  # not sent: something to fix first
                    Writeback(picking, now).unclaim(due=False, error=problem).store()
                    continue
                picking._writeback_note_wire_changes(shipment)
                account = picking.ecommerce_account_id
                run.client(account)  # an account whose client cannot be built
                claimed.append(
                    Claimed(
                        picking=picking,
                        account=account,
                        shipment=shipment,
                        claim=(picking.writeback_attempt_count, now),
                        attempt=picking.writeback_attempt_count,
                        throttled=picking.writeback_throttle_count,
                        api=account._writeback_apis()[0],
                    )
                )
        return claimed, to_resolve

    @api.model
    def _record_sent(self, run, claimed, now):
        """Store what each claim sends (its packages, read back against the
        marketplace later; *Tracking Sent* once the send went out) and its
        lease, sized for its
        requests and its place in the batch, in one statement."""
        if not claimed:
            return
        rows = []
        for position, item in enumerate(claimed):
            packages = [
                [p.tracking_number, [[i.item_ref, i.quantity] for i in p.items]]
                for p in item.shipment.packages
            ]
            item.lease_seconds = self._lease_seconds(item, run.client(item.account))
            # it may wait its turn behind the rest of the batch
            lease = now + datetime.timedelta(seconds=item.lease_seconds + position)
            item.lease = lease
            shipment = item.shipment
            meta = {
                "carrier": [shipment.carrier_code, shipment.carrier_name],
                # eBay Trading marks the whole order shipped by OrderID
                "order_level": bool(
                    shipment.completes_order and item.api == API_EBAY_TRADING
                ),
            }
            rows.append(
                SQL(
                    "(%s, %s::jsonb, %s::jsonb, %s::timestamp)",
                    item.picking.id,
                    json.dumps(packages),
                    json.dumps(meta),
                    lease,
                )
            )
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
            UPDATE stock_picking p
               SET writeback_sent_packages = v.packages,
                   writeback_sent_meta = v.meta,
                   writeback_lease_until = v.lease
              FROM (VALUES %s) AS v(id, packages, meta, lease)
             WHERE p.id = v.id
                """,
                SQL(", ").join(rows),
            )
        )
        self.env["stock.picking"].invalidate_model(
            [
                "writeback_sent_packages",
                "writeback_sent_meta",
                "writeback_lease_until",
            ]
        )

    @api.model
    def _still_ours(self, item):
        """Right before its send: is the claim ``item`` still this worker's
        (still *sending* under the same attempt, with the lease this worker
        set, not yet ended)? Read on a connection of its own, so it sees
        what other transactions committed meanwhile (a user's action, the
        verify cron reconciling an expired lease): never sent twice."""
        ours = self._recheck_claims([item])[item.picking.id]
        ours = ours and item.lease > fields.Datetime.now()
        if not ours:
            _logger.info(
                "Write-back of %s: the claim is no longer this worker's; not sent",
                item.picking.display_name,
            )
        return ours

    @api.model
    def _recheck_claims(self, items):
        """``{picking id: still ours?}`` for the claims ``items``, read in
        one statement on a connection of its own."""
        by_id = {it.picking.id: it for it in items}
        with self.pool.cursor() as cr:
            cr.execute(
                "SELECT id, writeback_state, writeback_attempt_count,"
                " writeback_last_attempt, writeback_lease_until"
                " FROM stock_picking WHERE id = ANY(%s)",
                [list(by_id)],
            )
            rows = {row[0]: row[1:] for row in cr.fetchall()}
        verdicts = {}
        for picking_id, it in by_id.items():
            row = rows.get(picking_id)
            verdicts[picking_id] = (
                row is not None
                and row[0] == State.SENDING
                and (row[1], row[2]) == it.claim
                and row[3] == it.lease
            )
        return verdicts

    @api.model
    def _extend_leases(self, push):
        """The claims still waiting their turn (a slow marketplace, a long
        batch) get their lease extended, committed on a connection of its
        own, so that they never expire while queued and get sent twice.
        A claim that is no longer this worker's leaves the queue."""
        push.leases_at = time.monotonic()
        waiting = [item for queue in push.queues.values() for item in queue]
        if not waiting:
            return
        now = fields.Datetime.now()
        # as long as a lease from now, each behind those queued before it
        leases = {
            item.picking.id: max(
                item.lease,
                now + datetime.timedelta(seconds=item.lease_seconds + position),
            )
            for position, item in enumerate(waiting)
        }
        claims = [
            (item.picking.id, *item.claim, item.lease, leases[item.picking.id])
            for item in waiting
        ]
        with self.pool.cursor() as cr:
            cr.execute(writeback.extend_leases_statement(claims))
            extended = {row[0] for row in cr.fetchall()}
        for account_id, queue in push.queues.items():
            kept = []
            for item in queue:
                if item.picking.id in extended:
                    item.lease = leases[item.picking.id]
                    kept.append(item)
            push.queues[account_id] = kept

    @api.model
    def _look_up_lines(self, run, push, pickings):
        """Look up the eBay line ids of ``pickings`` (each committed on its
        own); they are claimed again in this run, with the ids found (or
        told what is missing)."""
        binder = self.env["ecommerce.writeback.binder"]
        for picking in pickings:
            with self._isolated(picking, "line lookup"):
                binder._resolve_lines(run, picking)
                self._commit()
            push.resolved.add(picking.id)
            push.seen.discard(picking.id)
            push.again.add(picking.ecommerce_account_id.id)

    @contextlib.contextmanager
    def _isolated_claim(self, run, picking, now):
        """Whatever goes wrong while building one claimed delivery's
        shipment (a bug, a database error) is rolled back to a savepoint and
        never stops the batch: that delivery goes back to *pending* with the
        reason, its attempt unused, tried again after the base delay."""
        try:
            with self.env.cr.savepoint():
                yield
        except Exception as exc:
            _logger.exception(
                "Write-back engine: building the shipment of %s failed",
                picking.display_name,
            )
            picking.invalidate_recordset()
            delay = run.policy(picking.ecommerce_account_id).base_delay
            Writeback(picking, now).unclaim(
                due=now + datetime.timedelta(seconds=delay),
                error=self.env._(
                    "The shipment could not be built (%s); it is tried again "
                    "later. No attempt was used.",
                    exc.__class__.__name__,
                ),
            ).store()

    @api.model
    def _release_claims(self, run, items, decision=None):
        """Give back claims that were not sent (the attempt is not used):
        pending again, due when ``decision`` (a 429 of their account) says,
        else at once."""
        if not items:
            return
        later = None
        if decision is not None and decision.retry_in is not None:
            later = fields.Datetime.now() + datetime.timedelta(
                seconds=decision.retry_in
            )
        self.env.flush_all()
        self.env.cr.execute(
            writeback.release_statement(
                [(item.picking.id, *item.claim) for item in items], later
            )
        )
        self.env["stock.picking"].invalidate_model()
        self._commit()

    @api.model
    def _lease_seconds(self, item, client):
        """How long the send of claim ``item`` may take before it is presumed
        dead: well above what its requests can last with the account's
        timeout (a token exchange plus every request the client makes for
        this shipment, e.g. one CompleteSale per line), so a slow send is
        never reconciled while still running."""
        requests = client.request_count(item.shipment)
        return max(LEASE_SECONDS, 2 * (requests + 1) * item.account.timeout)

    @api.model
    def _claim_checks(self, run, limit, seen):
        """Claim up to ``limit`` due read-backs for this worker in one
        statement (rows another transaction holds are skipped): their next
        check (or lease) moves on by the verify interval, committed, so
        concurrent workers do not read the same orders again. Returns the
        claimed deliveries, or None after a concurrent update."""
        self._commit()  # the claim starts a fresh snapshot
        now = fields.Datetime.now()
        later = now + datetime.timedelta(seconds=max(run.policy().verify_interval, 60))
        ids = self._claim_rows(
            "Read-back",
            writeback.readback_claim_statement(
                limit=limit, seen=seen, now=now, later=later
            ),
        )
        if ids is None:
            return None
        seen.update(ids)
        pickings = self.env["stock.picking"].browse(sorted(ids))
        pickings.invalidate_recordset()
        self._commit()
        return pickings

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
