"""The translations in i18n/: every language file covers every term of the
template (i18n/stock_ecommerce_writeback.pot, regenerated and checked by
scripts/update_pot.sh), has no term the template lost, and keeps each term's
placeholders (%s, %(name)s, {name}), markup and entities intact."""

import collections
import pathlib
import re

import polib
import pytest

I18N = pathlib.Path(__file__).resolve().parents[2] / "i18n"
POT = I18N / "stock_ecommerce_writeback.pot"
LANGUAGES = sorted(I18N.glob("*.po"))

# printf-style (Odoo's _("... %s ...") and _("... %(name)s ...")) and
# str.format-style placeholders
PRINTF = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdiouxXeEfFgGcr%]")
BRACES = re.compile(r"\{\w*\}")
ENTITY = re.compile(r"&(?:\w+|#\d+|#x[0-9a-fA-F]+);")
TAG = re.compile(r"<(/?)([a-zA-Z][\w.-]*)((?:\s+[\w.:-]+=\"[^\"]*\")*)\s*(/?)>")
ATTRIBUTE = re.compile(r"([\w.:-]+)=\"([^\"]*)\"")
# attributes whose value is text for people: translated, not compared
TRANSLATED_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "string", "help"}


def _terms(path):
    return {entry.msgid: entry for entry in polib.pofile(str(path)) if entry.msgid}


def _tags(text):
    """The markup of ``text``: each tag with its attributes, the values of
    the translated ones left out."""
    tags = []
    for closing, name, attributes, self_closing in TAG.findall(text):
        kept = tuple(
            sorted(
                (key, "" if key in TRANSLATED_ATTRIBUTES else value)
                for key, value in ATTRIBUTE.findall(attributes)
            )
        )
        tags.append((closing, name, kept, self_closing))
    return collections.Counter(tags)


def _placeholders(text):
    return (
        collections.Counter(PRINTF.findall(text)),
        collections.Counter(BRACES.findall(text)),
        collections.Counter(ENTITY.findall(text)),
        _tags(text),
    )


def _listing(msgids):
    return "\n".join(f"  msgid {msgid!r}" for msgid in sorted(msgids))


def test_the_template_and_a_translation_are_shipped():
    assert POT.is_file(), (
        "i18n/stock_ecommerce_writeback.pot: run scripts/update_pot.sh"
    )
    assert len(_terms(POT)) > 100
    assert I18N / "fr.po" in LANGUAGES


def test_the_template_has_no_date_that_would_change_on_every_export():
    """scripts/update_pot.sh writes it without the date lines (as OCA does):
    it only changes when a term does."""
    header = polib.pofile(str(POT)).metadata
    assert "POT-Creation-Date" not in header
    assert "PO-Revision-Date" not in header


def test_the_placeholder_rules_see_what_they_must():
    assert PRINTF.findall("%s of %(count)s, 100%% and (%)") == ["%s", "%(count)s", "%%"]
    assert _placeholders('<b>Submit</b> &gt; <i class="fa x" title="A"/>') == (
        collections.Counter(),
        collections.Counter(),
        collections.Counter({"&gt;": 1}),
        collections.Counter(
            {
                ("", "b", (), ""): 1,
                ("/", "b", (), ""): 1,
                ("", "i", (("class", "fa x"), ("title", "")), "/"): 1,
            }
        ),
    )
    assert _tags('<i class="fa fa-lock"/>') != _tags('<i class="fa fa-unlock"/>')


@pytest.mark.parametrize("po", LANGUAGES, ids=lambda path: path.name)
def test_every_term_of_the_template_is_translated(po):
    template = _terms(POT)
    translated = {
        msgid: entry
        for msgid, entry in _terms(po).items()
        if entry.msgstr.strip() and "fuzzy" not in entry.flags
    }
    missing = set(template) - set(translated)
    assert not missing, (
        f"i18n/{po.name} lacks a translation of {len(missing)} of the "
        f"{len(template)} terms of i18n/{POT.name} (add them, with msgstr):\n"
        + _listing(missing)
    )


@pytest.mark.parametrize("po", LANGUAGES, ids=lambda path: path.name)
def test_no_term_the_template_lost(po):
    stale = set(_terms(po)) - set(_terms(POT))
    assert not stale, (
        f"i18n/{po.name} translates {len(stale)} term(s) that i18n/{POT.name} "
        "no longer has (delete them):\n" + _listing(stale)
    )


@pytest.mark.parametrize("po", LANGUAGES, ids=lambda path: path.name)
def test_translations_keep_placeholders_and_markup(po):
    broken = []
    for msgid, entry in _terms(po).items():
        if not entry.msgstr:
            continue
        if _placeholders(msgid) != _placeholders(entry.msgstr):
            broken.append(f"  msgid {msgid!r}\n  msgstr {entry.msgstr!r}")
    assert not broken, (
        f"i18n/{po.name}: {len(broken)} translation(s) lose or change a "
        "placeholder (%s, %(name)s, {name}), a tag or an entity:\n" + "\n".join(broken)
    )


@pytest.mark.parametrize("po", LANGUAGES, ids=lambda path: path.name)
def test_language_header(po):
    header = polib.pofile(str(po)).metadata
    assert header.get("Language") == po.stem
    assert header.get("Content-Type") == "text/plain; charset=UTF-8"
    assert header.get("Plural-Forms", "").startswith("nplurals=")
