# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Write-back of shipped deliveries to their marketplace.

Validating a delivery only queues it (state *pending*). Two crons do the
talking, outside any user's transaction:

* ``_cron_writeback_push`` claims due *pending* shipments one by one under a
  row lock (state *sending*, attempt counted, lease set), commits, calls the
  marketplace, then applies the outcome (see ``marketplaces.policy``) and
  commits again.
* ``_cron_writeback_verify`` reads the order back for *submitted* shipments,
  and for *sending* ones whose lease expired (the worker died mid-call), and
  decides success, another wait, or a resend.

A result is only applied if the shipment is still in the state the worker
left it in, so a user's "Retry now" or manual confirmation in between is
never overwritten.
"""

import datetime
import logging
import re
from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import float_is_zero

from ..marketplaces import base, errors, policy
from ..marketplaces.ebay_fulfillment import rest_tracking_number

_logger = logging.getLogger(__name__)

WRITEBACK_STATES = [
    ("pending", "Pending"),
    ("sending", "Sending"),
    ("submitted", "Submitted"),
    ("success", "Success"),
    ("failed", "Failed"),
    ("manual", "Manually confirmed"),
]
ACCOUNTANT_GROUP = "stock_ecommerce_writeback.group_writeback_accountant"
# A send that has not reported back after this long is presumed dead.
LEASE_SECONDS = 600
# Several tracking numbers are separated by commas, semicolons or new lines;
# spaces inside one number (as labels print them) are kept.
TRACKING_SPLIT_RE = re.compile(r"[,;\n]+")


class StockPicking(models.Model):
    _inherit = "stock.picking"

    ecommerce_account_id = fields.Many2one(
        related="sale_id.ecommerce_account_id",
        store=True,
        index="btree_not_null",
        string="Marketplace Account",
    )
    ecommerce_platform = fields.Selection(related="ecommerce_account_id.platform")
    ecommerce_order_ref = fields.Char(
        related="sale_id.ecommerce_order_ref",
        store=True,
        index="btree_not_null",
        string="Marketplace Order",
    )
    ecommerce_service_name = fields.Char(
        related="carrier_id.ecommerce_service_name", string="Service"
    )
    writeback_shipped_qty = fields.Integer(
        string="Shipped Quantity",
        compute="_compute_writeback_shipped_qty",
        store=True,
        help="Units of the marketplace order this delivery ships.",
    )
    writeback_state = fields.Selection(
        WRITEBACK_STATES,
        string="Write-back",
        copy=False,
        readonly=True,
        index="btree_not_null",
        tracking=True,
    )
    writeback_attempt_count = fields.Integer(
        string="Attempts", copy=False, readonly=True
    )
    writeback_error_count = fields.Integer(
        string="Error Count",
        copy=False,
        readonly=True,
        help="Attempts that did not end in the marketplace recording the shipment.",
    )
    writeback_last_attempt = fields.Datetime(
        string="Last Attempt", copy=False, readonly=True
    )
    writeback_next_attempt = fields.Datetime(
        string="Next Attempt",
        copy=False,
        readonly=True,
        help="When the engine will send (pending) or check (submitted) next. "
        "Empty while something must be fixed first.",
    )
    writeback_error = fields.Char(string="Last Error", copy=False, readonly=True)
    writeback_lease_until = fields.Datetime(copy=False, readonly=True)
    writeback_submitted_date = fields.Datetime(
        string="Accepted On", copy=False, readonly=True
    )
    writeback_done_date = fields.Datetime(
        string="Confirmed On", copy=False, readonly=True
    )
    writeback_sent_tracking = fields.Char(
        string="Tracking Sent",
        copy=False,
        readonly=True,
        help="Tracking numbers of the last send, as the marketplace got them.",
    )
    writeback_manual_user_id = fields.Many2one(
        "res.users", string="Confirmed By", copy=False, readonly=True
    )
    writeback_call_ids = fields.One2many(
        "ecommerce.api.call", "picking_id", string="Attempt History"
    )
    ecommerce_readback_status = fields.Char(
        string="Marketplace Status", copy=False, readonly=True
    )
    ecommerce_readback_date = fields.Datetime(
        string="Read Back On", copy=False, readonly=True
    )
    ecommerce_readback = fields.Json(
        string="Marketplace View", copy=False, readonly=True
    )
    ecommerce_readback_html = fields.Html(
        string="As Read Back",
        compute="_compute_ecommerce_readback_html",
        sanitize=False,
    )
    ecommerce_order_url = fields.Char(
        string="Open on the Marketplace", compute="_compute_ecommerce_order_url"
    )

    _writeback_due_idx = models.Index(
        "(writeback_next_attempt) WHERE writeback_state IN ('pending', 'submitted')"
    )

    @api.depends("move_ids.quantity", "move_ids.sale_line_id")
    def _compute_writeback_shipped_qty(self):
        for picking in self:
            moves = picking.move_ids.filtered("sale_line_id")
            picking.writeback_shipped_qty = round(sum(moves.mapped("quantity")))

    @api.depends("ecommerce_account_id", "ecommerce_order_ref")
    def _compute_ecommerce_order_url(self):
        for picking in self:
            account = picking.ecommerce_account_id
            picking.ecommerce_order_url = (
                account._order_url(picking.ecommerce_order_ref) if account else False
            )

    @api.depends("ecommerce_readback")
    def _compute_ecommerce_readback_html(self):
        """The marketplace's own view of the order, as last read back: its
        status and the packages (tracking numbers) it lists."""
        for picking in self:
            view = picking.ecommerce_readback or {}
            if not view:
                picking.ecommerce_readback_html = False
                continue
            rows = Markup("").join(
                Markup("<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>")
                % (
                    package.get("tracking_number") or "",
                    package.get("carrier") or "",
                    package.get("ship_time") or "",
                    ", ".join(
                        f"{ref} x {qty}" for ref, qty in package.get("items") or []
                    ),
                )
                for package in view.get("packages") or []
            )
            facts = [
                (
                    self.env._("Order status"),
                    view.get("status_label") or view.get("status"),
                ),
                (self.env._("Checkout status"), view.get("checkout_status")),
                (self.env._("Shipped time"), view.get("shipped_time")),
            ]
            picking.ecommerce_readback_html = Markup("<dl class='mb-2'>%s</dl>%s") % (
                Markup("").join(
                    Markup("<dt>%s</dt><dd>%s</dd>") % (label, value)
                    for label, value in facts
                    if value
                ),
                Markup(
                    "<table class='table table-sm o_writeback_packages'><thead><tr>"
                    "<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead>"
                    "<tbody>%s</tbody></table>"
                )
                % (
                    self.env._("Tracking number"),
                    self.env._("Carrier"),
                    self.env._("Shipped"),
                    self.env._("Items"),
                    rows,
                )
                if rows
                else Markup("<p>%s</p>")
                % self.env._("No package recorded on the order."),
            )

    # ------------------------------------------------------------------
    # Queueing (runs in the user's transaction: never calls a marketplace)
    # ------------------------------------------------------------------
    def _writeback_candidates(self):
        """Done deliveries to a customer that belong to a marketplace order
        (for multi-step routes: the step that reaches the customer)."""
        return self.filtered(
            lambda p: (
                p.state == "done"
                and p.ecommerce_account_id
                and p.ecommerce_order_ref
                and p.picking_type_code == "outgoing"
                and p.location_dest_id.usage == "customer"
            )
        )

    def _action_done(self):
        res = super()._action_done()
        self._writeback_queue()
        return res

    def write(self, vals):
        res = super().write(vals)
        if {"carrier_tracking_ref", "carrier_id"} & set(
            vals
        ) and not self.env.context.get("writeback_engine"):
            requeue = self.filtered(
                lambda p: (
                    p.writeback_state
                    in ("pending", "sending", "failed", "submitted", "success")
                )
            )
            requeue._writeback_queue()
        return res

    def _writeback_queue(self, keep_attempts=False):
        """Make these deliveries pending (if they qualify) and wake the push
        cron. A delivery that cannot be sent yet stays pending with an error
        saying what to fix and no next attempt."""
        now = fields.Datetime.now()
        queued = self.env["stock.picking"]
        for picking in self._writeback_candidates():
            problem = picking._writeback_problem()
            vals = {
                "writeback_state": "pending",
                "writeback_error": problem or False,
                "writeback_next_attempt": False if problem else now,
                "writeback_lease_until": False,
            }
            if not keep_attempts:
                vals["writeback_attempt_count"] = 0
            picking.with_context(writeback_engine=True).write(vals)
            if not problem:
                queued |= picking
        if queued:
            self._writeback_trigger_push()
        return queued

    @api.model
    def _writeback_trigger_push(self):
        self.env.ref("stock_ecommerce_writeback.ir_cron_writeback_push")._trigger()

    @api.model
    def _writeback_trigger_verify(self, when):
        """Make sure the verify cron runs at ``when`` (one trigger per minute
        at most: triggers are precise to the minute anyway)."""
        cron = self.env.ref("stock_ecommerce_writeback.ir_cron_writeback_verify")
        when = when.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
        if not self.env["ir.cron.trigger"].search_count(
            [("cron_id", "=", cron.id), ("call_at", "=", when)], limit=1
        ):
            cron._trigger(at=when)

    def _writeback_tracking_numbers(self):
        self.ensure_one()
        numbers = TRACKING_SPLIT_RE.split(self.carrier_tracking_ref or "")
        # "9400 1118 9922 ..." as printed on a label is one number.
        return [re.sub(r"\s+", "", n) for n in numbers if n.strip()]

    def _writeback_wire_tracking(self):
        """[(entered, sent)]: each tracking number as entered and as the
        marketplace gets it. eBay's Sell Fulfillment API takes letters and
        digits only ("Spaces, hyphens, and all other special characters are
        not supported", ShippingFulfillmentDetails.trackingNumber), so its
        numbers are stripped of anything else; the others go as entered."""
        self.ensure_one()
        account = self.ecommerce_account_id
        rest = account.platform == "ebay" and account.ebay_api == "fulfillment"
        return [
            (number, rest_tracking_number(number)[0] if rest else number)
            for number in self._writeback_tracking_numbers()
        ]

    def _writeback_problem(self):
        """What must be fixed before this delivery can be sent, or ''."""
        return self._writeback_checked_shipment()[1]

    def _writeback_checked_shipment(self):
        """``(shipment, "")`` when this delivery can be sent, else
        ``(None, what must be fixed)``: the checks and the
        :class:`~..marketplaces.base.Shipment` in one go."""
        self.ensure_one()
        account = self.ecommerce_account_id
        marketplace = dict(account._fields["platform"].selection)[account.platform]
        if not self._writeback_tracking_numbers():
            return None, self.env._(
                "No tracking number: enter the Tracking Reference of this delivery "
                "so it can be sent to %s.",
                marketplace,
            )
        wire = self._writeback_wire_tracking()
        unsendable = [entered for entered, sent in wire if not sent]
        if unsendable:
            return None, self.env._(
                "Tracking number %(number)s has no letters or digits, the only "
                "characters %(marketplace)s accepts: correct the Tracking Reference.",
                number=", ".join(unsendable),
                marketplace=marketplace,
            )
        if not self.carrier_id:
            return None, self.env._(
                "No carrier: set the Carrier of this delivery so %s knows "
                "who ships it.",
                marketplace,
            )
        if not self.carrier_id._marketplace_carrier_code(account.platform):
            return None, self.env._(
                "Carrier %(carrier)s has no %(marketplace)s carrier code: set it "
                "on the carrier (Inventory > Configuration > Shipping Methods).",
                carrier=self.carrier_id.display_name,
                marketplace=marketplace,
            )
        try:
            return self._writeback_shipment(), ""
        except UserError as exc:
            return None, str(exc.args[0])

    # ------------------------------------------------------------------
    # What this delivery shipped, in marketplace terms
    # ------------------------------------------------------------------
    def _writeback_item_quantities(self, move_lines=None):
        """{item_ref: quantity in sale units} shipped by these move lines
        (default: the whole delivery)."""
        self.ensure_one()
        move_lines = move_lines if move_lines is not None else self.move_line_ids
        quantities = defaultdict(float)
        for line in move_lines.filtered(lambda ml: ml.move_id.state == "done"):
            sale_line = line.move_id.sale_line_id
            if not sale_line:
                continue
            if not sale_line.ecommerce_item_ref:
                raise UserError(
                    self.env._(
                        "Order line %s has no marketplace item id: fill in its "
                        "Marketplace Item.",
                        sale_line.display_name,
                    )
                )
            qty = line.product_uom_id._compute_quantity(
                line.quantity, sale_line.product_uom_id, rounding_method="HALF-UP"
            )
            quantities[sale_line.ecommerce_item_ref] += qty
        result = {}
        for ref, qty in quantities.items():
            if float_is_zero(qty, precision_digits=3):
                continue
            if abs(qty - round(qty)) > 1e-3:
                raise UserError(
                    self.env._(
                        "Marketplaces take whole units, but %(qty)s units of item "
                        "%(ref)s were shipped.",
                        qty=qty,
                        ref=ref,
                    )
                )
            result[ref] = round(qty)
        if not result:
            raise UserError(
                self.env._(
                    "This delivery ships nothing from the marketplace order's lines."
                )
            )
        return result

    def _writeback_packages(self):
        """One package per tracking number. Several tracking numbers need the
        items put in as many packages (Put in Pack) so each tracking number
        carries the right quantities."""
        self.ensure_one()
        numbers = self._writeback_tracking_numbers()
        if len(numbers) == 1:
            items = self._writeback_item_quantities()
            return [(numbers[0], items)]
        packs = self.move_line_ids.result_package_id.sorted("name")
        if len(packs) != len(numbers):
            raise UserError(
                self.env._(
                    "This delivery has %(n)s tracking numbers but its items are "
                    "in "
                    "%(p)s packages: put each parcel's items in its own package "
                    "(Put in "
                    "Pack), in the order of the tracking numbers.",
                    n=len(numbers),
                    p=len(packs),
                )
            )
        return [
            (
                number,
                self._writeback_item_quantities(
                    self.move_line_ids.filtered(
                        lambda ml, pack=pack: ml.result_package_id == pack
                    )
                ),
            )
            for number, pack in zip(numbers, packs, strict=True)
        ]

    def _writeback_completes_order(self):
        """True when, with this delivery, every marketplace line of the order
        has shipped in full (eBay: then CompleteSale names the OrderID)."""
        self.ensure_one()
        lines = self.sale_id.order_line.filtered("ecommerce_item_ref")
        return all(
            line.qty_delivered >= line.product_uom_qty
            or float_is_zero(
                line.product_uom_qty - line.qty_delivered,
                precision_rounding=line.product_uom_id.rounding,
            )
            for line in lines
        )

    def _writeback_shipment(self):
        """The :class:`~..marketplaces.base.Shipment` for this delivery.
        Package references are stable (delivery id * 100 + package number),
        so a resend edits the same package on Amazon instead of adding one."""
        self.ensure_one()
        carrier = self.carrier_id
        platform = self.ecommerce_account_id.platform
        packages = tuple(
            base.Package(
                package_ref=str(self.id * 100 + index),
                tracking_number=number,
                items=tuple(
                    base.ShipmentItem(ref, qty) for ref, qty in sorted(items.items())
                ),
            )
            for index, (number, items) in enumerate(self._writeback_packages(), start=1)
        )
        return base.Shipment(
            order_ref=self.ecommerce_order_ref,
            carrier_code=carrier._marketplace_carrier_code(platform) or "",
            carrier_name=carrier.amazon_carrier_name or carrier.name,
            shipping_method=carrier.ecommerce_service_name or carrier.name,
            ship_date=self.date_done or fields.Datetime.now(),
            packages=packages,
            completes_order=self._writeback_completes_order(),
        )

    # ------------------------------------------------------------------
    # Push cron
    # ------------------------------------------------------------------
    @api.model
    def _writeback_due_domain(self):
        return Domain(
            [
                ("writeback_state", "=", "pending"),
                ("writeback_next_attempt", "<=", fields.Datetime.now()),
                ("ecommerce_account_id.active", "=", True),
            ]
        )

    @api.model
    def _cron_writeback_push(self, batch_size=20):
        """Send due pending shipments. Each shipment is claimed under a row
        lock and committed before the marketplace is called, and its outcome
        is committed right after, so a crash loses at most one call's answer
        (which the verify cron then reconciles). One account's failure does
        not stop the others."""
        cron = self.env["ir.cron"]
        self._writeback_recheck_blocked()
        clients = {}
        skipped = set()
        while True:
            domain = self._writeback_due_domain()
            if skipped:
                domain &= Domain("id", "not in", list(skipped))
            batch = self.search(
                domain, limit=batch_size, order="writeback_next_attempt, id"
            )
            if not batch:
                break
            for picking in batch:
                shipment = picking._writeback_claim()
                if not shipment:
                    skipped.add(picking.id)
                    continue
                cron._commit_progress(0)
                picking._writeback_send(clients, shipment)
                if picking.writeback_state == "submitted":
                    self._writeback_trigger_verify(picking.writeback_next_attempt)
                remaining = self.search_count(self._writeback_due_domain())
                if not cron._commit_progress(1, remaining=remaining):
                    return

    @api.model
    def _writeback_recheck_blocked(self, limit=500):
        """Shipments held back by something to fix (no next attempt) go as
        soon as it is fixed, whatever was fixed: the order line's item id,
        the packages, the carrier... (no marketplace call: local checks)."""
        blocked = self.search(
            [
                ("writeback_state", "=", "pending"),
                ("writeback_next_attempt", "=", False),
                ("ecommerce_account_id.active", "=", True),
            ],
            order="write_date desc",
            limit=limit,
        )
        fixed = blocked.filtered(lambda p: not p._writeback_problem())
        if fixed:
            fixed.with_context(writeback_engine=True).write(
                {
                    "writeback_error": False,
                    "writeback_next_attempt": fields.Datetime.now(),
                }
            )

    def _writeback_claim(self):
        """Lock this shipment (skipping it if another worker holds it), check
        it is still due, and mark it *sending* with one more attempt.
        Returns the Shipment to send, or None when there is nothing to send."""
        self.ensure_one()
        locked = self.try_lock_for_update()
        if not locked:
            return None
        self.invalidate_recordset()
        now = fields.Datetime.now()
        if (
            self.writeback_state != "pending"
            or not self.writeback_next_attempt
            or self.writeback_next_attempt > now
        ):
            return None
        shipment, problem = self._writeback_checked_shipment()
        if problem:
            self.with_context(writeback_engine=True).write(
                {"writeback_error": problem, "writeback_next_attempt": False}
            )
            return None
        wire = self._writeback_wire_tracking()
        sent_tracking = ",".join(sent for _entered, sent in wire)
        changed = [(entered, sent) for entered, sent in wire if entered != sent]
        if changed and sent_tracking != self.writeback_sent_tracking:
            self.message_post(
                body=self.env._(
                    "%(marketplace)s accepts only letters and digits in tracking "
                    "numbers: %(numbers)s.",
                    marketplace=self.ecommerce_account_id.display_name,
                    numbers="; ".join(
                        self.env._("%(entered)s is sent as %(sent)s", entered=e, sent=s)
                        for e, s in changed
                    ),
                )
            )
        self.with_context(writeback_engine=True).write(
            {
                "writeback_state": "sending",
                "writeback_attempt_count": self.writeback_attempt_count + 1,
                "writeback_last_attempt": now,
                "writeback_lease_until": now
                + datetime.timedelta(seconds=self._writeback_lease_seconds()),
                "writeback_sent_tracking": sent_tracking,
            }
        )
        return shipment

    def _writeback_lease_seconds(self):
        """How long a send may take before it is presumed dead: well above
        what the calls of one send can last with the account's timeout (a
        token exchange, a read and one call per package, each up to the
        timeout), so a slow send is never reconciled while still running."""
        calls = len(self._writeback_tracking_numbers()) + 2
        return max(LEASE_SECONDS, 2 * calls * self.ecommerce_account_id.timeout)

    def _writeback_client(self, clients, journal):
        """A client for this shipment's account, shared within one cron run;
        its calls go to ``journal``."""
        account = self.ecommerce_account_id
        if account.id not in clients:
            clients[account.id] = account._marketplace_client(on_call=journal.append)
        client = clients[account.id]
        client.on_call = journal.append
        return client

    def _writeback_send(self, clients, shipment):
        """Send ``shipment`` (what this delivery's claim built) and apply
        the outcome."""
        self.ensure_one()
        account = self.ecommerce_account_id
        journal = []
        error = None
        try:
            client = self._writeback_client(clients, journal)
            client.confirm_shipment(shipment)
        except errors.MarketplaceError as exc:
            error = exc
        except Exception as exc:
            _logger.exception("Write-back of %s failed unexpectedly", self.display_name)
            error = errors.TransientError(
                self.env._("Unexpected error while sending: %s", exc.__class__.__name__)
            )
        self.env["ecommerce.api.call"]._record(account, journal, picking=self)
        # Keep the journal whatever happens next, and start a fresh snapshot
        # so a user's change made during the call is seen, not a conflict.
        self.env["ir.cron"]._commit_progress(0)
        decision = policy.after_send(
            error, self.writeback_attempt_count, account._writeback_policy()
        )
        self._writeback_apply(decision, expected_state="sending")

    def _writeback_apply(self, decision, expected_state):
        """Write a policy Decision, unless a user changed the shipment
        meanwhile (then their action wins) or is changing it right now (then
        it is left as it is: a *sending* shipment is reconciled when its
        lease expires, a *submitted* one is checked again)."""
        self.ensure_one()
        if not self.try_lock_for_update():
            _logger.info(
                "Write-back of %s is being edited; outcome %s left for later",
                self.display_name,
                decision.state,
            )
            return
        self.invalidate_recordset()
        if self.writeback_state != expected_state:
            _logger.info(
                "Write-back of %s: state changed to %s meanwhile, outcome %s "
                "not applied",
                self.display_name,
                self.writeback_state,
                decision.state,
            )
            return
        now = fields.Datetime.now()
        account = self.ecommerce_account_id
        vals = {
            "writeback_state": decision.state,
            "writeback_lease_until": False,
            "writeback_next_attempt": (
                now + datetime.timedelta(seconds=decision.retry_in)
                if decision.retry_in is not None
                else False
            ),
        }
        if decision.state != policy.SUBMITTED or expected_state != policy.SUBMITTED:
            # (a submitted shipment still waiting to show up keeps its message)
            vals["writeback_error"] = decision.error or False
        if decision.refund_attempt:
            vals["writeback_attempt_count"] = max(self.writeback_attempt_count - 1, 0)
        if decision.failed_attempt:
            vals["writeback_error_count"] = self.writeback_error_count + 1
        if decision.state == policy.SUBMITTED and expected_state == policy.SENDING:
            vals["writeback_submitted_date"] = now
            if account.auth_error:
                account.write({"auth_error": False, "auth_error_date": False})
        if decision.state == policy.SUCCESS:
            vals["writeback_done_date"] = now
        self.with_context(writeback_engine=True).write(vals)
        if decision.flag_account:
            account._writeback_flag_auth(decision.error)
            self._writeback_hold_account(account, vals["writeback_next_attempt"])
        self._writeback_post_outcome(decision)

    @api.model
    def _writeback_hold_account(self, account, until):
        """Credentials rejected: the account's other pending shipments wait too
        (their attempts are not used)."""
        waiting = self.search(
            [
                ("ecommerce_account_id", "=", account.id),
                ("writeback_state", "=", "pending"),
                ("writeback_next_attempt", "!=", False),
                ("writeback_next_attempt", "<", until),
            ]
        )
        waiting.with_context(writeback_engine=True).write(
            {"writeback_next_attempt": until}
        )

    def _writeback_post_outcome(self, decision):
        marketplace = self.ecommerce_account_id.display_name
        if decision.state == policy.SUCCESS:
            self.message_post(
                body=Markup("<p>%s</p>")
                % self.env._(
                    "Shipment confirmed on %(marketplace)s: order %(order)s shows "
                    "tracking number %(tracking)s.",
                    marketplace=marketplace,
                    order=self.ecommerce_order_ref,
                    tracking=self.writeback_sent_tracking,
                )
            )
        elif decision.state == policy.FAILED:
            self.message_post(
                body=Markup("<p>%s</p><p>%s</p>")
                % (
                    self.env._(
                        "Write-back to %(marketplace)s failed after %(n)s attempt(s). "
                        "Confirm the shipment on the marketplace by hand, then use "
                        "'Mark as manually confirmed'.",
                        marketplace=marketplace,
                        n=self.writeback_attempt_count,
                    ),
                    decision.error,
                )
            )
            if decision.notify:
                self._writeback_schedule_activity(decision.error)

    def _writeback_schedule_activity(self, error):
        account = self.ecommerce_account_id
        user = account.user_id or self.user_id or self.env.ref("base.user_admin")
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            user_id=user.id,
            summary=self.env._("Write-back to %s failed", account.display_name),
            note=self.env._(
                "Order %(order)s was not confirmed on the marketplace: %(error)s",
                order=self.ecommerce_order_ref,
                error=error,
            ),
        )

    # ------------------------------------------------------------------
    # Verify cron
    # ------------------------------------------------------------------
    @api.model
    def _writeback_verify_domain(self):
        now = fields.Datetime.now()
        return Domain([("ecommerce_account_id.active", "=", True)]) & (
            Domain(
                [
                    ("writeback_state", "=", "submitted"),
                    ("writeback_next_attempt", "<=", now),
                ]
            )
            | Domain(
                [
                    ("writeback_state", "=", "sending"),
                    ("writeback_lease_until", "<", now),
                ]
            )
        )

    @api.model
    def _cron_writeback_verify(self, batch_size=20):
        """Read orders back: submitted shipments become Success once the
        marketplace shows their tracking number; shipments whose send was
        interrupted are reconciled before anything is resent."""
        cron = self.env["ir.cron"]
        clients = {}
        done = set()
        while True:
            domain = self._writeback_verify_domain()
            if done:
                domain &= Domain("id", "not in", list(done))
            batch = self.search(domain, limit=batch_size, order="id")
            if not batch:
                break
            by_order = defaultdict(lambda: self.browse())
            for picking in batch:
                by_order[
                    (picking.ecommerce_account_id, picking.ecommerce_order_ref)
                ] |= picking
            for (account, order_ref), pickings in by_order.items():
                done.update(pickings.ids)
                self._writeback_verify_order(account, order_ref, pickings, clients)
                remaining = self.search_count(self._writeback_verify_domain())
                if not cron._commit_progress(len(pickings), remaining=remaining):
                    return

    @api.model
    def _writeback_verify_order(self, account, order_ref, pickings, clients):
        journal = []
        order = error = None
        try:
            client = pickings[0]._writeback_client(clients, journal)
            order = client.read_order(order_ref)
        except errors.MarketplaceError as exc:
            error = exc
        except Exception as exc:
            _logger.exception("Reading back order %s failed unexpectedly", order_ref)
            error = errors.TransientError(exc.__class__.__name__)
        self.env["ecommerce.api.call"]._record(
            account, journal, picking=pickings if len(pickings) == 1 else None
        )
        self.env["ir.cron"]._commit_progress(0)  # see _writeback_send
        retry_policy = account._writeback_policy()
        now = fields.Datetime.now()
        for picking in pickings:
            if not picking.try_lock_for_update():
                continue  # a user is editing it: checked again next run
            picking.invalidate_recordset()
            state = picking.writeback_state
            if state not in ("submitted", "sending"):
                continue
            if order is not None:
                picking._writeback_store_readback(order, now)
                tracking = (picking.writeback_sent_tracking or "").split(",")
                if state == "submitted":
                    age = (
                        now - (picking.writeback_submitted_date or now)
                    ).total_seconds()
                    decision = policy.after_verify(
                        order,
                        tracking,
                        picking.writeback_attempt_count,
                        age,
                        retry_policy,
                    )
                else:
                    decision = policy.after_interrupted_send(
                        order, tracking, picking.writeback_attempt_count, retry_policy
                    )
                picking._writeback_apply(decision, expected_state=state)
            else:
                picking._writeback_readback_failed(error, state, retry_policy, now)

    def _writeback_readback_failed(self, error, state, retry_policy, now):
        """The order could not be read back: try again later; flag the
        account on authentication errors; give up on a permanent error."""
        self.ensure_one()
        if isinstance(error, errors.PermanentError):
            decision = policy.Decision(
                policy.FAILED,
                self.env._("The marketplace could not show the order: %s", error),
                failed_attempt=False,
                notify=True,
            )
            self._writeback_apply(decision, expected_state=state)
            return
        if isinstance(error, errors.AuthError):
            self.ecommerce_account_id._writeback_flag_auth(str(error))
        wait = retry_policy.verify_interval
        if isinstance(error, errors.RateLimitedError) and error.retry_after:
            wait = max(wait, error.retry_after)
        later = now + datetime.timedelta(seconds=wait)
        field = (
            "writeback_next_attempt"
            if state == "submitted"
            else "writeback_lease_until"
        )
        self.with_context(writeback_engine=True).write({field: later})

    def _writeback_store_readback(self, order, when):
        self.with_context(writeback_engine=True).write(
            {
                "ecommerce_readback_status": order.status_label or order.status,
                "ecommerce_readback_date": when,
                "ecommerce_readback": order.as_dict(),
            }
        )

    # ------------------------------------------------------------------
    # User actions
    # ------------------------------------------------------------------
    def action_writeback_open_picking(self):
        """Open this delivery in the standard Inventory form."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "stock.picking",
            "res_id": self.id,
            "views": [(self.env.ref("stock.view_picking_form").id, "form")],
            "target": "current",
        }

    def action_writeback_retry(self):
        """Send again at the next cron run (now). A failed shipment gets a
        fresh set of attempts."""
        todo = self.filtered(
            lambda p: p.writeback_state in ("pending", "failed", "submitted")
        )
        if not todo:
            raise UserError(
                self.env._(
                    "Only pending, submitted or failed write-backs can be retried."
                )
            )
        for picking in todo:
            picking._writeback_queue(keep_attempts=picking.writeback_state != "failed")
            picking.message_post(
                body=self.env._("Write-back retry requested by %s.", self.env.user.name)
            )
        return True

    def action_writeback_mark_manual(self):
        """The user confirmed the shipment on the marketplace by hand."""
        if not self.env.user.has_group(ACCOUNTANT_GROUP):
            raise UserError(
                self.env._(
                    "Only users allowed to confirm marketplace orders by hand can "
                    "do this."
                )
            )
        todo = self.filtered(
            lambda p: p.writeback_state and p.writeback_state != "success"
        )
        if not todo:
            raise UserError(self.env._("There is no unconfirmed write-back here."))
        now = fields.Datetime.now()
        todo.with_context(writeback_engine=True).write(
            {
                "writeback_state": "manual",
                "writeback_next_attempt": False,
                "writeback_lease_until": False,
                "writeback_done_date": now,
                "writeback_manual_user_id": self.env.uid,
            }
        )
        for picking in todo:
            picking.activity_unlink(["mail.mail_activity_data_todo"])
            picking.message_post(
                body=self.env._(
                    "Marked as manually confirmed on %(marketplace)s by %(user)s on "
                    "%(date)s.",
                    marketplace=picking.ecommerce_account_id.display_name,
                    user=self.env.user.name,
                    date=fields.Datetime.to_string(now),
                )
            )
        return True
