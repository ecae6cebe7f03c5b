# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Deliveries as the write-back sees them: the fields shown to users, the
hooks that queue a delivery when it is validated or its tracking changes,
what a delivery shipped in marketplace terms (its Shipment), and the user
actions. The engine that talks to marketplaces lives in
``writeback_engine.py``; states come from ``marketplaces.policy.State``.
"""

import datetime
import logging
import re
from collections import defaultdict

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL, float_is_zero

from ..marketplaces import base, policy, validate
from ..marketplaces.policy import State
from .sale_order import MARKETPLACE_LINE_ID_FIELDS
from .writeback import Writeback
from .writeback_engine import CLAIM_BATCH, VERIFY_BATCH

_logger = logging.getLogger(__name__)

ACCOUNTANT_GROUP = "stock_ecommerce_writeback.group_writeback_accountant"
# Deliveries, and dropship receipts sent straight to the customer
# (stock_dropshipping's picking type code).
SHIPPING_TYPE_CODES = ("outgoing", "dropship")
# States in which a real change of tracking number or carrier is sent again.
REQUEUE_STATES = (
    State.PENDING,
    State.SENDING,
    State.SUBMITTED,
    State.SUCCESS,
    State.FAILED,
)
# Several tracking numbers are separated by commas, semicolons or new lines;
# spaces inside one number (as labels print them) are kept.
TRACKING_SPLIT_RE = re.compile(r"[,;\n]+")
# What a write-back that needs a person is about (writeback_issue).
ISSUE_CANCELLED = "cancelled"
ISSUE_CREDENTIALS = "credentials"
ISSUE_FIX = "fix"
ISSUE_FAILED = "failed"
ISSUE_SELECTION = [
    (ISSUE_CANCELLED, "Order cancelled on the marketplace"),
    (ISSUE_CREDENTIALS, "Credentials rejected"),
    (ISSUE_FIX, "Something to fix first"),
    (ISSUE_FAILED, "Failed"),
]
MANUAL_REASONS = [
    ("confirmed", "Confirmed by hand"),
    ("cancelled", "Cancelled on the marketplace"),
]
MAX_REFUSALS_NAMED = 20
# The fields Custom Group offers on the write-back grid.
GRID_GROUPABLE = frozenset(
    {
        "ecommerce_account_id",
        "ecommerce_order_ref",
        "partner_id",
        "carrier_id",
        "carrier_tracking_ref",
        "writeback_state",
        "writeback_manual_reason",
        "writeback_manual_user_id",
        "date_done",
        "writeback_last_attempt",
        "picking_type_id",
        "origin",
        "company_id",
    }
)
CANCELLED_ERROR_RE = re.compile(r"\bcancel", re.IGNORECASE)
# The rows of the write-back grid (its action's domain), for partial indexes.
GRID_ROWS = "WHERE writeback_state IS NOT NULL"
# The grid's many2one columns: {field: (comodel's _order, [(stored copy on
# the delivery, descending?), ...])}, the copies in the order's sequence.
GRID_M2O_SORT = {
    "ecommerce_account_id": (
        "sequence, name, id",
        [
            ("writeback_sort_account_sequence", False),
            ("writeback_sort_account_name", False),
            ("ecommerce_account_id", False),
        ],
    ),
    "carrier_id": (
        "sequence, id",
        [("writeback_sort_carrier_sequence", False), ("carrier_id", False)],
    ),
}


class StockPicking(models.Model):
    _inherit = "stock.picking"

    ecommerce_account_id = fields.Many2one(
        related="sale_id.ecommerce_account_id",
        store=True,
        index="btree_not_null",
        string="Marketplace Account",
    )
    ecommerce_platform = fields.Selection(related="ecommerce_account_id.platform")
    # The grid searches order references and tracking numbers with "contains"
    # (ilike '%...%'): trigram indexes serve that, and equality too.
    ecommerce_order_ref = fields.Char(
        related="sale_id.ecommerce_order_ref",
        store=True,
        index="trigram",
        string="Marketplace Order",
    )
    carrier_tracking_ref = fields.Char(index="trigram")
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
        policy.SELECTION,
        string="Write-back",
        copy=False,
        readonly=True,
        # indexed with the grid's order, see _writeback_grid_state_idx
        index=False,
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
    writeback_sent_packages = fields.Json(
        copy=False,
        readonly=True,
        help="What the last send carried: [[tracking number, [[line id, "
        "quantity], ...]], ...], checked line by line on read-back.",
    )
    writeback_throttle_count = fields.Integer(
        copy=False,
        readonly=True,
        help="Rate-limit answers in a row: the wait after each one doubles.",
    )
    writeback_outcome_ids = fields.One2many(
        "ecommerce.writeback.outcome", "picking_id", readonly=True
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
    writeback_needs_attention = fields.Boolean(
        string="Needs Attention",
        compute="_compute_writeback_issue",
        search="_search_writeback_needs_attention",
        help="Failed, or pending with something a person must fix first "
        "(a message says what) or with credentials the marketplace rejects.",
    )
    writeback_issue = fields.Selection(
        ISSUE_SELECTION,
        string="Problem",
        compute="_compute_writeback_issue",
        help="What kind of help this write-back needs: the form's guidance "
        "and buttons follow it.",
    )
    writeback_manual_reason = fields.Selection(
        MANUAL_REASONS,
        string="Handled As",
        copy=False,
        readonly=True,
        help="How a person closed this write-back: confirmed on the "
        "marketplace by hand, or cancelled there (nothing to confirm).",
    )

    # The grid shows (and sorts) the customer's name stored on the delivery:
    # computing 80 partners' display names cost more than the page's query.
    writeback_customer_name = fields.Char(
        string="Customer", related="partner_id.complete_name", store=True
    )
    # Copies of the columns the grid's account and carrier columns sort by
    # (their comodel's _order), so that an index serves those sorts too; see
    # _order_field_to_sql.
    writeback_sort_account_sequence = fields.Integer(
        string="Account Sequence (sort key)",
        related="ecommerce_account_id.sequence",
        store=True,
    )
    writeback_sort_account_name = fields.Char(
        string="Account Name (sort key)",
        related="ecommerce_account_id.name",
        store=True,
    )
    writeback_sort_carrier_sequence = fields.Integer(
        string="Carrier Sequence (sort key)", related="carrier_id.sequence", store=True
    )

    _writeback_due_idx = models.Index(
        "(writeback_next_attempt) WHERE writeback_state IN ('pending', 'submitted')"
    )
    # The write-back grid (action domain: writeback_state set) over 100,000s of
    # deliveries: its first page must come from an index for the default
    # order, each filter and each column sort, never from sorting every row.
    # The company (record rule) is included for the count of the rows.
    _writeback_grid_idx = models.Index(
        f"(writeback_last_attempt DESC, id DESC) INCLUDE (company_id) {GRID_ROWS}"
    )
    _writeback_grid_state_idx = models.Index(
        "(writeback_state, writeback_last_attempt DESC, id DESC)"
        f" INCLUDE (company_id) {GRID_ROWS}"
    )
    _writeback_grid_order_ref_idx = models.Index(f"(ecommerce_order_ref) {GRID_ROWS}")
    _writeback_grid_tracking_idx = models.Index(f"(carrier_tracking_ref) {GRID_ROWS}")
    _writeback_grid_date_done_idx = models.Index(f"(date_done) {GRID_ROWS}")
    _writeback_grid_customer_idx = models.Index(
        f"(partner_id) INCLUDE (company_id) {GRID_ROWS}"
    )
    _writeback_grid_customer_name_idx = models.Index(
        f"(writeback_customer_name, writeback_last_attempt DESC, id DESC) {GRID_ROWS}"
    )
    _writeback_grid_account_idx = models.Index(
        "(writeback_sort_account_sequence, writeback_sort_account_name,"
        " ecommerce_account_id, writeback_last_attempt DESC, id DESC)"
        f" {GRID_ROWS}"
    )
    _writeback_grid_carrier_idx = models.Index(
        "(writeback_sort_carrier_sequence, carrier_id, writeback_last_attempt DESC,"
        f" id DESC) {GRID_ROWS}"
    )
    # A click on the header again sorts descending, the tie-breakers still
    # newest first: with repeated values (states, accounts, carriers, common
    # names), reading the ascending index backwards would sort whole groups.
    _writeback_grid_customer_name_desc_idx = models.Index(
        "(writeback_customer_name DESC, writeback_last_attempt DESC, id DESC)"
        f" {GRID_ROWS}"
    )
    _writeback_grid_state_desc_idx = models.Index(
        f"(writeback_state DESC, writeback_last_attempt DESC, id DESC) {GRID_ROWS}"
    )
    _writeback_grid_account_desc_idx = models.Index(
        "(writeback_sort_account_sequence DESC, writeback_sort_account_name DESC,"
        " ecommerce_account_id DESC, writeback_last_attempt DESC, id DESC)"
        f" {GRID_ROWS}"
    )
    _writeback_grid_carrier_desc_idx = models.Index(
        "(writeback_sort_carrier_sequence DESC, carrier_id DESC,"
        f" writeback_last_attempt DESC, id DESC) {GRID_ROWS}"
    )

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        """Sort a many2one column of the grid by the stored copies of its
        comodel's order columns (GRID_M2O_SORT): the same order as the join
        Odoo makes, but one an index serves."""
        sort = GRID_M2O_SORT.get(field_name)
        field = self._fields.get(field_name)
        if (
            not sort
            or nulls.code
            or self.env[field.comodel_name]._order != sort[0]
            or not self.env.context.get("writeback_grid")
        ):
            return super()._order_field_to_sql(
                alias, field_name, direction, nulls, query
            )
        reverse = direction.code.upper() == "DESC"
        terms = []
        for fname, descending in sort[1]:
            sql_field = self._field_to_sql(alias, fname, query)
            query._order_groupby.append(sql_field)
            terms.append(
                SQL("%s %s", sql_field, SQL("DESC" if descending != reverse else "ASC"))
            )
        return SQL(", ").join(terms)

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

    @api.depends(
        "writeback_state",
        "writeback_error",
        "writeback_next_attempt",
        "ecommerce_readback",
        "ecommerce_account_id.auth_error",
    )
    def _compute_writeback_issue(self):
        for picking in self:
            issue = picking._writeback_issue()
            picking.writeback_issue = issue
            picking.writeback_needs_attention = bool(issue)

    def _writeback_issue(self):
        """``ISSUE_*`` for a write-back a person must look at, else False."""
        self.ensure_one()
        state = self.writeback_state
        if state not in (State.FAILED, State.PENDING):
            return False
        if state == State.FAILED and (
            (self.ecommerce_readback or {}).get("cancelled")
            or CANCELLED_ERROR_RE.search(self.writeback_error or "")
        ):
            return ISSUE_CANCELLED
        if self.ecommerce_account_id.sudo().auth_error:
            return ISSUE_CREDENTIALS
        if state == State.FAILED:
            return ISSUE_FAILED
        if self.writeback_error and not self.writeback_next_attempt:
            return ISSUE_FIX
        return False

    @api.model
    def _search_writeback_needs_attention(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            return NotImplemented
        domain = Domain("writeback_state", "=", State.FAILED.value) | (
            Domain("writeback_state", "=", State.PENDING.value)
            & (
                (
                    Domain("writeback_error", "!=", False)
                    & Domain("writeback_next_attempt", "=", False)
                )
                | Domain("ecommerce_account_id.auth_error", "!=", False)
            )
        )
        return domain if (operator == "=") == value else ~domain

    @api.depends("ecommerce_readback")
    def _compute_ecommerce_readback_html(self):
        """The marketplace's own view of the order, as last read back: its
        status and the packages (tracking numbers) it lists, with local
        times and product names (QWeb template ``readback_view``)."""
        for picking in self:
            view = picking.ecommerce_readback or {}
            picking.ecommerce_readback_html = self.env["ir.qweb"]._render(
                "stock_ecommerce_writeback.readback_view",
                {
                    "view": view,
                    "local_time": picking._readback_local_time,
                    "item_name": picking._readback_item_names(view),
                },
            )

    def _readback_local_time(self, value):
        """An ISO 8601 time of the marketplace in the user's time zone, as
        Odoo shows times; the text as it is when it is no such time."""
        if not value:
            return ""
        try:
            moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        if moment.tzinfo:
            moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
        local = fields.Datetime.context_timestamp(self, moment)
        lang = self.env["res.lang"]._get_data(code=self.env.lang or "en_US")
        if not lang:
            return local.strftime("%Y-%m-%d %H:%M:%S")
        return local.strftime(f"{lang.date_format} {lang.time_format}")

    def _readback_item_names(self, view):
        """A function giving a readable name for a marketplace line id: the
        title the marketplace reported for it, else the product of the
        order line that has that id, else ''."""
        names = {}
        for line in self.sale_id.order_line:
            for fname in MARKETPLACE_LINE_ID_FIELDS:
                if line[fname]:
                    names[str(line[fname])] = line.product_id.display_name
        for line in view.get("lines") or []:
            title = line.get("title") or line.get("sku")
            if not title:
                continue
            for key in ("line_item_id", "order_line_item_id"):
                if line.get(key):
                    names[str(line[key])] = title
        return lambda ref: names.get(str(ref), "")

    @api.model
    def fields_get(self, allfields=None, attributes=None):
        """On the write-back grid (context ``writeback_grid``), Custom Group
        offers only the fields a user understands, not internal ones such
        as the lease."""
        result = super().fields_get(allfields=allfields, attributes=attributes)
        if self.env.context.get("writeback_grid"):
            for name, description in result.items():
                if "groupable" in description and name not in GRID_GROUPABLE:
                    description["groupable"] = False
        return result

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
                and p.picking_type_code in SHIPPING_TYPE_CODES
                and p.location_dest_id.usage == "customer"
            )
        )

    def _action_done(self):
        res = super()._action_done()
        self._writeback_queue()
        return res

    def write(self, vals):
        watched = {"carrier_tracking_ref", "carrier_id"} & set(vals)
        if not watched or self.env.context.get("writeback_engine"):
            return super().write(vals)
        before = {
            picking.id: (picking._writeback_tracking_numbers(), picking.carrier_id)
            for picking in self
            if picking.writeback_state in REQUEUE_STATES
        }
        res = super().write(vals)
        for picking in self.filtered(lambda p: p.id in before):
            picking._writeback_requeue_if_changed(*before[picking.id])
        return res

    def _writeback_requeue_if_changed(self, old_numbers, old_carrier):
        """Requeue after a real change of tracking numbers or carrier (the
        same values written again, as importers and mass edits do, change
        nothing), and say in the chatter what changed."""
        self.ensure_one()
        new_numbers = self._writeback_tracking_numbers()
        changes = []
        if [n.upper() for n in new_numbers] != [n.upper() for n in old_numbers]:
            changes.append(
                self.env._(
                    "tracking number %(old)s → %(new)s",
                    old=", ".join(old_numbers) or "-",
                    new=", ".join(new_numbers) or "-",
                )
            )
        if self.carrier_id != old_carrier:
            changes.append(
                self.env._(
                    "carrier %(old)s → %(new)s",
                    old=old_carrier.display_name or "-",
                    new=self.carrier_id.display_name or "-",
                )
            )
        if not changes:
            return False
        self.message_post(
            body=self.env._(
                "Write-back queued again after a change: %s.", "; ".join(changes)
            )
        )
        return self._writeback_queue()

    def _writeback_queue(self, keep_attempts=False):
        """Make these deliveries pending (if they qualify) and wake the push
        cron. A delivery that cannot be sent yet stays pending with an error
        saying what to fix and no next attempt."""
        now = fields.Datetime.now()
        queued = self.env["stock.picking"]
        for picking in self._writeback_candidates().filtered(
            lambda p: policy.can_transition(p.writeback_state, State.PENDING)
        ):
            problem = picking._writeback_problem()
            Writeback(picking, now).set_pending(
                due=not problem, error=problem, reset_attempts=not keep_attempts
            ).store(track=True)
            if not problem:
                queued |= picking
        if queued:
            self._writeback_trigger_push()
        return queued

    @api.model
    def _writeback_trigger_push(self):
        self.env["ecommerce.writeback.engine"]._trigger("ir_cron_writeback_push")

    def _writeback_tracking_numbers(self):
        self.ensure_one()
        numbers = TRACKING_SPLIT_RE.split(self.carrier_tracking_ref or "")
        # "9400 1118 9922 ..." as printed on a label is one number.
        return [re.sub(r"\s+", "", n) for n in numbers if n.strip()]

    def _writeback_wire_tracking(self):
        """[(entered, sent)]: each tracking number as entered and as the
        marketplace gets it: the write-back API's tracking normaliser
        (platform registry; e.g. eBay's Sell Fulfillment API takes letters and
        digits only)."""
        self.ensure_one()
        normalise = self.ecommerce_account_id._writeback_api().normalise_tracking
        return [
            (number, normalise(number)) for number in self._writeback_tracking_numbers()
        ]

    def _writeback_problem(self):
        """What must be fixed before this delivery can be sent, or ''.
        eBay line ids the engine can look up on the order are no problem:
        the engine looks them up before the send."""
        if self.env["ecommerce.writeback.binder"]._lines_to_resolve(self):
            return ""
        return self._writeback_checked_shipment()[1]

    def _writeback_shipped_sale_lines(self):
        """The marketplace order lines this delivery shipped."""
        self.ensure_one()
        return self.move_ids.filtered(
            lambda m: m.state == "done" and m.quantity
        ).sale_line_id

    def _writeback_prefetch(self):
        """Read what building these deliveries' shipments reads, for all of
        them at once (the engine builds a batch of shipments in a few
        queries instead of a query chain each)."""
        moves = self.move_ids
        lines = moves.sale_line_id
        orders = self.sale_id | lines.order_id
        orders.mapped("ecommerce_account_id")
        orders.order_line.mapped("qty_delivered")
        orders.order_line.mapped("ecommerce_item_ref")
        orders.picking_ids.mapped("location_dest_id.usage")
        self.move_line_ids.mapped("result_package_id")
        self.carrier_id.mapped("name")

    def _writeback_checked_shipment(self):
        """``(shipment, "")`` when this delivery can be sent, else
        ``(None, what must be fixed)``: the checks and the
        :class:`~..marketplaces.base.Shipment` in one go."""
        self.ensure_one()
        account = self.ecommerce_account_id
        marketplace = account._platform().label
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
            shipment = self._writeback_shipment()
        except UserError as exc:
            return None, str(exc.args[0])
        problems = validate.shipment_problems(shipment, account._writeback_apis()[0])
        if problems:
            return None, self._writeback_problem_message(problems[0], marketplace)
        return shipment, ""

    def _writeback_problem_message(self, problem, marketplace):
        """A user's words for a :class:`~..marketplaces.validate.Problem`:
        which field, which character where, and what the marketplace takes."""
        where = {
            validate.TRACKING_NUMBER: self.env._("Tracking number"),
            validate.CARRIER_CODE: self.env._("The marketplace carrier code"),
            validate.CARRIER_NAME: self.env._("The carrier name"),
            validate.SHIPPING_METHOD: self.env._("The service name"),
            validate.ORDER_REF: self.env._("The marketplace order number"),
            validate.ITEM_REF: self.env._("The marketplace line id"),
        }[problem.field]
        value = repr(problem.value)
        character = (
            f"U+{ord(problem.character):04X}"
            if problem.character and not problem.character.isprintable()
            else repr(problem.character)
        )
        if problem.reason == validate.CONTROL_CHARACTER:
            text = self.env._(
                "%(field)s %(value)s holds an invisible control character "
                "(%(char)s at position %(pos)s) that %(marketplace)s refuses: "
                "retype it.",
                field=where,
                value=value,
                char=character,
                pos=problem.position,
                marketplace=marketplace,
            )
        elif problem.reason == validate.NOT_ALLOWED_CHARACTER:
            text = self.env._(
                "%(field)s %(value)s holds %(char)s at position %(pos)s, a "
                "character %(marketplace)s does not accept there.",
                field=where,
                value=value,
                char=character,
                pos=problem.position,
                marketplace=marketplace,
            )
        elif problem.reason == validate.TOO_LONG:
            text = self.env._(
                "%(field)s %(value)s is longer than the %(limit)s characters "
                "%(marketplace)s accepts.",
                field=where,
                value=value,
                limit=problem.limit,
                marketplace=marketplace,
            )
        elif problem.reason == validate.EMPTY:
            text = self.env._(
                "%(field)s is empty, and %(marketplace)s needs it.",
                field=where,
                marketplace=marketplace,
            )
        else:  # wrong_format
            text = self.env._(
                "%(field)s %(value)s does not have the form %(marketplace)s "
                "expects (for example %(example)s).",
                field=where,
                value=value,
                marketplace=marketplace,
                example=problem.expected or "-",
            )
        return text + " " + self.env._("Nothing was sent; no attempt was used.")

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
                field = sale_line._fields[sale_line._ecommerce_item_field()]
                raise UserError(
                    sale_line.ebay_line_resolution_error
                    or self.env._(
                        "Order line %(line)s has no %(field)s, the id %(account)s "
                        "writes back with: fill it in on the sales order line.",
                        line=sale_line.display_name,
                        field=field.string,
                        account=self.ecommerce_account_id.display_name,
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
        """One package per tracking number. Several tracking numbers need
        every shipped item put in one of as many packages (Put in Pack), so
        each tracking number carries the right quantities and nothing that
        left the warehouse is left unconfirmed."""
        self.ensure_one()
        numbers = self._writeback_tracking_numbers()
        shipped = self._writeback_item_quantities()
        if len(numbers) == 1:
            return [(numbers[0], shipped)]
        lines = self.move_line_ids.filtered(
            lambda ml: ml.move_id.state == "done" and ml.move_id.sale_line_id
        )
        packs = lines.result_package_id.sorted("name")
        if len(packs) != len(numbers):
            raise UserError(
                self.env._(
                    "This delivery has %(n)s tracking numbers but its items are "
                    "in %(p)s packages: put each parcel's items in its own "
                    "package (Put in Pack), in the order of the tracking numbers.",
                    n=len(numbers),
                    p=len(packs),
                )
            )
        unpacked = lines.filtered(lambda ml: not ml.result_package_id)
        if unpacked:
            raise UserError(
                self.env._(
                    "This delivery has %(n)s tracking numbers, but %(items)s "
                    "are in no package, so no tracking number would carry them: "
                    "put them in the package of their parcel (Put in Pack).",
                    n=len(numbers),
                    items=", ".join(
                        f"{ml.quantity:g} {ml.product_uom_id.name} "
                        f"{ml.product_id.display_name}"
                        for ml in unpacked
                    ),
                )
            )
        packages = [
            (
                number,
                self._writeback_item_quantities(
                    lines.filtered(lambda ml, pack=pack: ml.result_package_id == pack)
                ),
            )
            for number, pack in zip(numbers, packs, strict=True)
        ]
        packed = defaultdict(int)
        for _number, items in packages:
            for ref, qty in items.items():
                packed[ref] += qty
        if dict(packed) != shipped:
            raise UserError(
                self.env._(
                    "The packages of this delivery hold %(packed)s, but it "
                    "shipped %(shipped)s: correct the packages so they hold "
                    "exactly what shipped.",
                    packed=", ".join(f"{q} x {r}" for r, q in sorted(packed.items())),
                    shipped=", ".join(f"{q} x {r}" for r, q in sorted(shipped.items())),
                )
            )
        return packages

    def _writeback_completes_order(self):
        """True when, with this delivery, every marketplace line of the order
        has shipped in full (eBay Trading: then the order is marked shipped
        by OrderID). A line counts whichever of its ids it has."""
        self.ensure_one()
        lines = self.sale_id.order_line.filtered(
            lambda line: any(line[fname] for fname in MARKETPLACE_LINE_ID_FIELDS)
        )
        return all(
            line.qty_delivered >= line.product_uom_qty
            or float_is_zero(
                line.product_uom_qty - line.qty_delivered,
                precision_rounding=line.product_uom_id.rounding,
            )
            for line in lines
        )

    def _writeback_is_sole_shipment(self):
        """True when no other delivery of the order ships its marketplace
        lines (then eBay may take the tracking at order level)."""
        self.ensure_one()
        others = self.sale_id.picking_ids.filtered(
            lambda p: (
                p != self
                and p.state == "done"
                and p.picking_type_code in SHIPPING_TYPE_CODES
                and p.location_dest_id.usage == "customer"
                and p._writeback_shipped_sale_lines()
            )
        )
        return not others

    def _writeback_shipment(self):
        """The :class:`~..marketplaces.base.Shipment` for this delivery.
        Package references are stable (delivery id * 100 + package number),
        so a resend edits the same package on Amazon instead of adding one."""
        self.ensure_one()
        carrier = self.carrier_id
        platform = self.ecommerce_account_id.platform
        wire = dict(self._writeback_wire_tracking())
        packages = tuple(
            base.Package(
                package_ref=str(self.id * 100 + index),
                # as the marketplace takes it (eBay REST: letters and digits)
                tracking_number=wire.get(number, number),
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
            sole_shipment=self._writeback_is_sole_shipment(),
        )

    # ------------------------------------------------------------------
    # Engine glue (the engine itself: ecommerce.writeback.engine)
    # ------------------------------------------------------------------
    @api.model
    def _cron_writeback_push(self, batch_size=None):
        """Entry point of the push cron (kept here for existing crons)."""
        engine = self.env["ecommerce.writeback.engine"]
        engine._cron_push(batch_size=batch_size or CLAIM_BATCH)

    @api.model
    def _cron_writeback_verify(self, batch_size=None):
        """Entry point of the verify cron (kept here for existing crons)."""
        engine = self.env["ecommerce.writeback.engine"]
        engine._cron_verify(batch_size=batch_size or VERIFY_BATCH)

    def _writeback_claim_key(self):
        """What identifies the current claim of this delivery: an outcome
        is applied only to the claim it was decided for."""
        self.ensure_one()
        return (self.writeback_attempt_count, self.writeback_last_attempt)

    def _writeback_sent_package_list(self):
        """``[(tracking number, [(line id, quantity), ...]), ...]`` as last
        sent (deliveries sent before this was stored: tracking only)."""
        self.ensure_one()
        if self.writeback_sent_packages:
            return [
                (tracking, [tuple(item) for item in items])
                for tracking, items in self.writeback_sent_packages
            ]
        return [
            (number, [])
            for number in (self.writeback_sent_tracking or "").split(",")
            if number
        ]

    def _writeback_note_wire_changes(self):
        """Tell the user when a tracking number is sent otherwise than it
        was entered (eBay REST: letters and digits only)."""
        self.ensure_one()
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

    def _writeback_post_outcome(self, decision):
        marketplace = self.ecommerce_account_id.display_name
        if decision.state == State.SUCCESS:
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
        elif decision.state == State.FAILED:
            if self._writeback_issue() == ISSUE_CANCELLED:
                # Nothing can be confirmed on a cancelled order.
                advice = self.env._(
                    "The order is cancelled on %(marketplace)s: there is nothing "
                    "to confirm. Check it there, then use 'Mark as handled'.",
                    marketplace=marketplace,
                )
            else:
                advice = self.env._(
                    "Write-back to %(marketplace)s failed after %(n)s attempt(s). "
                    "Confirm the shipment on the marketplace by hand, then use "
                    "'Mark as manually confirmed'.",
                    marketplace=marketplace,
                    n=self.writeback_attempt_count,
                )
            self.message_post(
                body=Markup("<p>%s</p><p>%s</p>") % (advice, decision.error)
            )
            if decision.notify:
                self._writeback_schedule_activity(decision.error)

    def _writeback_schedule_activity(self, error):
        """Tell the account's responsible person; an open to-do of the same
        write-back is updated rather than doubled."""
        account = self.ecommerce_account_id
        user = account.user_id or self.user_id or self.env.ref("base.user_admin")
        summary = self.env._("Write-back to %s failed", account.display_name)
        note = self.env._(
            "Order %(order)s was not confirmed on the marketplace: %(error)s",
            order=self.ecommerce_order_ref,
            error=error,
        )
        todo = self.env.ref("mail.mail_activity_data_todo")
        existing = self.activity_ids.filtered(
            lambda a: a.activity_type_id == todo and a.summary == summary
        )
        if existing:
            existing[:1].write(
                {
                    "note": note,
                    "user_id": user.id,
                    "date_deadline": fields.Date.context_today(self),
                }
            )
            return
        self.activity_schedule(
            "mail.mail_activity_data_todo", user_id=user.id, summary=summary, note=note
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

    def _writeback_summary(self, title, done, refused):
        """The answer to an action on several write-backs: a notification
        saying what was done and what was refused and why (then the grid
        reloads). ``refused`` is ``[(picking, reason)]``. Nothing done at
        all is an error that lists the reasons."""
        lines = [
            f"{picking.ecommerce_order_ref or picking.name}: {reason}"
            for picking, reason in refused[:MAX_REFUSALS_NAMED]
        ]
        if len(refused) > MAX_REFUSALS_NAMED:
            lines.append(
                self.env._("... and %s more.", len(refused) - MAX_REFUSALS_NAMED)
            )
        if not done:
            raise UserError("\n".join([title, *lines]))
        if len(self) == 1:
            return True
        message = self.env._(
            "%(done)s of %(total)s write-back(s): done.",
            done=len(done),
            total=len(self),
        )
        if refused:
            message += " " + self.env._("Refused:") + " " + " ".join(lines)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": "warning" if refused else "success",
                "sticky": bool(refused),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _writeback_retry_refusal(self):
        """Why this write-back cannot be retried, or ''."""
        self.ensure_one()
        if self.writeback_issue == ISSUE_CANCELLED:
            return self.env._(
                "the order is cancelled on the marketplace: there is nothing to "
                "send; use Mark as handled."
            )
        if self.writeback_state not in (State.PENDING, State.FAILED, State.SUBMITTED):
            label = dict(policy.SELECTION).get(self.writeback_state)
            return self.env._(
                "only pending, submitted or failed write-backs can be retried "
                "(this one is %s).",
                label or self.env._("not a marketplace write-back"),
            )
        return ""

    def action_writeback_retry(self):
        """Send again at the next cron run (now). A failed shipment gets a
        fresh set of attempts. On several write-backs: a summary of what was
        done and what was refused and why."""
        done, refused = self.browse(), []
        for picking in self:
            reason = picking._writeback_retry_refusal()
            if reason:
                refused.append((picking, reason))
                continue
            picking._writeback_queue(
                keep_attempts=picking.writeback_state != State.FAILED
            )
            picking.message_post(
                body=self.env._("Write-back retry requested by %s.", self.env.user.name)
            )
            done |= picking
        if not done and len(self) == 1:
            if self.writeback_issue == ISSUE_CANCELLED:
                raise UserError(refused[0][1])
            raise UserError(
                self.env._(
                    "Only pending, submitted or failed write-backs can be retried."
                )
            )
        return self._writeback_summary(self.env._("Retry now"), done, refused)

    def _writeback_check_accountant(self):
        if not self.env.user.has_group(ACCOUNTANT_GROUP):
            raise UserError(
                self.env._(
                    "Only users allowed to confirm marketplace orders by hand can "
                    "do this."
                )
            )

    def _writeback_close_by_hand(self, reason):
        """Close these write-backs as a person did (``reason``: see
        MANUAL_REASONS) and say so in their chatter."""
        now = fields.Datetime.now()
        for picking in self:
            Writeback(picking, now).set_manual(reason, self.env.uid).store(track=True)
        for picking in self:
            picking.activity_unlink(["mail.mail_activity_data_todo"])
            if reason == "cancelled":
                body = self.env._(
                    "Marked as handled by %(user)s on %(date)s: the order is "
                    "cancelled on %(marketplace)s, nothing is sent.",
                    marketplace=picking.ecommerce_account_id.display_name,
                    user=self.env.user.name,
                    date=fields.Datetime.to_string(now),
                )
            else:
                body = self.env._(
                    "Marked as manually confirmed on %(marketplace)s by %(user)s on "
                    "%(date)s.",
                    marketplace=picking.ecommerce_account_id.display_name,
                    user=self.env.user.name,
                    date=fields.Datetime.to_string(now),
                )
            picking.message_post(body=body)

    def action_writeback_mark_manual(self):
        """The user confirmed the shipment on the marketplace by hand. On
        several write-backs: a summary of what was done and refused."""
        self._writeback_check_accountant()
        done, refused = self.browse(), []
        for picking in self:
            if not (
                picking.writeback_state
                and policy.can_transition(picking.writeback_state, State.MANUAL)
            ):
                label = dict(policy.SELECTION).get(picking.writeback_state)
                refused.append(
                    (
                        picking,
                        self.env._(
                            "there is nothing to confirm (this write-back is %s).",
                            label or self.env._("not a marketplace write-back"),
                        ),
                    )
                )
            elif picking.writeback_issue == ISSUE_CANCELLED:
                refused.append(
                    (
                        picking,
                        self.env._(
                            "the order is cancelled on the marketplace, it cannot "
                            "be confirmed there: use Mark as handled."
                        ),
                    )
                )
            else:
                done |= picking
        if not done and len(self) == 1:
            raise UserError(self.env._("There is no unconfirmed write-back here."))
        done._writeback_close_by_hand("confirmed")
        return self._writeback_summary(
            self.env._("Mark as manually confirmed"), done, refused
        )

    def action_writeback_mark_handled(self):
        """The order is cancelled on the marketplace: nothing can be
        confirmed there, the write-back is closed as handled."""
        self._writeback_check_accountant()
        todo = self.filtered(lambda p: p.writeback_issue == ISSUE_CANCELLED)
        refused = [
            (
                picking,
                self.env._("only write-backs of cancelled orders are handled so."),
            )
            for picking in self - todo
        ]
        todo._writeback_close_by_hand("cancelled")
        return self._writeback_summary(self.env._("Mark as handled"), todo, refused)

    def action_writeback_open_account(self):
        """The marketplace account of this delivery (to fix its credentials)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "ecommerce.account",
            "res_id": self.ecommerce_account_id.id,
            "views": [(False, "form")],
            "target": "current",
        }
