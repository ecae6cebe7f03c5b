# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How the write-back grid searches part of a tracking number or order
reference (``ilike``): the same rows as Odoo's own condition, written so
that PostgreSQL takes the cheaper of its two ways to them.

* The trigram index (``index="trigram"``) finds the rows that hold every
  trigram of the text, and PostgreSQL then reads each of those rows and
  checks the text. Its cost estimate does not know how many rows hold the
  trigrams: for a text made of characters every row has (``00000000`` in
  tracking numbers padded with zeros, a shipper's UPS prefix), the index
  returns every delivery and each one is read from the table.
* The grid's covering indexes (``_writeback_grid_tracking_search_idx``,
  ``_writeback_grid_idx``) hold the column for every grid row: a scan of
  one checks the text without reading the table.

:func:`trigram_share` estimates, from PostgreSQL's own sample of the column
(``pg_stats``), the share of rows the trigram index would return. When it
returns more than :data:`COVERING_SCAN_SHARE` of the grid's rows, the
condition is written as a function call (``textlike``/``texticlike``, the
functions behind ``LIKE``/``ILIKE``), which the trigram index cannot serve,
and PostgreSQL scans the covering index instead. A text with no character
that has a case (digits, dashes) is compared with ``LIKE``, which finds the
same rows as ``ILIKE`` at a third of its cost per row (``ILIKE`` lowercases
every value it checks).
"""

import re

from odoo.fields import Domain
from odoo.tools import SQL

# The grid's searchable text columns, with the covering index that holds
# them for every grid row (stock_picking.py).
GRID_TEXT_SEARCH = {
    "carrier_tracking_ref": "stock_picking_writeback_grid_tracking_search_idx",
    "ecommerce_order_ref": "stock_picking_writeback_grid_idx",
}
# Above this share of the grid's rows returned by the trigram index, a scan
# of the covering index costs less: per row, the trigram path reads the
# table and checks the text (about 1 µs here), the covering scan checks the
# text only (0.3 µs with LIKE, 0.9 µs with ILIKE).
COVERING_SCAN_SHARE = 0.5
# pg_trgm's word characters (ISWORDCHR: alphanumerics).
_WORDS_RE = re.compile(r"[^\W_]+")


def like_trigrams(text):
    """The trigrams pg_trgm looks up for ``ILIKE '%text%'`` (lowercased),
    without the padded ones at word ends inside the text (a looser
    condition: the estimate errs toward the covering scan). ``%`` and ``_``
    are wildcards, as in Odoo's ``ilike``: they split words too."""
    found = set()
    for word in _WORDS_RE.findall((text or "").lower()):
        found.update(word[i : i + 3] for i in range(len(word) - 2))
    return found


def caseless(text):
    """Whether ``text`` has no character with a case (``ILIKE`` and
    ``LIKE`` then find the same rows)."""
    return text.isascii() and text.lower() == text.upper()


def trigram_share(cr, field_name, text):
    """Estimated share of the grid's rows the trigram index returns for
    ``ILIKE '%text%'`` on ``field_name`` (None: no trigram, or no
    statistics yet: leave the condition to PostgreSQL as Odoo writes it).

    From ``pg_stats``: the most common values and the histogram sample
    that hold every trigram of ``text``, weighted as PostgreSQL weighs
    them, times the table's rows, over the rows of the grid's covering
    index (``pg_class.reltuples``). One query."""
    trigrams = like_trigrams(text)
    if not trigrams:
        return None
    cr.execute(
        SQL(
            """SELECT s.null_frac, s.most_common_vals::text::text[],
                      s.most_common_freqs, s.histogram_bounds::text::text[],
                      t.reltuples, i.reltuples
                 FROM pg_class t
                 JOIN pg_class i ON i.relname = %(index)s
                 JOIN pg_stats s ON s.schemaname = current_schema()
                                AND s.tablename = t.relname
                                AND s.attname = %(column)s
                WHERE t.relname = 'stock_picking'
                  AND t.relnamespace = i.relnamespace""",
            index=GRID_TEXT_SEARCH[field_name],
            column=field_name,
        )
    )
    row = cr.fetchone()
    if not row:
        return None
    null_frac, common, freqs, sample, table_rows, grid_rows = row
    if not grid_rows or grid_rows <= 0 or not table_rows or table_rows <= 0:
        return None

    def holds(value):
        value = (value or "").lower()
        return all(trigram in value for trigram in trigrams)

    common, freqs, sample = common or [], freqs or [], sample or []
    share = sum(f for v, f in zip(common, freqs, strict=False) if holds(v))
    if sample:
        rest = max(0.0, 1.0 - (null_frac or 0.0) - sum(freqs))
        share += rest * sum(1 for v in sample if holds(v)) / len(sample)
    elif not common:
        return None
    return share * table_rows / grid_rows


def grid_text_condition(model, condition):
    """``condition`` (an ``ilike`` on a searchable text column of the grid)
    as a :class:`~odoo.fields.Domain` finding the same rows at the lower
    cost (module docstring), or ``condition`` itself."""
    field_name, text = condition.field_expr, condition.value
    if (
        condition.operator != "ilike"
        or field_name not in GRID_TEXT_SEARCH
        or not isinstance(text, str)
        or not text
        or model.env.registry.has_unaccent
    ):
        return condition
    # one estimate per text and transaction: the page and its count ask
    cache = model.env.cr.cache.setdefault("writeback_grid_trigram_share", {})
    if (field_name, text) not in cache:
        cache[field_name, text] = trigram_share(model.env.cr, field_name, text)
    share = cache[field_name, text]
    covering = share is not None and share > COVERING_SCAN_SHARE
    if not covering and not caseless(text):
        return condition
    pattern = f"%{text}%"
    same_case = caseless(text)

    def to_sql(model_, alias, query):
        column = model_._field_to_sql(alias, field_name, query)
        if covering:
            function = SQL("textlike" if same_case else "texticlike")
            return SQL("%s(%s, %s)", function, column, pattern)
        return SQL("%s LIKE %s", column, pattern)

    def predicate(record):
        return bool(record.filtered_domain([(field_name, "ilike", text)]))

    return Domain.custom(to_sql=to_sql, predicate=predicate)
