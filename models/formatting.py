# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One date format across the screens: times the addon writes into texts
(messages, test results) read as the web client shows datetimes, in the
user's time zone and language format, without seconds."""

from odoo import fields


def user_datetime(record, value):
    """``value`` (a naive UTC datetime, as Odoo stores them) as the web
    client shows it to the user of ``record``'s environment: in their time
    zone, with their language's date and time formats, without seconds."""
    if not value:
        return ""
    local = fields.Datetime.context_timestamp(record, value)
    env = record.env
    lang = env["res.lang"]._get_data(code=env.lang or "en_US")
    date_format = (lang and lang.date_format) or "%m/%d/%Y"
    time_format = (lang and lang.time_format) or "%H:%M:%S"
    time_format = time_format.replace(":%S", "")
    return local.strftime(f"{date_format} {time_format}")
