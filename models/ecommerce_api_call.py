# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import datetime

from odoo import api as odoo_api
from odoo import fields, models
from odoo.tools import SQL

from ..marketplaces import platforms, policy
from ..marketplaces.policy import State


def _column_value(value):
    """A journal value as its column takes it: False is NULL, datetimes are
    naive UTC (as the ORM stores them)."""
    if value is False:
        return None
    if isinstance(value, datetime.datetime) and value.tzinfo:
        return value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


API_SELECTION = platforms.API_SELECTION
OUTCOME_SELECTION = [
    ("success", "Success"),
    ("transient", "Temporary error"),
    ("rate_limited", "Rate limited"),
    ("auth", "Authentication error"),
    ("permanent", "Rejected"),
]


class EcommerceApiCall(models.Model):
    """Journal of every call the addon makes to a marketplace.

    Written by the engine only. It holds no secret and no body: what was
    called, when, how long it took and how it ended. Shipments show their own
    rows; the status screen computes each API's health from it."""

    _name = "ecommerce.api.call"
    _description = "Marketplace API Call"
    _order = "call_date desc, id desc"
    _rec_name = "operation"

    account_id = fields.Many2one(
        "ecommerce.account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    platform = fields.Selection(related="account_id.platform")
    api = fields.Selection(API_SELECTION, string="API", required=True)
    operation = fields.Char(required=True)
    call_date = fields.Datetime(string="When", required=True, index=True)
    duration_ms = fields.Integer(string="Duration (ms)")
    http_status = fields.Integer(string="HTTP Status")
    outcome = fields.Selection(OUTCOME_SELECTION, required=True)
    error_code = fields.Char(string="Marketplace Error Code")
    error_message = fields.Char(string="Marketplace Message")
    order_ref = fields.Char(string="Marketplace Order")
    picking_id = fields.Many2one(
        "stock.picking", string="Shipment", ondelete="set null", index="btree_not_null"
    )
    rate_limit = fields.Float(string="Rate Limit (req/s)")
    access_token_expiry = fields.Datetime()
    refresh_token_expiry = fields.Datetime()

    # The status screen aggregates per account and API over a recent window.
    _account_api_date_idx = models.Index("(account_id, api, call_date DESC)")

    @odoo_api.model
    def _gc_journal(self, days, batch_size=10000):
        """Delete journal rows older than ``days``, except those of shipments
        that still need attention (pending or failed): their history stays."""
        cutoff = fields.Datetime.now() - datetime.timedelta(days=days)
        unfinished = self.env["stock.picking"].search(
            [("writeback_state", "in", [*policy.OPEN_STATES, State.FAILED])]
        )
        domain = [
            ("call_date", "<", cutoff),
            ("picking_id", "not in", unfinished.ids),
            # read-backs shared by several deliveries of one order
            (
                "order_ref",
                "not in",
                list(set(unfinished.mapped("ecommerce_order_ref"))),
            ),
        ]
        while True:
            old = self.sudo().search(domain, limit=batch_size)
            if not old:
                return
            old.unlink()
            self.env["ir.cron"]._commit_progress(len(old))

    @odoo_api.model
    def _record(self, account, records, picking=None):
        """Store CallRecords (see marketplaces.base) for ``account``."""
        return self._record_many([(account, records, picking)])

    @odoo_api.model
    def _record_many(self, batches):
        """Store ``[(account, CallRecords, picking or None), ...]`` in one
        INSERT (the engine journals a whole batch of sends at once; the
        ORM's create would add a query and most of the CPU per row)."""
        rows = [
            self._record_vals(account, rec, picking)
            for account, records, picking in batches
            for rec in records
        ]
        if not rows:
            return self.browse()
        columns = list(rows[0]) + [
            "create_uid",
            "create_date",
            "write_uid",
            "write_date",
        ]
        now = fields.Datetime.now()
        uid = self.env.uid
        self.env.cr.execute(
            SQL(
                "INSERT INTO ecommerce_api_call (%s) VALUES %s RETURNING id",
                SQL(", ").join(SQL.identifier(column) for column in columns),
                # a tuple is a row to psycopg2: one parameter per row
                SQL(", ").join(
                    SQL(
                        "%s",
                        (
                            *(_column_value(row[c]) for c in rows[0]),
                            uid,
                            now,
                            uid,
                            now,
                        ),
                    )
                    for row in rows
                ),
            )
        )
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @odoo_api.model
    def _record_vals(self, account, rec, picking):
        return {
            "account_id": account.id,
            "company_id": account.company_id.id or None,
            "api": rec.api,
            "operation": rec.operation,
            "call_date": rec.started_at,
            "duration_ms": rec.duration_ms,
            "http_status": rec.http_status or 0,
            "outcome": rec.outcome,
            "error_code": (rec.error_code or "")[:64],
            "error_message": (rec.error_message or "")[:500],
            "order_ref": rec.order_ref
            or (picking.ecommerce_order_ref if picking else False),
            "picking_id": picking.id if picking else False,
            "rate_limit": rec.rate_limit or 0.0,
            "access_token_expiry": rec.access_token_expires_at,
            "refresh_token_expiry": rec.refresh_token_expires_at,
        }
