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

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import SQL

from ..marketplaces import policy
from ..marketplaces.base import API_EBAY_TRADING
from ..marketplaces.policy import State
from .formatting import user_datetime
from .grid_search import GRID_TEXT_SEARCH, grid_text_condition
from .sale_order import MARKETPLACE_LINE_ID_FIELDS
from .writeback import Writeback

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
# The longest tracking reference of a marketplace delivery (characters):
# several numbers fit, and its row always fits the grid's btree index.
TRACKING_REF_MAX = 600
# What a write-back that needs a person is about (writeback_issue).
ISSUE_CANCELLED = "cancelled"
ISSUE_CREDENTIALS = "credentials"
ISSUE_FIX = "fix"
ISSUE_FAILED = "failed"
ISSUE_UNVERIFIED = "unverified"
ISSUE_OTHER_TRACKING = "other_tracking"
ISSUE_SELECTION = [
    (ISSUE_CANCELLED, "Order cancelled on the marketplace"),
    (ISSUE_OTHER_TRACKING, "Shipped there under another tracking number"),
    (ISSUE_CREDENTIALS, "Credentials rejected"),
    (ISSUE_FIX, "Something to fix first"),
    (ISSUE_FAILED, "Failed"),
    (ISSUE_UNVERIFIED, "Accepted, not verified yet"),
]
MANUAL_REASONS = [
    ("confirmed", "Confirmed by hand"),
    ("cancelled", "Cancelled on the marketplace"),
    ("kept", "Kept what the marketplace holds"),
]
MAX_REFUSALS_NAMED = 20
# Deliveries named per line of a bulk action's result.
MAX_NAMED_PER_REASON = 5
# States the chatter does not hear about (bookkeeping, shown on the form).
QUIET_STATES = (State.PENDING, State.SENDING, State.SUBMITTED)
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
# A marketplace's refusal of the delivery's own data (Amazon "Invalid
# tracking number", eBay 21916964 and REST 32100-34300 on tracking or
# carrier): corrected on the delivery, it is sent again.
DATA_REFUSED_RE = re.compile(r"tracking|carrier", re.IGNORECASE)
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

# The grid sorts the last error by its first characters (an index serves
# that sort; the whole text has no length limit, a btree row has one).
GRID_ERROR_SORT_CHARS = 200


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
    ecommerce_marketplace_id = fields.Char(
        related="sale_id.ecommerce_marketplace_id", string="Order Marketplace"
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
    # "1 of 5" on the screens (the writeback_attempts widget)
    writeback_max_attempts = fields.Integer(
        string="Max Attempts", related="ecommerce_account_id.max_attempts"
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
        help="Tracking numbers of the last send that reached the marketplace, "
        "as it got them. Empty until a send went out.",
    )
    writeback_sent_packages = fields.Json(
        copy=False,
        readonly=True,
        help="What the last send carried: [[tracking number, [[line id, "
        "quantity], ...]], ...], checked line by line on read-back.",
    )
    writeback_fixable = fields.Boolean(
        string="Fixed by Correcting the Delivery",
        compute="_compute_writeback_fixable",
        help="What stops this write-back is the delivery's own data (no or a "
        "refused tracking number, no carrier or carrier code): correcting it "
        "sends it again; retrying as it is, or confirming by hand, cannot help.",
    )
    writeback_adds_packages = fields.Boolean(
        string="Adds a Package to a Shipped Order",
        compute="_compute_writeback_adds_packages",
        help="The account's API adds a package to an order already shipped.",
    )
    writeback_sent_unanswered = fields.Boolean(
        string="Last Send Unanswered",
        copy=False,
        readonly=True,
        help="The last send went out but its answer was lost (timeout, cut "
        "connection, server error): the order is read back before it is sent "
        "again.",
    )
    writeback_sent_meta = fields.Json(
        string="Carrier and Order Mark Sent",
        copy=False,
        readonly=True,
        help="What else the last send carried: {'carrier': [code, name], "
        "'order_level': the whole order marked shipped (eBay Trading)}, "
        "checked on read-back.",
    )
    writeback_throttle_count = fields.Integer(
        copy=False,
        readonly=True,
        help="Rate-limit answers in a row: the wait after each one doubles.",
    )
    writeback_read_failures = fields.Integer(
        copy=False,
        readonly=True,
        help="Read-backs in a row that reached the marketplace and failed (the "
        "client holding a read back for the rate limit does not count).",
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
    # The company (record rule) is included for the count of the rows. A
    # search walks this index newest first, and stops at the page's 80th
    # match: the columns the search view searches are included, so that the
    # walk never visits the table, and a search that matches few deliveries,
    # all old ones, is not a visit of every delivery (the planner cannot see
    # where the matches are). The tracking reference has an index of its
    # own: with the others, a long one would not fit a btree row.
    _writeback_grid_idx = models.Index(
        "(writeback_last_attempt DESC, id DESC) INCLUDE (company_id,"
        f" ecommerce_order_ref, name, partner_id, ecommerce_account_id) {GRID_ROWS}"
    )
    _writeback_grid_tracking_search_idx = models.Index(
        "(writeback_last_attempt DESC, id DESC) INCLUDE (company_id,"
        f" carrier_tracking_ref) {GRID_ROWS}"
    )
    _writeback_grid_state_idx = models.Index(
        "(writeback_state, writeback_last_attempt DESC, id DESC)"
        f" INCLUDE (company_id) {GRID_ROWS}"
    )
    _writeback_grid_order_ref_idx = models.Index(f"(ecommerce_order_ref) {GRID_ROWS}")
    _writeback_grid_tracking_idx = models.Index(f"(carrier_tracking_ref) {GRID_ROWS}")
    _writeback_grid_date_done_idx = models.Index(f"(date_done) {GRID_ROWS}")
    # "Confirmed today"
    _writeback_grid_done_date_idx = models.Index(f"(writeback_done_date) {GRID_ROWS}")
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
    # The optional columns, both ways (the last error by its first
    # GRID_ERROR_SORT_CHARS characters: an error's length has no limit, a
    # btree row has one).
    _writeback_grid_shipped_qty_idx = models.Index(
        f"(writeback_shipped_qty, writeback_last_attempt DESC, id DESC) {GRID_ROWS}"
    )
    _writeback_grid_shipped_qty_desc_idx = models.Index(
        "(writeback_shipped_qty DESC, writeback_last_attempt DESC, id DESC)"
        f" {GRID_ROWS}"
    )
    _writeback_grid_attempts_idx = models.Index(
        f"(writeback_attempt_count, writeback_last_attempt DESC, id DESC) {GRID_ROWS}"
    )
    _writeback_grid_attempts_desc_idx = models.Index(
        "(writeback_attempt_count DESC, writeback_last_attempt DESC, id DESC)"
        f" {GRID_ROWS}"
    )
    _writeback_grid_next_attempt_idx = models.Index(
        f"(writeback_next_attempt, writeback_last_attempt DESC, id DESC) {GRID_ROWS}"
    )
    _writeback_grid_next_attempt_desc_idx = models.Index(
        "(writeback_next_attempt DESC, writeback_last_attempt DESC, id DESC)"
        f" {GRID_ROWS}"
    )
    _writeback_grid_error_idx = models.Index(
        f"(left(writeback_error, {GRID_ERROR_SORT_CHARS}), writeback_last_attempt"
        f" DESC, id DESC) {GRID_ROWS}"
    )
    _writeback_grid_error_desc_idx = models.Index(
        f"(left(writeback_error, {GRID_ERROR_SORT_CHARS}) DESC, writeback_last_attempt"
        f" DESC, id DESC) {GRID_ROWS}"
    )

    def _search(self, domain, *args, **kwargs):
        """On the write-back grid, a search for part of a tracking number or
        order reference takes the cheaper of the trigram index and the
        grid's covering index (grid_search.py); the rows are the same."""
        if self.env.context.get("writeback_grid") and domain:
            domain = Domain(domain)
            if any(
                condition.field_expr in GRID_TEXT_SEARCH
                and condition.operator == "ilike"
                for condition in domain.iter_conditions()
            ):
                domain = domain.map_conditions(
                    lambda condition: grid_text_condition(self, condition)
                )
        return super()._search(domain, *args, **kwargs)

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        """Sort a many2one column of the grid by the stored copies of its
        comodel's order columns (GRID_M2O_SORT): the same order as the join
        Odoo makes, but one an index serves. The last error sorts by its
        first GRID_ERROR_SORT_CHARS characters, which an index serves too."""
        if field_name == "writeback_error" and self.env.context.get("writeback_grid"):
            sql_field = SQL(
                "left(%s, %s)",
                self._field_to_sql(alias, field_name, query),
                GRID_ERROR_SORT_CHARS,
            )
            query._order_groupby.append(sql_field)
            return SQL("%s %s %s", sql_field, direction, nulls)
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

    @api.depends(
        "ecommerce_account_id",
        "ecommerce_order_ref",
        "sale_id.ecommerce_marketplace_id",
    )
    def _compute_ecommerce_order_url(self):
        for picking in self:
            account = picking.ecommerce_account_id
            picking.ecommerce_order_url = (
                account._order_url(
                    picking.ecommerce_order_ref,
                    picking.sale_id.ecommerce_marketplace_id,
                )
                if account
                else False
            )

    def _writeback_note_marketplace(self, order_view):
        """The marketplace named by the marketplace's view of the order
        (``order_view``, an OrderView or its ``as_dict()``) goes on these
        deliveries' sales orders that have none yet (see
        ``sale.order._writeback_note_marketplace``). Called whenever a
        read-back is stored on a delivery (:meth:`write`)."""
        return self.sale_id._writeback_note_marketplace(order_view)

    @api.depends(
        "writeback_state",
        "writeback_error",
        "writeback_next_attempt",
        "writeback_submitted_date",
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
        if state == State.SUBMITTED:
            # Accepted by the marketplace: only unverified for too long.
            since = self.writeback_submitted_date
            if since and since < self._writeback_unverified_before():
                return ISSUE_UNVERIFIED
            return False
        if state == State.DISAGREES:
            if (self.ecommerce_readback or {}).get("cancelled"):
                return ISSUE_CANCELLED
            return ISSUE_OTHER_TRACKING
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

    @api.constrains("carrier_tracking_ref", "ecommerce_account_id")
    def _check_writeback_tracking_length(self):
        """A marketplace delivery's tracking reference has a length limit,
        checked before anything is stored or sent: no marketplace takes
        longer numbers, and the grid's index could not hold the row."""
        for picking in self.filtered("ecommerce_account_id"):
            reference = picking.carrier_tracking_ref or ""
            if len(reference) > TRACKING_REF_MAX:
                raise ValidationError(
                    self.env._(
                        "The Tracking Reference of %(delivery)s has %(length)s "
                        "characters; a marketplace delivery's may have at most "
                        "%(limit)s (several numbers separated by commas "
                        "included). Enter the carrier's tracking numbers only.",
                        delivery=picking.display_name,
                        length=len(reference),
                        limit=TRACKING_REF_MAX,
                    )
                )

    @api.model
    def _writeback_unverified_before(self):
        """A shipment the marketplace accepted before this moment and that is
        still not verified needs attention: the verify window has passed
        (the marketplace's own pace of showing confirmations is not)."""
        window = self.env["ecommerce.account"]._writeback_policy().verify_window
        return fields.Datetime.now() - datetime.timedelta(seconds=window)

    @api.model
    def _search_writeback_needs_attention(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            return NotImplemented
        domain = (
            Domain("writeback_state", "in", [State.FAILED.value, State.DISAGREES.value])
            | (
                Domain("writeback_state", "=", State.PENDING.value)
                & (
                    (
                        Domain("writeback_error", "!=", False)
                        & Domain("writeback_next_attempt", "=", False)
                    )
                    | Domain("ecommerce_account_id.auth_error", "!=", False)
                )
            )
            | (
                Domain("writeback_state", "=", State.SUBMITTED.value)
                & Domain(
                    "writeback_submitted_date", "<", self._writeback_unverified_before()
                )
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
        return user_datetime(self, moment)

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
            self._writeback_grid_groupable(result)
        return result

    @api.model
    def _writeback_grid_groupable(self, descriptions):
        for name, description in descriptions.items():
            if "groupable" in description and name not in GRID_GROUPABLE:
                description["groupable"] = False

    @api.model
    def get_views(self, views, options=None):
        """The browser loads the grid's fields with get_views, whose context
        keeps only the language: the grid is known by its search view, and
        Custom Group then offers only GRID_GROUPABLE (not the lease, the
        sort keys, the throttle count...)."""
        result = super().get_views(views, options=options)
        search = result.get("views", {}).get("search") or {}
        grid_search = self.env.ref(
            "stock_ecommerce_writeback.view_writeback_search", raise_if_not_found=False
        )
        if grid_search and search.get("id") == grid_search.id:
            self._writeback_grid_groupable(result["models"][self._name]["fields"])
        return result

    @api.model
    def get_empty_list_help(self, help_message):
        """The write-back grid's own words when it lists nothing (not
        stock's "No transfer found. Let's create one!")."""
        if not self.env.context.get("writeback_grid"):
            return super().get_empty_list_help(help_message)
        return Markup(
            '<p class="o_view_nocontent_smiling_face o_writeback_nothing">%s</p>'
            "<p>%s</p>"
        ) % (
            self.env._("Nothing needs attention"),
            self.env._(
                "No write-back failed or waits for a fix. Remove the filter to "
                "see every write-back: deliveries of marketplace orders show up "
                "here once validated."
            ),
        )

    def _mail_track(self, tracked_fields, initial_values):
        """The chatter hears *Success*, *Failed* and a person's closing, not
        the bookkeeping states (None → Pending, Failed → Pending on a
        retry, Sending, Submitted): see README, Changelog."""
        updated, tracking_values = super()._mail_track(tracked_fields, initial_values)
        if "writeback_state" in updated and self.writeback_state in QUIET_STATES:
            field_id = (
                self.env["ir.model.fields"]._get(self._name, "writeback_state").id
            )
            updated = updated - {"writeback_state"}
            tracking_values = [
                command
                for command in tracking_values
                if command[2].get("field_id") != field_id
            ]
        return updated, tracking_values

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
        readback = vals.get("ecommerce_readback")
        watched = {"carrier_tracking_ref", "carrier_id"} & set(vals)
        if not watched or self.env.context.get("writeback_engine"):
            res = super().write(vals)
        else:
            before = {
                picking.id: (picking._writeback_tracking_numbers(), picking.carrier_id)
                for picking in self
                if picking.writeback_state in REQUEUE_STATES
            }
            res = super().write(vals)
            for picking in self.filtered(lambda p: p.id in before):
                picking._writeback_requeue_if_changed(*before[picking.id])
        if isinstance(readback, dict) and readback.get("marketplace_id"):
            # The marketplace said which of its stores the order belongs to.
            self._writeback_note_marketplace(readback)
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

    # ------------------------------------------------------------------
    # Engine glue (the engine itself: ecommerce.writeback.engine)
    # ------------------------------------------------------------------
    def _writeback_claim_key(self):
        """What identifies the current claim of this delivery: an outcome
        is applied only to the claim it was decided for."""
        self.ensure_one()
        return (self.writeback_attempt_count, self.writeback_last_attempt)

    def _writeback_post_outcome(self, decision):
        marketplace = self.ecommerce_account_id.display_name
        if decision.state == State.SUCCESS and decision.outside:
            self.message_post(
                body=Markup("<p>%s</p><p>%s</p>")
                % (
                    self.env._(
                        "Shipment confirmed outside Odoo: %(marketplace)s already "
                        "showed order %(order)s shipped with tracking number "
                        "%(tracking)s, exactly what this delivery shipped. Nothing "
                        "was sent again.",
                        marketplace=marketplace,
                        order=self.ecommerce_order_ref,
                        tracking=self.writeback_sent_tracking,
                    ),
                    decision.error,
                )
            )
        elif decision.state == State.DISAGREES:
            self.message_post(body=Markup("<p>%s</p>") % decision.error)
            if decision.notify:
                self._writeback_schedule_activity(decision.error)
        elif decision.state == State.SUCCESS:
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

    @staticmethod
    def _writeback_named(pickings):
        """ "WH/OUT/00012 (order 114-…), …": deliveries by delivery and
        order, at most MAX_NAMED_PER_REASON, then how many more."""
        env = pickings.env
        names = [
            env._(
                "%(delivery)s (order %(order)s)",
                delivery=p.name,
                order=p.ecommerce_order_ref,
            )
            if p.ecommerce_order_ref
            else p.name
            for p in pickings[:MAX_NAMED_PER_REASON]
        ]
        if len(pickings) > MAX_NAMED_PER_REASON:
            names.append(env._("and %s more", len(pickings) - MAX_NAMED_PER_REASON))
        return ", ".join(names)

    def _writeback_summary(self, title, done, refused, done_label=None):
        """The answer to an action on several write-backs: a short list, one
        line per outcome with its count and the deliveries named by delivery
        and order (then the grid reloads). ``refused`` is ``[(picking,
        reason)]``, grouped by reason. Nothing done at all is an error that
        lists the reasons."""
        groups = {}
        for picking, reason in refused:
            groups.setdefault(reason, self.browse())
            groups[reason] |= picking
        if not done:
            raise UserError(
                "\n".join(
                    [title]
                    + [
                        f"- {len(p)} × {reason} {self._writeback_named(p)}"
                        for reason, p in groups.items()
                    ]
                )
            )
        if len(self) == 1:
            return True
        items = [
            (
                "o_writeback_bulk_done",
                self.env._(
                    "%(count)s %(done)s",
                    count=len(done),
                    done=done_label or self.env._("done"),
                ),
                self._writeback_named(done),
            )
        ]
        items += [
            (
                "o_writeback_bulk_refused",
                self.env._(
                    "%(count)s refused: %(reason)s", count=len(pickings), reason=reason
                ),
                self._writeback_named(pickings),
            )
            for reason, pickings in groups.items()
        ]
        html = Markup('<ul class="o_writeback_bulk_result mb-0 ps-3">%s</ul>') % Markup(
            ""
        ).join(
            Markup('<li class="%s"><b>%s</b><br/><span class="small">%s</span></li>')
            % item
            for item in items
        )
        return {
            "type": "ir.actions.client",
            "tag": "stock_ecommerce_writeback.bulk_result",
            "params": {
                "title": self.env._(
                    "%(action)s: %(done)s of %(total)s done",
                    action=title,
                    done=len(done),
                    total=len(self),
                ),
                "html": html,
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
        if self.writeback_state != State.SUBMITTED:
            problem = self._writeback_problem()
            if problem:  # retrying as it is would send nothing
                return self.env._(
                    "nothing can be sent until the delivery is corrected (%s); "
                    "it is sent as soon as it is.",
                    problem.rstrip(". "),
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
            # A failed write-back, or one whose attempts are used up, gets a
            # fresh set: the count never exceeds the account's maximum.
            picking._writeback_queue(
                keep_attempts=picking.writeback_state != State.FAILED
                and picking.writeback_attempt_count
                < picking.ecommerce_account_id.max_attempts
            )
            picking.message_post(
                body=self.env._("Write-back retry requested by %s.", self.env.user.name)
            )
            done |= picking
        if not done and len(self) == 1:
            if self.writeback_issue == ISSUE_CANCELLED or (
                self.writeback_state != State.SUBMITTED and self._writeback_problem()
            ):
                reason = refused[0][1]
                raise UserError(reason[:1].upper() + reason[1:])
            raise UserError(
                self.env._(
                    "Only pending, submitted or failed write-backs can be retried."
                )
            )
        return self._writeback_summary(
            self.env._("Retry now"), done, refused, self.env._("queued to send again")
        )

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
                # No date in the sentence: the chatter dates each entry in
                # the reader's time zone.
                body = self.env._(
                    "Marked as handled by %(user)s: the order is cancelled on "
                    "%(marketplace)s, nothing is sent.",
                    marketplace=picking.ecommerce_account_id.display_name,
                    user=self.env.user.name,
                )
            else:
                body = self.env._(
                    "Marked as manually confirmed on %(marketplace)s by %(user)s.",
                    marketplace=picking.ecommerce_account_id.display_name,
                    user=self.env.user.name,
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
            self.env._("Mark as manually confirmed"),
            done,
            refused,
            self.env._("marked as manually confirmed"),
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
        now = fields.Datetime.now()
        for picking in todo:
            Writeback(picking, now).set_cancelled(self.env.uid).store(track=True)
            picking.activity_unlink(["mail.mail_activity_data_todo"])
            picking.message_post(
                body=self.env._(
                    "Marked as handled by %(user)s: the order is cancelled on "
                    "%(marketplace)s, nothing is sent.",
                    marketplace=picking.ecommerce_account_id.display_name,
                    user=self.env.user.name,
                )
            )
        return self._writeback_summary(
            self.env._("Mark as handled"),
            todo,
            refused,
            self.env._("closed as handled"),
        )

    def action_writeback_keep_marketplace(self):
        """The marketplace shows the order shipped under another tracking
        number, and that is right: the write-back is closed with what the
        marketplace holds."""
        self._writeback_check_accountant()
        todo = self.filtered(lambda p: p.writeback_issue == ISSUE_OTHER_TRACKING)
        refused = [
            (
                picking,
                self.env._(
                    "only write-backs the marketplace shows under another "
                    "tracking number are kept so."
                ),
            )
            for picking in self - todo
        ]
        now = fields.Datetime.now()
        for picking in todo:
            held = ", ".join(
                f"{p.get('carrier') or '?'} {p.get('tracking_number')}"
                for p in (picking.ecommerce_readback or {}).get("packages") or []
                if p.get("tracking_number")
            )
            Writeback(picking, now).set_manual("kept", self.env.uid).store(track=True)
            picking.activity_unlink(["mail.mail_activity_data_todo"])
            picking.message_post(
                body=self.env._(
                    "%(user)s kept what %(marketplace)s holds for order %(order)s "
                    "(%(held)s); this delivery's tracking number is not sent.",
                    user=self.env.user.name,
                    marketplace=picking.ecommerce_account_id.display_name,
                    order=picking.ecommerce_order_ref,
                    held=held or "-",
                )
            )
        return self._writeback_summary(
            self.env._("Keep the marketplace's"),
            todo,
            refused,
            self.env._("closed with what the marketplace holds"),
        )

    @api.depends("writeback_issue", "writeback_error")
    def _compute_writeback_fixable(self):
        for picking in self:
            picking.writeback_fixable = picking.writeback_issue == ISSUE_FIX or (
                picking.writeback_issue == ISSUE_FAILED
                and bool(DATA_REFUSED_RE.search(picking.writeback_error or ""))
                and "gave up after" not in (picking.writeback_error or "")
            )

    @api.depends("ecommerce_account_id")
    def _compute_writeback_adds_packages(self):
        for picking in self:
            picking.writeback_adds_packages = bool(
                picking.ecommerce_account_id and picking._writeback_adds_packages()
            )

    def _writeback_adds_packages(self):
        """The account's API adds a package to an order already shipped
        (eBay Trading CompleteSale adds tracking details; Amazon and eBay
        Sell Fulfillment refuse quantities already shipped)."""
        self.ensure_one()
        return self.ecommerce_account_id._writeback_apis()[0] == API_EBAY_TRADING

    def action_writeback_send_ours_too(self):
        """The marketplace shows the order shipped under another tracking
        number, and ours shipped too: send ours as an added package, where
        the API allows it."""
        self._writeback_check_accountant()
        todo = self.filtered(
            lambda p: (
                p.writeback_issue == ISSUE_OTHER_TRACKING
                and p._writeback_adds_packages()
            )
        )
        refused = [
            (
                picking,
                self.env._(
                    "%s does not add a package to an order already shipped: "
                    "keep the marketplace's, or correct it there.",
                    picking.ecommerce_account_id.display_name,
                )
                if picking.writeback_issue == ISSUE_OTHER_TRACKING
                else self.env._(
                    "only write-backs the marketplace shows under another "
                    "tracking number are sent so."
                ),
            )
            for picking in self - todo
        ]
        for picking in todo:
            picking._writeback_queue(keep_attempts=True)
            picking.message_post(
                body=self.env._(
                    "%s asked to send this delivery's tracking number as a "
                    "package of its own.",
                    self.env.user.name,
                )
            )
        return self._writeback_summary(
            self.env._("Send ours too"),
            todo,
            refused,
            self.env._("queued to send"),
        )

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
