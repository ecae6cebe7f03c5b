# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..marketplaces import amazon, errors, platforms, policy
from ..marketplaces.policy import State
from ..marketplaces.urls import check_endpoint_url
from .ecommerce_api_call import API_SELECTION
from .formatting import user_datetime

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "stock_ecommerce_writeback.group_writeback_manager"

CREDENTIAL_FIELDS = platforms.CREDENTIAL_FIELDS
# Changing any of these may cure an authentication failure: retry at once.
CONNECTION_FIELDS = CREDENTIAL_FIELDS + (
    "api_base_url",
    "auth_url",
    "environment",
    "amazon_region",
    "amazon_marketplace_id",
    "ebay_site_id",
    "ebay_api",
    "active",
)

# ir.config_parameter keys overriding RetryPolicy timings (seconds).
POLICY_PARAMS = (
    "base_delay",
    "max_delay",
    "rate_limit_delay",
    "auth_retry_delay",
    "verify_delay",
    "verify_interval",
    "verify_window",
)


class EcommerceAccount(models.Model):
    _name = "ecommerce.account"
    _description = "Marketplace Account"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    platform = fields.Selection(platforms.SELECTION, required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        default=lambda self: self.env.company,
        index=True,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        tracking=True,
        help="Gets an activity when a shipment cannot be written back.",
    )
    environment = fields.Selection(
        [("production", "Production"), ("sandbox", "Sandbox")],
        default="production",
        required=True,
        tracking=True,
    )
    api_base_url = fields.Char(
        string="API Host Override",
        groups=MANAGER_GROUP,
        help="Technical: base URL of the marketplace API, e.g. a sandbox. "
        "Empty = the official host for platform, region and environment. "
        "https is required unless the host is this machine (loopback).",
    )
    auth_url = fields.Char(
        string="Token Endpoint Override",
        groups=MANAGER_GROUP,
        help="Technical: URL of the OAuth/LWA token endpoint. Empty = official.",
    )
    max_attempts = fields.Integer(
        default=5,
        required=True,
        help="Counted attempts before a shipment is marked Failed.",
    )
    timeout = fields.Integer(
        string="Timeout (s)",
        default=30,
        required=True,
        help="Seconds to wait for the marketplace's answer to one call.",
    )
    # Amazon
    amazon_region = fields.Selection(
        [("na", "North America"), ("eu", "Europe"), ("fe", "Far East")],
        compute="_compute_amazon_region",
        store=True,
        help="The SP-API region serving the marketplace: it follows the "
        "Marketplace ID, so an account never calls another region's endpoint.",
    )
    amazon_marketplace_id = fields.Char(
        string="Marketplace ID",
        help="e.g. ATVPDKIKX0DER (amazon.com), A1PA6795UKMFR9 (amazon.de).",
    )
    amazon_seller_id = fields.Char(string="Seller ID")
    lwa_client_id = fields.Char(string="LWA Client ID", groups=MANAGER_GROUP)
    lwa_client_secret = fields.Char(string="LWA Client Secret", groups=MANAGER_GROUP)
    lwa_refresh_token = fields.Char(string="LWA Refresh Token", groups=MANAGER_GROUP)
    # eBay
    ebay_site_id = fields.Integer(string="eBay Site ID", default=0)
    ebay_api = fields.Selection(
        [
            ("trading", "Trading API (CompleteSale)"),
            ("fulfillment", "Sell Fulfillment API"),
        ],
        string="eBay Write-back API",
        default="trading",
        help="Trading API: CompleteSale per order or line. Sell Fulfillment: one "
        "shipping fulfillment per package, for OAuth-only accounts and split "
        "shipments.",
    )
    ebay_client_id = fields.Char(string="eBay App ID (Client ID)", groups=MANAGER_GROUP)
    ebay_client_secret = fields.Char(
        string="eBay Cert ID (Client Secret)", groups=MANAGER_GROUP
    )
    ebay_dev_id = fields.Char(string="eBay Dev ID", groups=MANAGER_GROUP)
    ebay_refresh_token = fields.Char(string="eBay Refresh Token", groups=MANAGER_GROUP)
    # Connection health set by the engine
    auth_error = fields.Char(
        string="Authentication Problem",
        readonly=True,
        copy=False,
        tracking=True,
        help="Set when the marketplace rejected the credentials; shipments of this "
        "account wait until the credentials are fixed.",
    )
    auth_error_date = fields.Datetime(readonly=True, copy=False)
    # The client's rate-limit buckets as the last push left them
    # ({operation: [tokens, epoch seconds]}), for the next push, maybe in
    # another process (see _marketplace_client and
    # ecommerce.writeback.engine._save_pacing).
    writeback_pacing_state = fields.Json(copy=False, readonly=True)
    auth_error_api = fields.Selection(
        API_SELECTION,
        string="Failing API",
        readonly=True,
        copy=False,
        help="The API whose credentials were rejected: only a success of that "
        "API clears the problem.",
    )
    picking_ids = fields.One2many("stock.picking", "ecommerce_account_id")
    api_status_ids = fields.One2many(
        "ecommerce.api.status", "account_id", string="API Status"
    )
    writeback_pending_count = fields.Integer(compute="_compute_writeback_counts")
    writeback_failed_count = fields.Integer(compute="_compute_writeback_counts")
    writeback_success_today_count = fields.Integer(
        string="Confirmed Today", compute="_compute_writeback_counts"
    )
    status_checked_on = fields.Datetime(
        string="Last Checked",
        compute="_compute_status_checked_on",
        help="When the API statuses of this account were last computed.",
    )
    connection_test_result = fields.Text(
        string="Connection Test", readonly=True, copy=False
    )
    connection_test_ok = fields.Boolean(readonly=True, copy=False)

    _max_attempts_positive = models.Constraint(
        "CHECK(max_attempts > 0)", "Max attempts must be at least 1."
    )
    _timeout_positive = models.Constraint(
        "CHECK(timeout > 0)", "The timeout must be at least 1 second."
    )

    @api.depends("api_status_ids.checked_on")
    def _compute_status_checked_on(self):
        for account in self:
            dates = [d for d in account.api_status_ids.mapped("checked_on") if d]
            account.status_checked_on = max(dates) if dates else False

    @api.depends("picking_ids.writeback_state")
    def _compute_writeback_counts(self):
        groups = self.env["stock.picking"]._read_group(
            [("ecommerce_account_id", "in", self.ids)],
            ["ecommerce_account_id", "writeback_state"],
            ["__count"],
        )
        counts = {(acc.id, state): n for acc, state, n in groups}
        for account in self:
            account.writeback_pending_count = sum(
                counts.get((account.id, s), 0) for s in policy.OPEN_STATES
            )
            account.writeback_failed_count = counts.get(
                (account.id, State.FAILED.value), 0
            )
        tz_today = fields.Datetime.context_timestamp(self, fields.Datetime.now())
        midnight = tz_today.replace(hour=0, minute=0, second=0, microsecond=0)
        midnight_utc = midnight.astimezone(datetime.UTC).replace(tzinfo=None)
        done_today = dict(
            self.env["stock.picking"]._read_group(
                [
                    ("ecommerce_account_id", "in", self.ids),
                    ("writeback_state", "=", State.SUCCESS.value),
                    ("writeback_done_date", ">=", midnight_utc),
                ],
                ["ecommerce_account_id"],
                ["__count"],
            )
        )
        for account in self:
            account.writeback_success_today_count = done_today.get(account, 0)

    @api.constrains("api_base_url", "auth_url", "environment")
    def _check_endpoint_urls(self):
        for account in self.sudo():
            for fname in ("api_base_url", "auth_url"):
                url = account[fname]
                if not url:
                    continue
                try:
                    check_endpoint_url(
                        url, allow_http_loopback=account.environment == "sandbox"
                    )
                except ValueError as exc:
                    raise ValidationError(
                        self.env._(
                            "%(field)s of %(account)s: %(reason)s",
                            field=account._fields[fname].string,
                            account=account.display_name,
                            reason=str(exc),
                        )
                    ) from None

    @api.depends("amazon_marketplace_id")
    def _compute_amazon_region(self):
        for account in self:
            account.amazon_region = platforms.region_of(account.amazon_marketplace_id)

    def _platform(self):
        """This account's entry of the platform registry (an unknown platform
        raises: it is never taken for another one)."""
        self.ensure_one()
        return platforms.get(self.platform)

    @api.constrains("platform", "amazon_marketplace_id", "active")
    def _check_platform_fields(self):
        for account in self.filtered("active"):
            for fname, example in account._platform().required_fields:
                if not (account[fname] or "").strip():
                    raise ValidationError(
                        self.env._(
                            "%(platform)s account %(account)s needs its %(field)s "
                            "(e.g. %(example)s).",
                            platform=account._platform().label,
                            account=account.display_name,
                            field=account._fields[fname].string,
                            example=example,
                        )
                    )
        for account in self:
            marketplace = (account.amazon_marketplace_id or "").strip()
            if marketplace and marketplace not in amazon.MARKETPLACE_REGIONS:
                raise ValidationError(
                    self.env._(
                        "%(id)s is not a marketplace id Amazon documents (account "
                        "%(account)s): use the id of the store, e.g. "
                        "ATVPDKIKX0DER for amazon.com or A1PA6795UKMFR9 for "
                        "amazon.de.",
                        id=marketplace,
                        account=account.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        accounts = super().create(vals_list)
        self.env["ecommerce.api.status"].sudo()._ensure_rows(accounts)
        return accounts

    def write(self, vals):
        if "writeback_pacing_state" in vals and not self.env.su:
            # The engine's bookkeeping (it writes it in SQL): a client
            # restored from a made-up state would pause as told.
            raise AccessError(
                self.env._("The rate-limit state of an account is not editable.")
            )
        res = super().write(vals)
        if {"platform", *platforms.API_CHOICE_FIELDS} & set(vals):
            self.env["ecommerce.api.status"].sudo()._ensure_rows(self)
        if set(vals) & set(CONNECTION_FIELDS):
            self._writeback_reset_auth()
        return res

    def _writeback_reset_auth(self):
        """Credentials changed: forget the authentication problem and let the
        waiting shipments go at once."""
        flagged = self.filtered("auth_error")
        if flagged:
            flagged.write(
                {"auth_error": False, "auth_error_date": False, "auth_error_api": False}
            )
        waiting = self.env["stock.picking"].search(
            [
                ("ecommerce_account_id", "in", self.ids),
                ("writeback_state", "=", State.PENDING.value),
                ("writeback_next_attempt", "!=", False),
            ]
        )
        if waiting:
            waiting.write({"writeback_next_attempt": fields.Datetime.now()})
            self.env["stock.picking"]._writeback_trigger_push()

    def _writeback_flag_auth(self, message, api=None):
        """The marketplace rejected the credentials of ``api`` (a
        marketplaces.base API key) even after a token refresh: flag the
        account (the engine holds its shipments back)."""
        self.ensure_one()
        now = fields.Datetime.now()
        self.write(
            {"auth_error": message, "auth_error_date": now, "auth_error_api": api}
        )

    def _writeback_clear_auth(self, api):
        """A call to ``api`` succeeded: clear an authentication problem of
        that API (not one of another API of the account)."""
        self.ensure_one()
        if self.auth_error and self.auth_error_api in (api, False):
            self.write(
                {"auth_error": False, "auth_error_date": False, "auth_error_api": False}
            )

    def _status_api_keys(self):
        """The APIs this account calls (one API Status row each, probed by
        the status cron and by Test connection): on eBay, the write-back API
        it uses, not the other one."""
        self.ensure_one()
        return self._platform().account_api_keys(self)

    def _writeback_api(self):
        """The registry's :class:`~..marketplaces.platforms.WritebackApi`
        this account writes back with (its API keys, client, line-id field
        and tracking normaliser)."""
        self.ensure_one()
        return self._platform().writeback_api(self)

    def _writeback_apis(self):
        """(write-back API key, read-back API key) of this account."""
        api = self._writeback_api()
        return (api.key, api.read_key)

    # ------------------------------------------------------------------
    # Engine glue
    # ------------------------------------------------------------------
    def _writeback_policy(self):
        """The retry policy for this account (max attempts from the account,
        timings from system parameters ``stock_ecommerce_writeback.<knob>``,
        the same for every account); on no account, the timings alone."""
        attempts = {}
        if self:
            self.ensure_one()
            attempts["max_attempts"] = self.max_attempts
        return policy.RetryPolicy(**attempts, **self._writeback_policy_params())

    @api.model
    def _writeback_policy_params(self):
        """The policy timings set by system parameters (the same for every
        account)."""
        params = self.env["ir.config_parameter"].sudo()
        overrides = {}
        for knob in POLICY_PARAMS:
            raw = params.get_param(f"stock_ecommerce_writeback.{knob}")
            if raw:
                try:
                    overrides[knob] = int(raw)
                except ValueError:
                    _logger.warning("Ignoring non-integer parameter %s=%r", knob, raw)
        return overrides

    def _marketplace_client(self, on_call, kind="writeback"):
        """A client for this account; ``on_call`` receives one CallRecord per
        HTTP call. ``kind``: "writeback" (the API this account confirms
        shipments and reads orders back with), "products" (Amazon Catalog
        Items), or one of the marketplaces.base API keys (status probes)."""
        self.ensure_one()
        account = self.sudo()
        common = {
            "environment": account.environment,
            "api_base_url": account.api_base_url or None,
            "auth_url": account.auth_url or None,
            "timeout": (min(10, account.timeout), account.timeout),
            "on_call": on_call,
            # Plain http only to this machine, and only for sandbox accounts.
            "allow_http_loopback": account.environment == "sandbox",
        }
        if kind == "products":
            kind = account._platform().catalog_api
        client = account._platform().client_for(account, kind, **common)
        if hasattr(client, "search_scope"):
            # its search cursor goes with the read-backs this database keeps
            client.search_scope = self.env.cr.dbname
        if account.writeback_pacing_state:
            # Take over the rate-limit buckets the last run for this seller
            # left, maybe in another worker or on another machine (the
            # client paces in memory): a read-back or a queue job that runs
            # on another worker than the last one does not start from a
            # full burst the marketplace no longer has.
            client.restore_pacing_state(account.writeback_pacing_state)
        return client

    def _probe_api(self, api, on_call):
        """One cheap read-only call to ``api`` for its health status: a
        token exchange for Amazon, a one-row order read for eBay (not
        GeteBayOfficialTime, which eBay decommissioned)."""
        self.ensure_one()
        client = self._marketplace_client(on_call, kind=api)
        client.probe(api)

    def _order_url(self, order_ref, marketplace_id=None):
        """Where the seller sees this order on the marketplace: for Amazon,
        the Seller Central of the marketplace the order was placed on
        (``marketplace_id``), else of the account's."""
        self.ensure_one()
        if not order_ref:
            return False
        return self._platform().order_url(self, order_ref, marketplace_id or None)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_open_writebacks(self, filter_name=None):
        """The account's write-backs: the same set as the Write-backs menu
        (validated marketplace deliveries), of this account only."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "stock_ecommerce_writeback.action_writeback_grid"
        )
        action["domain"] = [
            ("writeback_state", "!=", False),
            ("ecommerce_account_id", "=", self.id),
        ]
        action["context"] = {"create": False, "writeback_grid": True}
        if filter_name:
            action["context"][f"search_default_{filter_name}"] = 1
        action["display_name"] = self.env._("Write-backs of %s", self.display_name)
        return action

    def action_open_writebacks_in_progress(self):
        return self.action_open_writebacks("filter_pending")

    def action_open_writebacks_failed(self):
        return self.action_open_writebacks("filter_failed")

    def action_open_writebacks_success_today(self):
        return self.action_open_writebacks("filter_success_today")

    def action_test_connection(self):
        """Run the status cron's probe on every API of this account now and
        show each API's result on the form (and in its API Status). Only
        write-back administrators may (it uses the credentials)."""
        self.ensure_one()
        if not self.env.su and not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._(
                    "Only write-back administrators (eCommerce Write-back / "
                    "Administrator) test a marketplace connection."
                )
            )
        Status = self.env["ecommerce.api.status"].sudo()
        Status._ensure_rows(self)
        labels = dict(self.env["ecommerce.api.call"]._fields["api"].selection)
        results = []
        for api_key in self._status_api_keys():
            journal = []
            try:
                self._probe_api(api_key, journal.append)
            except errors.MarketplaceError as exc:
                results.append((api_key, False, str(exc)))
            except Exception as exc:
                _logger.exception(
                    "Test connection of %s %s", self.display_name, api_key
                )
                results.append((api_key, False, str(exc) or exc.__class__.__name__))
            else:
                results.append((api_key, True, self.env._("Connected")))
            self.env["ecommerce.api.call"].sudo()._record(self, journal)
        Status.search([("account_id", "=", self.id)])._recompute()
        lines = [
            f"{'✔' if ok else '✘'} {labels.get(api_key, api_key)}: {text}"
            for api_key, ok, text in results
        ]
        self.connection_test_result = "\n".join(
            [
                self.env._("Tested at %s", user_datetime(self, fields.Datetime.now())),
                *lines,
            ]
        )
        self.connection_test_ok = all(ok for _api, ok, _text in results)
        return True
