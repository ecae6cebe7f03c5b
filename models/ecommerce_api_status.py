# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime
import logging
from collections import defaultdict

from odoo import api as odoo_api
from odoo import fields, models

from ..marketplaces import errors, health
from .ecommerce_api_call import API_SELECTION

_logger = logging.getLogger(__name__)

STATE_SELECTION = [
    (health.GREEN, "Green"),
    (health.YELLOW, "Yellow"),
    (health.RED, "Red"),
    (health.NONE, "None"),
]
# Kanban/tag colour indexes of Odoo's palette.
STATE_COLORS = {health.GREEN: 10, health.YELLOW: 3, health.RED: 1, health.NONE: 0}
# ir.config_parameter stock_ecommerce_writeback.health_<name> overrides.
THRESHOLD_PARAMS = {
    f.name: f.type for f in health.Thresholds.__dataclass_fields__.values()
}
JOURNAL_RETENTION_DAYS = 90


class EcommerceApiStatus(models.Model):
    """Health of one API of one marketplace account (the seed's Connection
    Status panel), recomputed from the call journal by the status cron."""

    _name = "ecommerce.api.status"
    _description = "Marketplace API Status"
    _order = "account_id, sequence, id"

    account_id = fields.Many2one(
        "ecommerce.account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    platform = fields.Selection(related="account_id.platform")
    api = fields.Selection(API_SELECTION, string="API", required=True)
    sequence = fields.Integer(default=10)
    state = fields.Selection(STATE_SELECTION, default=health.NONE, required=True)
    color = fields.Integer(compute="_compute_color")
    message = fields.Char()
    checked_on = fields.Datetime()
    last_success = fields.Datetime()
    last_error = fields.Datetime()
    last_error_message = fields.Char()
    call_count = fields.Integer(string="Calls (window)")
    error_count = fields.Integer(string="Errors (window)")
    throttled_count = fields.Integer(string="Throttled (window)")
    avg_latency_ms = fields.Integer(string="Average Latency (ms)")
    access_token_expiry = fields.Datetime(string="Access Token Expires")
    refresh_token_expiry = fields.Datetime(string="Refresh Token Expires")
    rate_limit = fields.Float(
        string="Rate Limit (req/s)",
        help="x-amzn-RateLimit-Limit of the last answer that carried it: the "
        "sustained rate Amazon grants this seller for the operation.",
    )

    rate_headroom = fields.Float(
        string="Rate-limit Headroom (%)",
        help="Share of the rate limit left unused over the current window "
        "(Amazon only, when it sent x-amzn-RateLimit-Limit).",
    )

    _account_api_unique = models.UniqueIndex(
        "(account_id, api)", "An account has one status per API."
    )

    @odoo_api.depends("state")
    def _compute_color(self):
        for status in self:
            status.color = STATE_COLORS.get(status.state, 0)

    @odoo_api.depends("api", "state")
    def _compute_display_name(self):
        apis = dict(API_SELECTION)
        states = dict(STATE_SELECTION)
        for status in self:
            name = apis.get(status.api, "").split(" ", 1)[-1]
            status.display_name = f"{name}: {states.get(status.state, '')}"

    # ------------------------------------------------------------------
    @odoo_api.model
    def _ensure_rows(self, accounts):
        """One status row per API of each account's platform."""
        existing = {
            (s.account_id.id, s.api)
            for s in self.search([("account_id", "in", accounts.ids)])
        }
        vals = [
            {"account_id": account.id, "api": api, "sequence": seq}
            for account in accounts
            for seq, api in enumerate(account._status_api_keys())
            if (account.id, api) not in existing
        ]
        stale = self.search([("account_id", "in", accounts.ids)]).filtered(
            lambda s: s.api not in s.account_id._status_api_keys()
        )
        stale.unlink()
        return self.create(vals)

    @odoo_api.model
    def _thresholds(self):
        params = self.env["ir.config_parameter"].sudo()
        values = {}
        for name, kind in THRESHOLD_PARAMS.items():
            raw = params.get_param(f"stock_ecommerce_writeback.health_{name}")
            if raw:
                try:
                    values[name] = (float if kind in (float, "float") else int)(raw)
                except ValueError:
                    _logger.warning(
                        "Ignoring non-numeric health parameter %s=%r", name, raw
                    )
        return health.Thresholds(**values)

    @odoo_api.model
    def _cron_refresh(self, probe=True):
        """Status cron: probe APIs that have been idle, then recompute every
        status from the journal, then drop journal rows past retention.
        One account's failure never stops the others."""
        accounts = self.env["ecommerce.account"].search([("active", "=", True)])
        self._ensure_rows(accounts)
        if probe:
            self._probe_idle(accounts)
        self.search([("account_id", "in", accounts.ids)])._recompute()
        self.env["ecommerce.api.call"]._gc_journal(JOURNAL_RETENTION_DAYS)
        return True

    @odoo_api.model
    def action_refresh_now(self):
        """The Update button: recompute every status from the journal now
        (no marketplace call in the user's request) and run the status cron
        (which probes idle APIs) as soon as possible. Returns what changed,
        one line per status ("Amazon US: Writeback API Red → Green")."""
        accounts = self.env["ecommerce.account"].search([("active", "=", True)])
        self.sudo()._ensure_rows(accounts)
        statuses = self.sudo().search([("account_id", "in", accounts.ids)])
        before = {status.id: status.state for status in statuses}
        statuses._recompute()
        self.env.ref(
            "stock_ecommerce_writeback.ir_cron_api_status_refresh"
        ).sudo()._trigger()
        states = dict(self._fields["state"]._description_selection(self.env))
        apis = dict(self._fields["api"]._description_selection(self.env))
        return [
            self.env._(
                "%(account)s: %(api)s %(old)s → %(new)s",
                account=status.account_id.display_name,
                api=status._short_api_label(apis),
                old=states.get(before.get(status.id), before.get(status.id)),
                new=states.get(status.state, status.state),
            )
            for status in statuses
            if before.get(status.id) != status.state
        ]

    def _short_api_label(self, apis):
        """ "Writeback API" for "Amazon Writeback API": the card names the
        account, hence the platform."""
        self.ensure_one()
        label = apis.get(self.api, self.api or "")
        platform = self.account_id._platform().label
        return label.removeprefix(f"{platform} ") if platform else label

    @odoo_api.model
    def get_refresh_seconds(self):
        """How often Connection Status reloads its cards while open (system
        parameter stock_ecommerce_writeback.status_refresh_seconds, default
        30; 0 turns it off)."""
        raw = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("stock_ecommerce_writeback.status_refresh_seconds", "30")
        )
        try:
            return max(int(raw), 0)
        except ValueError:
            return 30

    @odoo_api.model
    def _probe_idle(self, accounts):
        """One cheap read-only call per API that had no call recently, so
        the status says something about now. Committed per account."""
        thresholds = self._thresholds()
        since = fields.Datetime.now() - datetime.timedelta(
            minutes=thresholds.idle_minutes
        )
        recent = {
            (account.id, api)
            for account, api in self.env["ecommerce.api.call"]._read_group(
                [("account_id", "in", accounts.ids), ("call_date", ">=", since)],
                ["account_id", "api"],
            )
        }
        for account in accounts:
            idle = [
                a for a in account._status_api_keys() if (account.id, a) not in recent
            ]
            if not idle:
                continue
            journal = []
            for api in idle:
                try:
                    account._probe_api(api, journal.append)
                except errors.MarketplaceError as exc:
                    _logger.info("Probe of %s %s: %s", account.display_name, api, exc)
                except Exception:
                    _logger.exception(
                        "Probe of %s %s failed", account.display_name, api
                    )
            self.env["ecommerce.api.call"]._record(account, journal)
            self.env["ir.cron"]._commit_progress(len(idle))

    def _recompute(self):
        """Recompute these statuses from the journal. Every query is bounded
        in time or by an index limit, so the cost does not grow with the
        journal: window figures come from the window; last success / error,
        token expiry and rate limit are carried forward from the previous
        check and updated from the calls since then."""
        if not self:
            return
        thresholds = self._thresholds()
        now = fields.Datetime.now()
        window_start = now - datetime.timedelta(minutes=thresholds.window_minutes)
        checked = [s.checked_on for s in self if s.checked_on]
        since = min(
            [window_start]
            + ([min(checked) - datetime.timedelta(minutes=5)] if checked else [])
        )
        if len(checked) < len(self):  # never checked: look back over the journal
            since = now - datetime.timedelta(days=JOURNAL_RETENTION_DAYS)
        Call = self.env["ecommerce.api.call"].sudo()
        domain = [("account_id", "in", self.account_id.ids)]
        # (account, api) -> outcome -> [calls, total ms], over the window
        window = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        for account, api, outcome, count, duration in Call._read_group(
            domain + [("call_date", ">=", window_start)],
            ["account_id", "api", "outcome"],
            ["__count", "duration_ms:sum"],
        ):
            window[(account.id, api)][outcome] = [count, duration or 0]
        latest = {
            (account.id, api, outcome): last
            for account, api, outcome, last in Call._read_group(
                domain + [("call_date", ">=", since)],
                ["account_id", "api", "outcome"],
                ["call_date:max"],
            )
        }
        tokens = {
            account.id: (access, refresh)
            for account, access, refresh in Call._read_group(
                domain
                + [
                    ("call_date", ">=", since),
                    ("operation", "=", "token"),
                    ("outcome", "=", "success"),
                ],
                ["account_id"],
                ["access_token_expiry:max", "refresh_token_expiry:max"],
            )
        }
        for status in self:
            status._recompute_one(
                window[(status.account_id.id, status.api)],
                latest,
                tokens.get(status.account_id.id, (False, False)),
                since,
                now,
                thresholds,
            )

    def _recompute_one(self, outcomes, latest, tokens, since, now, thresholds):
        self.ensure_one()
        Call = self.env["ecommerce.api.call"].sudo()
        own = [("account_id", "=", self.account_id.id), ("api", "=", self.api)]
        recent = Call.search(
            own,
            order="call_date desc, id desc",
            limit=max(thresholds.red_consecutive_failures, 1),
        )
        last = recent[:1]
        new_error_at = max(
            (
                latest[key]
                for key in (
                    (self.account_id.id, self.api, o)
                    for o in ("transient", "auth", "permanent")
                )
                if key in latest
            ),
            default=False,
        )
        error_message = self.last_error_message
        if new_error_at:
            error_message = Call.search(
                own
                + [
                    ("call_date", "=", new_error_at),
                    ("outcome", "in", ("transient", "auth", "permanent")),
                ],
                limit=1,
            ).error_message
        rate_row = Call.search(
            own + [("call_date", ">=", since), ("rate_limit", ">", 0)],
            order="call_date desc",
            limit=1,
        )
        calls = sum(n for n, _ms in outcomes.values())
        errors = sum(outcomes[o][0] for o in ("transient", "auth") if o in outcomes)
        stats = health.ApiStats(
            calls=calls,
            errors=errors,
            throttled=outcomes["rate_limited"][0] if "rate_limited" in outcomes else 0,
            avg_latency_ms=(
                sum(ms for _n, ms in outcomes.values()) / calls if calls else 0.0
            ),
            last_call=last.call_date or None,
            last_outcome=last.outcome or "",
            last_http_status=last.http_status or 0,
            last_error_message=last.error_message or error_message or "",
            recent_outcomes=tuple(recent.mapped("outcome")),
            auth_problem=self.account_id.auth_error or "",
        )
        state, message = health.api_health(stats, now, thresholds)
        new_success = latest.get((self.account_id.id, self.api, "success"))
        rate_limit = rate_row.rate_limit or self.rate_limit
        window_seconds = thresholds.window_minutes * 60
        access, refresh = tokens
        self.write(
            {
                "state": state,
                "message": message,
                "checked_on": now,
                "call_count": calls,
                "error_count": errors,
                "throttled_count": stats.throttled,
                "avg_latency_ms": round(stats.avg_latency_ms),
                "last_success": new_success or self.last_success,
                "last_error": new_error_at or self.last_error,
                "last_error_message": error_message or False,
                "access_token_expiry": access or self.access_token_expiry,
                "refresh_token_expiry": refresh or self.refresh_token_expiry,
                "rate_limit": rate_limit,
                "rate_headroom": (
                    max(0.0, 100.0 * (1 - calls / window_seconds / rate_limit))
                    if rate_limit
                    else 0.0
                ),
            }
        )
