#!/usr/bin/env python3
"""Bring every ``i18n/*.po`` in line with ``i18n/stock_ecommerce_writeback.pot``
(run after ``scripts/update_pot.sh``): translations of unchanged terms are
kept, terms the template lost are dropped, new terms are added untranslated
or translated from a JSON file ``{msgid: msgstr}``. Prints the terms still
untranslated (``tests/pure/test_translations.py`` fails on them).

Usage: scripts/merge_po.py [--lang fr] [TRANSLATIONS.json]
"""

import argparse
import json
import pathlib
import sys

import polib

I18N = pathlib.Path(__file__).resolve().parents[1] / "i18n"


def merge(po_path, pot, translations):
    po = polib.pofile(str(po_path))
    old = {(e.msgctxt, e.msgid): e.msgstr for e in po}
    merged = polib.POFile(wrapwidth=po.wrapwidth)
    merged.header, merged.metadata = po.header, po.metadata
    missing = []
    for entry in pot:
        msgstr = translations.get(entry.msgid) or old.get((entry.msgctxt, entry.msgid))
        merged.append(
            polib.POEntry(
                msgctxt=entry.msgctxt,
                msgid=entry.msgid,
                msgstr=msgstr or "",
                occurrences=entry.occurrences,
                comment=entry.comment,
                tcomment=entry.tcomment,
                flags=[flag for flag in entry.flags if flag != "fuzzy"],
            )
        )
        if not (msgstr or "").strip():
            missing.append(entry.msgid)
    merged.save(str(po_path))
    return missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", help="only this language (default: every .po)")
    parser.add_argument("translations", nargs="?", help="JSON {msgid: msgstr}")
    args = parser.parse_args(argv)
    translations = {}
    if args.translations:
        with open(args.translations, encoding="utf-8") as handle:
            translations = json.load(handle)
    pot = polib.pofile(str(I18N / "stock_ecommerce_writeback.pot"))
    paths = [I18N / f"{args.lang}.po"] if args.lang else sorted(I18N.glob("*.po"))
    untranslated = 0
    for path in paths:
        missing = merge(path, pot, translations)
        untranslated += len(missing)
        print(f"{path.name}: {len(pot)} terms, {len(missing)} untranslated")
        for msgid in missing:
            print("  " + json.dumps(msgid, ensure_ascii=False))
    return 1 if untranslated else 0


if __name__ == "__main__":
    sys.exit(main())
