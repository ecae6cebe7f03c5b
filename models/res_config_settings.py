# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from .reconciliation import DEFAULT_UNSENT_HOURS, UNSENT_HOURS_PARAM
from .writeback_queue import USE_QUEUE_JOB_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    writeback_use_queue_job = fields.Boolean(
        string="Send through the job queue",
        config_parameter=USE_QUEUE_JOB_PARAM,
        help="Shipment confirmations are sent by OCA queue_job jobs, one per "
        "marketplace account and batch, on any worker or machine the job "
        "runner reaches, instead of by the push cron alone. Needs the addon "
        "queue_job and its job runner (README, Scaling out).",
    )
    writeback_reconcile_unsent_hours = fields.Integer(
        string="Never written back after (hours)",
        config_parameter=UNSENT_HOURS_PARAM,
        default=DEFAULT_UNSENT_HOURS,
        help="Reconciliation lists the marketplace deliveries validated this "
        "many hours ago or more that were never written back (their sales "
        "order lacks the marketplace account or order reference, or they "
        "wait for a reference to be fixed).",
    )
    writeback_queue_job_available = fields.Boolean(
        compute="_compute_writeback_queue_job_available"
    )

    @api.depends_context("uid")
    def _compute_writeback_queue_job_available(self):
        available = self.env["ecommerce.writeback.engine"]._queue_job_available()
        for settings in self:
            settings.writeback_queue_job_available = available
