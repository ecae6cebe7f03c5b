# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A product variant's identity on one Amazon account, and the details read
from Amazon's catalog (Catalog Items 2022-04-01 ``getCatalogItem``).

Loading a listing never raises for marketplace trouble: every outcome ends up
on the listing (state + message) and every call in the journal, so one bad
ASIN never stops a batch:

* unknown ASIN / data Amazon refuses: *Error*, with Amazon's message;
* HTTP 429 or client-side pacing: *Deferred*; the load cron tries again after
  Amazon's ``Retry-After``, and no further call is made for that account in
  the same run;
* timeouts, 5xx: *Deferred* up to ``MAX_TRANSIENT_RETRIES`` times, then
  *Error*;
* rejected credentials: *Error* for the account's remaining listings of the
  run, without further calls;
* loaded but some data missing (no weight, no image, unknown weight unit):
  *Loaded with warnings*, saying what is missing; what was found is applied.
"""

import base64
import datetime
import logging
import re

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from ..marketplaces import errors
from .formatting import user_datetime

_logger = logging.getLogger(__name__)

# A user who loads one product sees the result at once (one getCatalogItem
# and one image per account); more listings than this are loaded by the
# cron, so a user's request never waits on Amazon for long.
INLINE_LIMIT = 2
TRANSIENT_RETRY_DELAY = 900
MAX_TRANSIENT_RETRIES = 3
# An ASIN is 10 letters and digits (for books, the ISBN-10).
ASIN_RE = re.compile(r"^[0-9A-Z]{10}$")
# Amazon weight units (Catalog Items ``Dimension.unit``) -> (uom xmlid, factor).
WEIGHT_UNITS = {
    "pounds": ("uom.product_uom_lb", 1.0),
    "ounces": ("uom.product_uom_oz", 1.0),
    "kilograms": ("uom.product_uom_kgm", 1.0),
    "grams": ("uom.product_uom_gram", 1.0),
    "milligrams": ("uom.product_uom_gram", 0.001),
}
WEIGHT_UNIT_ALIASES = {
    "pound": "pounds",
    "lb": "pounds",
    "lbs": "pounds",
    "ounce": "ounces",
    "oz": "ounces",
    "kilogram": "kilograms",
    "kg": "kilograms",
    "gram": "grams",
    "g": "grams",
    "milligram": "milligrams",
    "mg": "milligrams",
}
LOAD_STATES = [
    ("new", "Not loaded"),
    ("done", "Loaded"),
    ("warning", "Loaded with warnings"),
    ("deferred", "Deferred"),
    ("error", "Error"),
]


class EcommerceProductListing(models.Model):
    _name = "ecommerce.product.listing"
    _description = "Amazon Product Listing"
    _order = "product_id, account_id, id"
    _rec_name = "asin"
    _check_company_auto = True

    product_id = fields.Many2one(
        "product.product",
        string="Product Variant",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    product_tmpl_id = fields.Many2one(
        "product.template",
        string="Product",
        compute="_compute_product_tmpl_id",
        store=True,
        index=True,
        precompute=True,
        ondelete="cascade",
    )
    account_id = fields.Many2one(
        "ecommerce.account",
        string="Amazon Account",
        required=True,
        ondelete="cascade",
        index=True,
        domain=[("platform", "=", "amazon")],
        check_company=True,
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True)
    marketplace_id = fields.Char(related="account_id.amazon_marketplace_id")
    asin = fields.Char(
        string="ASIN",
        required=True,
        help="Amazon Standard Identification Number of this product in the "
        "account's marketplace (10 letters and digits).",
    )
    seller_sku = fields.Char(
        string="Seller SKU",
        compute="_compute_seller_sku",
        store=True,
        readonly=False,
        precompute=True,
        help="The SKU of your offer on Amazon. Defaults to the product's "
        "Internal Reference.",
    )
    # What Amazon says (read-only, written by the loader)
    amazon_title = fields.Char(string="Title on Amazon", readonly=True)
    amazon_brand = fields.Char(string="Brand on Amazon", readonly=True)
    amazon_item_weight = fields.Char(
        string="Item Weight on Amazon",
        readonly=True,
        help="The item's own weight, in Amazon's unit.",
    )
    amazon_package_weight = fields.Char(
        string="Package Weight on Amazon",
        readonly=True,
        help="The weight of the item in its package, in Amazon's unit.",
    )
    weight_source = fields.Selection(
        [("package", "Package weight"), ("item", "Item weight")],
        string="Weight Used",
        readonly=True,
        help="Which of Amazon's weights was set on the product: the package "
        "weight (what ships) when Amazon has one, else the item weight.",
    )
    weight = fields.Float(
        string="Weight Set",
        digits="Stock Weight",
        readonly=True,
        help="Amazon's weight converted to the product weight unit.",
    )
    weight_uom_name = fields.Char(compute="_compute_weight_uom_name")
    image_url = fields.Char(string="Main Image", readonly=True)
    load_state = fields.Selection(
        LOAD_STATES, string="Status", default="new", required=True, readonly=True
    )
    last_message = fields.Text(string="Message", readonly=True)
    last_load_date = fields.Datetime(string="Last Loaded", readonly=True)
    next_load_date = fields.Datetime(
        string="Next Load",
        readonly=True,
        index="btree_not_null",
        help="When the catalog cron loads this listing (queued or deferred).",
    )
    transient_retry_count = fields.Integer(readonly=True)

    _product_account_uniq = models.UniqueIndex(
        "(product_id, account_id)",
        "A product variant has one listing per Amazon account.",
    )
    _account_sku_uniq = models.UniqueIndex(
        "(account_id, seller_sku) WHERE seller_sku IS NOT NULL",
        "This seller SKU is already used by another product of this account.",
    )

    @api.depends("product_id")
    def _compute_product_tmpl_id(self):
        for listing in self:
            listing.product_tmpl_id = listing.product_id.product_tmpl_id

    @api.depends("product_id")
    def _compute_seller_sku(self):
        for listing in self:
            if not listing.seller_sku:
                listing.seller_sku = listing.product_id.default_code or False

    def _compute_weight_uom_name(self):
        name = self.env[
            "product.template"
        ]._get_weight_uom_name_from_ir_config_parameter()
        self.weight_uom_name = name

    @api.constrains("asin")
    def _check_asin(self):
        for listing in self:
            if not ASIN_RE.match(listing.asin or ""):
                raise ValidationError(
                    self.env._(
                        "%s is not an ASIN: an ASIN has 10 letters and digits, "
                        "e.g. B07N4M94X4.",
                        listing.asin,
                    )
                )

    @api.constrains("account_id")
    def _check_account_platform(self):
        for listing in self:
            if not listing.account_id._platform().catalog_api:
                raise ValidationError(
                    self.env._(
                        "%s is not an Amazon account.", listing.account_id.display_name
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        vals = dict(vals)
        self._normalize_vals(vals)
        if {"asin", "account_id"} & set(vals):
            # Another item: nothing read for the old one applies any more.
            vals = {
                "load_state": "new",
                "image_url": False,
                "amazon_title": False,
                "amazon_brand": False,
                "amazon_item_weight": False,
                "amazon_package_weight": False,
                "weight_source": False,
                "weight": 0.0,
                "last_message": False,
                "last_load_date": False,
                "next_load_date": False,
                "transient_retry_count": 0,
                **vals,
            }
        return super().write(vals)

    @api.model
    def _normalize_vals(self, vals):
        if vals.get("asin"):
            vals["asin"] = vals["asin"].strip().upper()
        if vals.get("seller_sku"):
            vals["seller_sku"] = vals["seller_sku"].strip()

    # ------------------------------------------------------------------
    # User actions
    # ------------------------------------------------------------------
    def action_amazon_load(self):
        """Load these listings' details from Amazon: at once for a handful
        (in this request), through the catalog cron for more. Returns a
        notification saying what happened."""
        self.check_access("write")
        # Loading writes weight and image on the products: check it now,
        # before anything is asked of Amazon.
        self.product_id.check_access("write")
        listings = self.filtered(lambda listing: listing.account_id.active)
        if not listings:
            raise UserError(
                self.env._("There is no listing of an active Amazon account.")
            )
        if len(listings) > INLINE_LIMIT:
            listings._amazon_queue()
            return self._amazon_notification(
                self.env._(
                    "%s products are loaded from Amazon in the background; their "
                    "status shows on their Amazon tab.",
                    len(listings),
                ),
                "info",
            )
        listings._amazon_load_all()
        counts = {state: 0 for state, _label in LOAD_STATES}
        for listing in listings:
            counts[listing.load_state] += 1
        parts = [self.env._("%s loaded", counts["done"] + counts["warning"])]
        if counts["warning"]:
            parts.append(self.env._("%s with warnings", counts["warning"]))
        if counts["deferred"]:
            parts.append(
                self.env._("%s deferred (retried automatically)", counts["deferred"])
            )
        if counts["error"]:
            parts.append(self.env._("%s failed", counts["error"]))
        problems = listings.filtered(lambda x: x.load_state != "done")
        message = ", ".join(parts) + "."
        if problems:
            message += "\n" + "\n".join(
                f"{p.product_id.display_name} ({p.asin}): {p.last_message}"
                for p in problems
            )
        kind = "success" if not problems else "warning"
        if counts["error"] == len(listings):
            kind = "danger"
        return self._amazon_notification(message, kind)

    def _amazon_notification(self, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Load details from Amazon"),
                "message": message,
                "type": kind,
                "sticky": kind in ("warning", "danger"),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # ------------------------------------------------------------------
    # Queue and crons
    # ------------------------------------------------------------------
    def _amazon_queue(self):
        """Have the catalog cron load these listings, and wake it now."""
        self.write({"next_load_date": fields.Datetime.now()})
        self.env.ref(
            "stock_ecommerce_writeback.ir_cron_amazon_catalog_load"
        ).sudo()._trigger()

    @api.model
    def _amazon_due_domain(self):
        return Domain(
            [
                ("next_load_date", "<=", fields.Datetime.now()),
                ("account_id.active", "=", True),
            ]
        )

    @api.model
    def _cron_amazon_catalog_load(self, batch_size=20):
        """Load the due listings (queued by users or by the refresh, or
        deferred), each at most once per run. Each listing's outcome is
        committed on its own, so a crash loses at most one listing's answer,
        and that listing stays due."""
        engine = self.env["ecommerce.writeback.engine"]
        clients, held = {}, {}

        def process(batch):
            loaded = 0
            for listing in batch:
                locked = engine._lock_record(listing)
                if (
                    locked
                    and listing.next_load_date
                    and listing.next_load_date <= fields.Datetime.now()
                ):
                    listing._amazon_load_one(clients, held)
                    loaded += 1
                engine._commit()  # this listing's outcome, or a released lock
            return loaded

        seen = set()

        def due():
            domain = self._amazon_due_domain()
            return domain & Domain("id", "not in", list(seen)) if seen else domain

        def next_batch():
            batch = self.search(due(), limit=batch_size, order="next_load_date, id")
            seen.update(batch.ids)
            return batch

        engine._batch_loop(
            next_batch, process, remaining=lambda: self.search_count(due())
        )

    @api.model
    def _cron_amazon_catalog_refresh(self):
        """Scheduled refresh (inactive by default): queue every listing of
        an active Amazon account that is not queued yet; the load cron works
        through them at the API's pace."""
        listings = self.search(
            [("account_id.active", "=", True), ("next_load_date", "=", False)]
        )
        if listings:
            listings._amazon_queue()

    # ------------------------------------------------------------------
    # Loading
    # ------------------------------------------------------------------
    def _amazon_load_all(self):
        """Load these listings one after the other in this transaction."""
        clients, held = {}, {}
        for listing in self:
            listing._amazon_load_one(clients, held)

    def _amazon_load_one(self, clients, held):
        """Read this listing's catalog item and apply it; never raises for
        marketplace trouble or bad data. ``clients`` caches one client per
        account for the run; ``held`` maps the accounts not to call again in
        this run to the outcome their listings get instead."""
        self.ensure_one()
        account = self.account_id
        if account.id in held:
            self._amazon_set_outcome(*held[account.id])
            return
        journal = []
        if account.id not in clients:
            clients[account.id] = account._marketplace_client(
                on_call=journal.append, kind="products"
            )
        client = clients[account.id]
        client.on_call = journal.append
        try:
            item = client.get_catalog_item(self.asin)
        except errors.MarketplaceError as exc:
            self._amazon_load_failed(exc, held)
            return
        except Exception as exc:  # a bug must not stop the batch
            _logger.exception("Loading ASIN %s failed unexpectedly", self.asin)
            self._amazon_load_failed(
                errors.TransientError(exc.__class__.__name__), held
            )
            return
        finally:
            self.env["ecommerce.api.call"]._record(account, journal)
            journal.clear()
        try:
            with self.env.cr.savepoint():
                self._amazon_apply(item, client)
        except Exception as exc:  # a bug must not stop the batch
            _logger.exception("Applying ASIN %s failed unexpectedly", self.asin)
            self._amazon_set_outcome(
                "error",
                self.env._(
                    "Amazon's details could not be applied (%s).",
                    exc.__class__.__name__,
                ),
                False,
            )
        finally:
            self.env["ecommerce.api.call"]._record(account, journal)

    def _amazon_load_failed(self, error, held):
        """Write the outcome of a failed catalog call (see the module
        docstring) and hold the account back when calling it again in this
        run is pointless."""
        now = fields.Datetime.now()
        account = self.account_id
        if isinstance(error, errors.RateLimitedError):
            wait = max(error.retry_after or 0, 1)
            until = now + datetime.timedelta(seconds=wait)
            message = self.env._(
                "Amazon is throttling catalog requests (%(error)s); loaded again "
                "automatically after %(when)s.",
                error=error,
                when=user_datetime(self, until),
            )
            held[account.id] = ("deferred", message, until)
            self._amazon_set_outcome("deferred", message, until)
        elif isinstance(error, errors.AuthError):
            # Not flagged on the account: a catalog refusal may only mean the
            # application lacks the catalog role, which must not hold back
            # the account's shipments.
            message = self.env._(
                "Amazon rejected the credentials of %(account)s: %(error)s",
                account=account.display_name,
                error=error,
            )
            held[account.id] = ("error", message, False)
            self._amazon_set_outcome("error", message, False)
        elif isinstance(error, errors.PermanentError):
            self._amazon_set_outcome("error", str(error), False)
        elif self.transient_retry_count < MAX_TRANSIENT_RETRIES:
            until = now + datetime.timedelta(seconds=TRANSIENT_RETRY_DELAY)
            self._amazon_set_outcome(
                "deferred",
                self.env._(
                    "Amazon could not answer (%(error)s); loaded again "
                    "automatically after %(when)s.",
                    error=error,
                    when=user_datetime(self, until),
                ),
                until,
                transient=True,
            )
        else:
            self._amazon_set_outcome(
                "error",
                self.env._(
                    "Amazon could not answer after %(n)s tries: %(error)s",
                    n=self.transient_retry_count + 1,
                    error=error,
                ),
                False,
            )

    def _amazon_set_outcome(self, state, message, next_load, transient=False):
        self.write(
            {
                "load_state": state,
                "last_message": message,
                "next_load_date": next_load,
                "transient_retry_count": self.transient_retry_count + 1
                if transient
                else 0,
            }
        )
        if next_load:
            self._amazon_trigger_load(next_load)

    @api.model
    def _amazon_trigger_load(self, when):
        """Make sure the load cron runs at ``when`` (one trigger per minute at
        most; triggers are precise to the minute anyway)."""
        self.env["ecommerce.writeback.engine"]._trigger(
            "ir_cron_amazon_catalog_load", when
        )

    def _amazon_apply(self, item, client):
        """Store what Amazon says about the item and, for the product's
        primary listing, set the product's weight and main image."""
        self.ensure_one()
        warnings = []
        weight, source = self._amazon_weight(item, warnings)
        vals = {
            "amazon_title": item.get("title") or False,
            "amazon_brand": item.get("brand") or False,
            "amazon_item_weight": _weight_text(item.get("item_weight")),
            "amazon_package_weight": _weight_text(item.get("package_weight")),
            "weight_source": source,
            "weight": weight or 0.0,
            "last_load_date": fields.Datetime.now(),
            "next_load_date": False,
            "transient_retry_count": 0,
        }
        if not item.get("title"):
            warnings.append(self.env._("Amazon has no title for this item."))
        product = self.product_id
        # Among the listings of this listing's company: another company's
        # listing (and account name) is none of this user's business.
        primary = product._amazon_primary_listing(company=self.company_id)
        if primary != self:
            warnings.append(
                self.env._(
                    "The product's weight and image come from its listing on "
                    "%s; nothing was changed on the product.",
                    primary.account_id.display_name,
                )
            )
        else:
            product_vals = {}
            if weight is not None:
                product_vals["weight"] = weight
            image_url = self._amazon_image(item, client, product_vals, warnings)
            vals["image_url"] = image_url
            if product_vals:
                try:
                    with self.env.cr.savepoint():
                        product.write(product_vals)
                except (UserError, ValidationError) as exc:
                    product_vals.pop("image_1920", None)
                    vals["image_url"] = False
                    warnings.append(
                        self.env._("The image could not be used: %s", exc.args[0])
                    )
                    if product_vals:
                        product.write(product_vals)
        vals["load_state"] = "warning" if warnings else "done"
        vals["last_message"] = "\n".join(warnings) or self._amazon_summary(
            item, weight, source, vals["image_url"]
        )
        self.write(vals)

    def _amazon_summary(self, item, weight, source, image_url):
        """What a complete load set, for the listing's message."""
        found = []
        if weight is not None:
            found.append(
                self.env._(
                    "weight %(weight)s %(unit)s (%(kind)s)",
                    weight=round(weight, 3),
                    unit=self.weight_uom_name,
                    kind=dict(self._fields["weight_source"].selection)[source].lower(),
                )
            )
        if image_url:
            found.append(self.env._("main image"))
        if item.get("title"):
            found.append(self.env._("title"))
        return self.env._("Loaded from Amazon: %s.", ", ".join(found))

    def _amazon_weight(self, item, warnings):
        """(weight in the product weight unit, "package" | "item") from the
        catalog item, or (None, False). The package weight is preferred: it
        is what ships, and Odoo uses product weights for shipping."""
        for source in ("package", "item"):
            raw = item.get(f"{source}_weight")
            if not raw:
                continue
            converted = self._amazon_convert_weight(*raw)
            if converted is None:
                warnings.append(
                    self.env._(
                        "Amazon gives the %(which)s weight in an unknown unit "
                        "(%(unit)s).",
                        which=source,
                        unit=raw[1] or "?",
                    )
                )
                continue
            if converted <= 0:
                continue
            return converted, source
        if not any(item.get(f"{s}_weight") for s in ("package", "item")):
            warnings.append(
                self.env._("Amazon has no weight for this item; the weight was kept.")
            )
        return None, False

    @api.model
    def _amazon_convert_weight(self, value, unit):
        """``value`` in Amazon's ``unit`` converted to the product weight unit
        (kg, or lb when the database weighs in pounds); None for a unit it
        does not know."""
        key = (unit or "").strip().lower()
        key = WEIGHT_UNIT_ALIASES.get(key, key)
        if key not in WEIGHT_UNITS:
            return None
        xmlid, factor = WEIGHT_UNITS[key]
        try:
            quantity = float(value) * factor
        except (TypeError, ValueError):
            return None
        to_uom = self.env[
            "product.template"
        ]._get_weight_uom_id_from_ir_config_parameter()
        return self.env.ref(xmlid)._compute_quantity(quantity, to_uom, round=False)

    def _amazon_image(self, item, client, product_vals, warnings):
        """Put the main image's bytes in ``product_vals`` unless the product
        already has that very image; returns the image link (False if
        none). The largest MAIN variant is taken; Odoo scales it to the
        1920 px it keeps."""
        image = item.get("main_image")
        if not image:
            warnings.append(self.env._("Amazon has no main image for this item."))
            return False
        link = image["link"]
        if link == self.image_url and self.product_id.image_1920:
            return link
        try:
            data = client.download(link)
        except errors.MarketplaceError as exc:
            warnings.append(
                self.env._("The main image could not be downloaded: %s", exc)
            )
            return False
        product_vals["image_1920"] = base64.b64encode(data)
        return link


def _weight_text(weight):
    """Amazon's (value, unit) as shown to users, e.g. "0.77 pounds"."""
    if not weight:
        return False
    value, unit = weight
    shown = f"{value:g}" if isinstance(value, int | float) else str(value)
    return f"{shown} {unit}".strip()
