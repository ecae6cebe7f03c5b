# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reconciliation: what the marketplaces hold against what Odoo did.

A daily cron (and *Reconcile now*, which only wakes it) reads, per account,
the orders the marketplace changed since the last run with the client's
batch read (:meth:`~..marketplaces.contract.MarketplaceClient.changed_orders`)
and lists three kinds of disagreement as ``ecommerce.reconciliation.issue``:

* **shipped outside Odoo**: the marketplace shows the order shipped
  (tracking numbers no validated delivery of the order holds, or shipped
  while no delivery is validated) and a delivery of the order is still open;
* **shipped, no sales order**: the marketplace shows the order shipped and
  no sales order of the account's company carries its reference;
* **changed since Success**: a write-back the marketplace confirmed whose
  order changed afterwards: a tracking number sent is no longer on the
  order (removed or replaced), the order is cancelled or refunded;
* **never written back** (from Odoo's side alone): deliveries validated
  more than N hours ago (setting) that never went to the marketplace
  because their sales order has a marketplace account without an order
  reference or the other way round, or because they wait for a reference
  (a line id...) they lack.

Each account keeps a cursor (*Reconciled up to*): a run reads only what
changed since; a window it could not finish (Amazon's searchOrders bucket
empty, eBay's page budget used) is resumed by the next run from the page it
stopped at. One account's failure never stops the others; every call is
journaled like the write-backs' calls.
"""

import datetime
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..marketplaces import base, errors
from ..marketplaces.policy import State
from .stock_picking import ACCOUNTANT_GROUP, SHIPPING_TYPE_CODES

_logger = logging.getLogger(__name__)

KINDS = [
    ("shipped_outside", "Shipped outside Odoo"),
    ("shipped_no_order", "Shipped, no sales order"),
    ("changed_since_success", "Changed since Success"),
    ("never_written_back", "Never written back"),
]
# The first run of an account looks back this far.
FIRST_LOOKBACK = datetime.timedelta(days=7)
# Deliveries older than this are not searched for "never written back".
UNSENT_LOOKBACK = datetime.timedelta(days=30)
UNSENT_HOURS_PARAM = "stock_ecommerce_writeback.reconcile_unsent_hours"
DEFAULT_UNSENT_HOURS = 24
# An account whose window was left unfinished is read again this much later
# (Amazon refills one searchOrders page in 1 / 0.0056 s = 179 s).
RESUME_AFTER = datetime.timedelta(minutes=3)
MAX_TEXT = 500


def _naive(value):
    return value.astimezone(datetime.UTC).replace(tzinfo=None)


def _aware(value):
    return value.replace(tzinfo=datetime.UTC) if value else None


class EcommerceReconciliationIssue(models.Model):
    _name = "ecommerce.reconciliation.issue"
    _description = "Marketplace Reconciliation Issue"
    _inherit = ["mail.thread"]
    _order = "detected_date desc, id desc"

    kind = fields.Selection(KINDS, required=True, readonly=True, index=True)
    state = fields.Selection(
        [("open", "Open"), ("handled", "Handled"), ("resolved", "Resolved")],
        default="open",
        required=True,
        readonly=True,
        index=True,
        tracking=True,
        help="Handled: a person closed it. Resolved: the next run found the "
        "disagreement gone (the delivery validated, the write-back sent "
        "again...).",
    )
    account_id = fields.Many2one(
        "ecommerce.account",
        string="Marketplace Account",
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True
    )
    picking_id = fields.Many2one(
        "stock.picking",
        string="Delivery",
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    sale_order_id = fields.Many2one(
        "sale.order", string="Sales Order", readonly=True, ondelete="cascade"
    )
    order_ref = fields.Char(string="Marketplace Order", readonly=True)
    summary = fields.Char(string="Disagreement", readonly=True)
    marketplace_status = fields.Char(readonly=True)
    marketplace_cancelled = fields.Boolean(readonly=True)
    marketplace_refunded = fields.Boolean(
        string="Refunded on the Marketplace",
        readonly=True,
        help="The marketplace shows the buyer refunded.",
    )
    tracking_gone = fields.Boolean(
        string="Tracking Number Gone",
        readonly=True,
        help="A tracking number the write-back sent is no longer on the "
        "marketplace's order (removed or replaced): sending again puts it back.",
    )
    marketplace_carrier = fields.Char(readonly=True)
    marketplace_tracking = fields.Char(string="Marketplace Tracking", readonly=True)
    odoo_tracking = fields.Char(string="Odoo Tracking", readonly=True)
    marketplace_updated = fields.Char(
        string="Changed on the Marketplace",
        readonly=True,
        help="When the marketplace last changed the order, as it reports it.",
    )
    detected_date = fields.Datetime(string="Detected", readonly=True)
    last_seen_date = fields.Datetime(string="Last Seen", readonly=True)
    handled_by_id = fields.Many2one("res.users", string="Handled By", readonly=True)
    handled_date = fields.Datetime(readonly=True)
    # What the marketplace (or Odoo) held when found: a person's "handled"
    # holds for these facts, not for a later change.
    fingerprint = fields.Char(readonly=True, copy=False)
    writeback_state = fields.Selection(related="picking_id.writeback_state")

    _one_open_per_delivery = models.UniqueIndex(
        "(kind, picking_id) WHERE state = 'open'",
        "A delivery has one open issue of each kind.",
    )
    _one_open_per_order = models.UniqueIndex(
        "(kind, account_id, order_ref) WHERE state = 'open' AND picking_id IS NULL",
        "A marketplace order has one open issue of each kind.",
    )

    @api.depends("kind", "order_ref", "picking_id")
    def _compute_display_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for issue in self:
            issue.display_name = (
                f"{labels.get(issue.kind, '')}: "
                f"{issue.order_ref or issue.picking_id.name or ''}"
            )

    # ------------------------------------------------------------------
    # The run
    # ------------------------------------------------------------------
    @api.model
    def _cron_reconcile(self, account_ids=None):
        """Reconcile every active account (or ``account_ids``), each on its
        own savepoint and committed after it: one account's failure never
        stops the others. Then the local check (never written back) and the
        clean-up of issues that no longer hold."""
        domain = [("active", "=", True)]
        if account_ids:
            domain.append(("id", "in", list(account_ids)))
        accounts = self.env["ecommerce.account"].search(domain)
        unfinished = self.env["ecommerce.account"]
        Cron = self.env["ir.cron"]
        for index, account in enumerate(accounts):
            if self._reconcile_one(account):
                unfinished |= account
            # the accounts left, and the local check
            if not Cron._commit_progress(1, remaining=len(accounts) - index):
                unfinished |= accounts[index + 1 :]
                break
        self._detect_never_written_back()
        self._resolve_gone()
        if unfinished:
            self.env["ecommerce.writeback.engine"]._trigger(
                "ir_cron_reconcile", at=fields.Datetime.now() + RESUME_AFTER
            )
        Cron._commit_progress(1, remaining=0)
        return True

    def _reconcile_one(self, account):
        """One account's reads and findings; True when its window is left
        unfinished. A failure is logged and kept on the account."""
        journal = []
        failure = None
        try:
            with self.env.cr.savepoint():
                unfinished = self._reconcile_account(account, journal)
        except errors.MarketplaceError as exc:
            failure = exc
            _logger.warning("Reconciliation of %s: %s", account.display_name, exc)
        except Exception as exc:  # one account never stops the others
            failure = exc
            _logger.warning(
                "Reconciliation of %s failed", account.display_name, exc_info=True
            )
        self.env["ecommerce.api.call"].sudo()._record(account, journal)
        if failure is None:
            return unfinished
        vals = {
            "reconcile_date": fields.Datetime.now(),
            "reconcile_error": (str(failure) or failure.__class__.__name__)[:MAX_TEXT],
        }
        if isinstance(failure, errors.AuthError):
            # credentials refused here as anywhere: the account says so (Red,
            # with the reason; its write-backs wait for new credentials)
            account.sudo()._writeback_flag_auth(
                str(failure), api=account._writeback_apis()[1]
            )
        if isinstance(failure, errors.PermanentError) and account.reconcile_resume:
            # e.g. an Amazon page token past its 24 hours: the window again
            vals["reconcile_resume"] = False
        account.sudo().write(vals)
        return False

    def _reconcile_account(self, account, journal):
        now = fields.Datetime.now()
        if account.reconcile_window_since:
            since = account.reconcile_window_since
            until = account.reconcile_window_until
            resume = account.reconcile_resume or ""
        else:
            since = account.reconcile_cursor or now - FIRST_LOOKBACK
            until, resume = None, ""
        client = account._marketplace_client(journal.append)
        try:
            result = client.changed_orders(_aware(since), _aware(until), resume)
        finally:
            # its search buckets, for the read-backs of any worker
            self.env["ecommerce.writeback.engine"]._store_pacing(
                account, client.pacing_state()
            )
        self._detect_changes(account, result.orders)
        vals = {"reconcile_date": now, "reconcile_error": False}
        if result.complete:
            vals.update(
                reconcile_cursor=_naive(result.until),
                reconcile_window_since=False,
                reconcile_window_until=False,
                reconcile_resume=False,
            )
        else:
            vals.update(
                reconcile_window_since=_naive(result.since),
                reconcile_window_until=_naive(result.until),
                reconcile_resume=result.resume or False,
            )
        account.sudo().write(vals)
        return not result.complete

    # ------------------------------------------------------------------
    # Findings
    # ------------------------------------------------------------------
    def _detect_changes(self, account, views):
        """Shipped outside Odoo and changed since Success, from the orders
        the marketplace changed."""
        by_ref = {view.order_ref: view for view in views if view.order_ref}
        if not by_ref:
            return
        orders = (
            self.env["sale.order"]
            .sudo()
            .search(
                [
                    ("ecommerce_account_id", "=", account.id),
                    ("ecommerce_order_ref", "in", list(by_ref)),
                ]
            )
        )
        self._detect_no_order(account, by_ref)
        for order in orders:
            view = by_ref[order.ecommerce_order_ref]
            deliveries = order.picking_ids.filtered(
                lambda p: (
                    p.picking_type_code in SHIPPING_TYPE_CODES
                    and p.location_dest_id.usage == "customer"
                )
            ).sorted("id")
            done = deliveries.filtered(lambda p: p.state == "done")
            still_open = deliveries.filtered(
                lambda p: p.state not in ("done", "cancel")
            )
            if still_open and view.shows_shipped:
                held = {
                    base.normalize_tracking(number)
                    for picking in done
                    for number in picking._writeback_tracking_numbers()
                }
                if (view.tracking_numbers - held) or not done:
                    self._found(
                        "shipped_outside",
                        still_open[0],
                        view,
                        self.env._(
                            "The marketplace shows the order shipped; this "
                            "delivery is not validated."
                        ),
                    )
            for picking in done.filtered(
                lambda p: p.writeback_state == State.SUCCESS.value
            ):
                changes = self._changes_since_success(picking, view)
                if changes:
                    gone = not view.cancelled and any(
                        not view.has_tracking(number)
                        for number in picking._writeback_tracking_numbers()
                    )
                    self._found(
                        "changed_since_success",
                        picking,
                        view,
                        "; ".join(changes),
                        tracking_gone=gone,
                    )

    def _detect_no_order(self, account, by_ref):
        """Shipped, no sales order: orders the marketplace shows shipped
        whose reference no sales order of the account's company carries
        (linked to this account, another one or none)."""
        shipped = {ref: view for ref, view in by_ref.items() if view.shows_shipped}
        if not shipped:
            return
        known = set(
            self.env["sale.order"]
            .sudo()
            .search(
                [
                    ("company_id", "=", account.company_id.id),
                    ("ecommerce_order_ref", "in", list(shipped)),
                ]
            )
            .mapped("ecommerce_order_ref")
        )
        for ref, view in shipped.items():
            if ref not in known:
                self._found_order(account, view)

    def _found_order(self, account, view):
        """An issue about a marketplace order Odoo has no delivery of."""
        vals = dict(
            self._marketplace_vals(view),
            account_id=account.id,
            company_id=account.company_id.id,
            summary=self.env._(
                "The marketplace shows the order shipped; no sales order "
                "carries its reference."
            ),
        )
        existing = self.sudo().search(
            [
                ("kind", "=", "shipped_no_order"),
                ("account_id", "=", account.id),
                ("order_ref", "=", view.order_ref),
                ("picking_id", "=", False),
            ],
            order="id desc",
        )
        return self._keep(
            existing, vals, self._fingerprint(view), {"kind": "shipped_no_order"}
        )

    def _changes_since_success(self, picking, view):
        changes = []
        if view.cancelled:
            changes.append(self.env._("the order is cancelled"))
        if view.refunded:
            changes.append(self.env._("the buyer was refunded"))
        sent = picking._writeback_tracking_numbers()
        gone = [n for n in sent if not view.has_tracking(n)]
        if gone and not view.cancelled:
            if view.tracking_numbers:
                changes.append(
                    self.env._(
                        "tracking number %(sent)s replaced by %(now)s",
                        sent=", ".join(gone),
                        now=", ".join(sorted(view.tracking_numbers)),
                    )
                )
            else:
                changes.append(
                    self.env._("tracking number %s removed", ", ".join(gone))
                )
        return changes

    def _marketplace_vals(self, view):
        """What the marketplace holds of ``view``'s order, as issue fields."""
        carriers = sorted({p.carrier for p in view.packages if p.carrier})
        status = view.status_label or view.status
        if view.cancelled:
            status = self.env._("%s (cancelled)", status)
        if view.refunded:
            status = self.env._("%s (refunded)", status)
        return {
            "order_ref": view.order_ref,
            "marketplace_status": status,
            "marketplace_cancelled": view.cancelled,
            "marketplace_refunded": view.refunded,
            "marketplace_carrier": ", ".join(carriers),
            "marketplace_tracking": ", ".join(sorted(view.tracking_numbers)),
            "marketplace_updated": view.last_updated,
        }

    @staticmethod
    def _fingerprint(view):
        return "|".join(
            [
                view.status,
                str(view.cancelled),
                str(view.refunded),
                *sorted(view.tracking_numbers),
            ]
        )

    def _found(self, kind, picking, view, summary, **extra):
        vals = dict(
            self._marketplace_vals(view),
            **extra,
            account_id=picking.ecommerce_account_id.id
            or picking.sale_id.ecommerce_account_id.id,
            company_id=picking.company_id.id,
            sale_order_id=picking.sale_id.id,
            summary=summary[:MAX_TEXT],
            odoo_tracking=picking.carrier_tracking_ref or False,
        )
        return self._upsert(kind, picking, vals, self._fingerprint(view))

    def _upsert(self, kind, picking, vals, fingerprint):
        """One open issue per kind and delivery: updated when found again;
        not created again when a person handled the same facts."""
        existing = self.sudo().search(
            [("kind", "=", kind), ("picking_id", "=", picking.id)], order="id desc"
        )
        return self._keep(
            existing, vals, fingerprint, {"kind": kind, "picking_id": picking.id}
        )

    def _keep(self, existing, vals, fingerprint, new_vals):
        """Of the issues ``existing`` (newest first) about the same thing:
        the open one updated with ``vals``; none when a person handled the
        same facts (``fingerprint``); else a new one (``new_vals`` too)."""
        now = fields.Datetime.now()
        vals = dict(vals, fingerprint=fingerprint, last_seen_date=now)
        current = existing.filtered(lambda i: i.state == "open")[:1]
        if current:
            current.write(vals)
            return current
        if existing.filtered(
            lambda i: i.state == "handled" and i.fingerprint == fingerprint
        ):
            return self.browse()
        return self.sudo().create(dict(vals, **new_vals, detected_date=now))

    @api.model
    def _unsent_hours(self):
        raw = self.env["ir.config_parameter"].sudo().get_param(UNSENT_HOURS_PARAM)
        try:
            return max(1, int(raw)) if raw else DEFAULT_UNSENT_HOURS
        except ValueError:
            return DEFAULT_UNSENT_HOURS

    @api.model
    def _unsent_domain(self):
        """Validated customer deliveries, N hours old at least, of a sales
        order with a marketplace trace, that never went to the marketplace:
        never queued (account or order reference missing), or pending with
        something to fix and no attempt made."""
        now = fields.Datetime.now()
        marketplace_trace = [
            "|",
            ("sale_id.ecommerce_account_id", "!=", False),
            ("sale_id.ecommerce_order_ref", "!=", False),
        ]
        return [
            ("state", "=", "done"),
            ("picking_type_code", "in", SHIPPING_TYPE_CODES),
            ("location_dest_id.usage", "=", "customer"),
            ("date_done", "<", now - datetime.timedelta(hours=self._unsent_hours())),
            ("date_done", ">=", now - UNSENT_LOOKBACK),
            "|",
            "&",
            ("writeback_state", "=", False),
            *marketplace_trace,
            "&",
            "&",
            ("writeback_state", "=", State.PENDING.value),
            ("writeback_next_attempt", "=", False),
            ("writeback_attempt_count", "=", 0),
        ]

    @api.model
    def _detect_never_written_back(self):
        pickings = self.env["stock.picking"].sudo().search(self._unsent_domain())
        for picking in pickings:
            order = picking.sale_id
            if picking.writeback_state:
                reason = self.env._(
                    "Waiting for something to fix: %s",
                    picking.writeback_error or "-",
                )
                key = "blocked"
            elif order.ecommerce_order_ref and order.ecommerce_account_id:
                reason = self.env._(
                    "The sales order is linked to a marketplace order, but the "
                    "delivery was never queued for a write-back."
                )
                key = "not_queued"
            elif not order.ecommerce_order_ref:
                reason = self.env._(
                    "The sales order has a marketplace account but no "
                    "marketplace order reference."
                )
                key = "no_ref"
            else:
                reason = self.env._(
                    "The sales order has a marketplace order reference but no "
                    "marketplace account."
                )
                key = "no_account"
            self._upsert(
                "never_written_back",
                picking,
                {
                    "account_id": order.ecommerce_account_id.id,
                    "company_id": picking.company_id.id,
                    "sale_order_id": order.id,
                    "order_ref": order.ecommerce_order_ref or False,
                    "summary": reason[:MAX_TEXT],
                    "odoo_tracking": picking.carrier_tracking_ref or False,
                },
                key,
            )

    @api.model
    def _resolve_gone(self):
        """Open issues whose disagreement is gone become *resolved*."""
        issues = self.sudo().search([("state", "=", "open")])
        gone = issues.filtered(lambda i: i._gone())
        if gone:
            gone.write({"state": "resolved"})

    def _gone(self):
        self.ensure_one()
        if self.kind == "shipped_no_order":
            return bool(
                self.env["sale.order"]
                .sudo()
                .search_count(
                    [
                        ("company_id", "=", self.company_id.id),
                        ("ecommerce_order_ref", "=", self.order_ref),
                    ],
                    limit=1,
                )
            )
        picking = self.picking_id
        if not picking:
            return True
        if self.kind == "shipped_outside":
            return picking.state in ("done", "cancel")
        if self.kind == "changed_since_success":
            return picking.writeback_state != State.SUCCESS.value
        return not picking.filtered_domain(self._unsent_domain())

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_picking(self):
        """Shipped outside Odoo: open the delivery to validate it."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "stock.picking",
            "res_id": self.picking_id.id,
            "views": [(self.env.ref("stock.view_picking_form").id, "form")],
            "target": "current",
        }

    def action_open_sale_order(self):
        """Never written back: open the sales order to link it."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "sale.order",
            "res_id": self.sale_order_id.id,
            "views": [(False, "form")],
            "target": "current",
        }

    def action_find_sale_order(self):
        """Shipped, no sales order: the sales orders that mention the
        marketplace order (in their number, customer reference or source),
        to link the right one (its marketplace account and order
        reference); the issue is resolved at the next run."""
        self.ensure_one()
        ref = self.order_ref or ""
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Sales orders for %s", ref),
            "res_model": "sale.order",
            "views": [(False, "list"), (False, "form")],
            "domain": [
                "|",
                "|",
                "|",
                ("ecommerce_order_ref", "ilike", ref),
                ("client_order_ref", "ilike", ref),
                ("origin", "ilike", ref),
                ("name", "ilike", ref),
            ],
            "context": {"create": False},
            "target": "current",
        }

    def action_requeue(self):
        """Changed since Success: send the write-back again (a fresh set of
        attempts), as a changed tracking number does."""
        for issue in self:
            picking = issue.picking_id
            if issue.kind != "changed_since_success" or issue.state != "open":
                raise UserError(
                    self.env._(
                        "Only open 'Changed since Success' issues are sent again."
                    )
                )
            if issue.marketplace_cancelled:
                raise UserError(
                    self.env._(
                        "The order is cancelled on the marketplace: there is "
                        "nothing to send; use Mark as handled."
                    )
                )
            if not issue.tracking_gone:
                raise UserError(
                    self.env._(
                        "The marketplace still holds every tracking number "
                        "sent: sending again changes nothing. Check the "
                        "refund on the marketplace, then use Mark as handled."
                    )
                )
            if not picking._writeback_queue():
                raise UserError(
                    self.env._("%s cannot be sent again.", picking.display_name)
                )
            picking.message_post(
                body=self.env._(
                    "Write-back sent again by %s: the marketplace's order changed "
                    "after Success (%s).",
                    self.env.user.name,
                    issue.summary,
                )
            )
            issue.sudo().write({"state": "resolved"})
        return True

    def action_mark_handled(self):
        """Close these issues as a person did (the same facts found again
        do not reopen them)."""
        if not self.env.su and not self.env.user.has_group(ACCOUNTANT_GROUP):
            raise UserError(
                self.env._(
                    "Only users allowed to confirm marketplace orders by hand "
                    "mark reconciliation issues as handled."
                )
            )
        todo = self.filtered(lambda i: i.state == "open")
        todo.sudo().write(
            {
                "state": "handled",
                "handled_by_id": self.env.uid,
                "handled_date": fields.Datetime.now(),
            }
        )
        return True

    @api.model
    def action_reconcile_now(self):
        """Wake the reconciliation cron (nothing is read in the user's
        request)."""
        self.env["ecommerce.writeback.engine"]._trigger("ir_cron_reconcile")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Reconciliation"),
                "message": self.env._(
                    "Reconciliation started: it reads each account's recent "
                    "orders in the background. Reload this list in a minute."
                ),
                "type": "info",
            },
        }


class EcommerceAccount(models.Model):
    _inherit = "ecommerce.account"

    reconcile_cursor = fields.Datetime(
        string="Reconciled Up To",
        readonly=True,
        copy=False,
        help="The next reconciliation reads the orders the marketplace "
        "changed since then.",
    )
    reconcile_window_since = fields.Datetime(readonly=True, copy=False)
    reconcile_window_until = fields.Datetime(readonly=True, copy=False)
    reconcile_resume = fields.Char(readonly=True, copy=False)
    reconcile_date = fields.Datetime(
        string="Last Reconciliation", readonly=True, copy=False
    )
    reconcile_error = fields.Char(
        string="Reconciliation Error", readonly=True, copy=False
    )
    reconcile_issue_ids = fields.One2many(
        "ecommerce.reconciliation.issue",
        "account_id",
        string="Reconciliation Issues",
    )
    reconcile_open_count = fields.Integer(
        string="To Reconcile", compute="_compute_reconcile_open_count"
    )

    def _compute_reconcile_open_count(self):
        counts = dict(
            self.env["ecommerce.reconciliation.issue"]._read_group(
                [("account_id", "in", self.ids), ("state", "=", "open")],
                ["account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.reconcile_open_count = counts.get(account, 0)

    def action_open_reconciliation(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "stock_ecommerce_writeback.action_reconciliation_issue"
        )
        action["domain"] = [("account_id", "=", self.id)]
        action["context"] = {"search_default_filter_open": 1, "create": False}
        action["display_name"] = self.env._("Reconciliation of %s", self.display_name)
        return action


class StockPicking(models.Model):
    _inherit = "stock.picking"

    reconciliation_issue_ids = fields.One2many(
        "ecommerce.reconciliation.issue", "picking_id", string="Reconciliation"
    )
