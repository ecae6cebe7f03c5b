#!/usr/bin/env bash
# Regenerates i18n/stock_ecommerce_writeback.pot with Odoo's own export
# ("odoo-bin i18n export", i.e. odoo.tools.translate.trans_export), from a
# database where the addon is installed.
#
#   scripts/update_pot.sh                   # a scratch database: installs the
#                                           # addon (a few minutes), exports,
#                                           # drops it
#   scripts/update_pot.sh -c CFG -d DB      # a database of yours, the addon
#                                           # installed and up to date (-u)
#   scripts/update_pot.sh --check -c CFG -d DB
#                                           # CI (scripts/test.sh): fails when
#                                           # the committed .pot differs from
#                                           # the export
#
# The file is written as OCA commits it: without the POT-Creation-Date and
# PO-Revision-Date lines, and "Project-Id-Version: Odoo Server <serie>" (no
# build date), so that it only changes when a term does. --check compares
# both files that way (the date lines of either are ignored).
# After a regeneration, translate the new terms in i18n/*.po
# (tests/pure/test_translations.py lists the missing ones).
#
# Environment: ODOO_SRC (Odoo tree, default /opt/odoo19), ODOO_VENV (its
# virtualenv, default /opt/odoo19-venv). Exits non-zero on any failure and,
# with --check, when the .pot is out of date.
set -euo pipefail

ADDON=stock_ecommerce_writeback
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo19}
ODOO_VENV=${ODOO_VENV:-/opt/odoo19-venv}
PY="$ODOO_VENV/bin/python"
POT="$REPO/i18n/$ADDON.pot"

usage() { echo "usage: $0 [--check] [-c CONFIG -d DATABASE]" >&2; exit 2; }
CHECK= CFG= DB=
while [ $# -gt 0 ]; do
    case "$1" in
        --check) CHECK=1 ;;
        -c) CFG=${2:-}; shift ;;
        -d) DB=${2:-}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) usage ;;
    esac
    shift
done
{ [ -n "$CFG" ] && [ -n "$DB" ]; } || { [ -z "$CFG" ] && [ -z "$DB" ]; } || usage
[ -x "$PY" ] || { echo "FAILED: no virtualenv with Odoo's requirements at $ODOO_VENV" >&2; exit 1; }
[ -f "$ODOO_SRC/odoo/release.py" ] || { echo "FAILED: no Odoo tree at ODOO_SRC=$ODOO_SRC" >&2; exit 1; }

WORK=$(mktemp -d "/tmp/$ADDON-pot.XXXXXX")
SCRATCH_DB=
cleanup() {
    [ -z "$SCRATCH_DB" ] || dropdb --if-exists "$SCRATCH_DB" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "$CFG" ]; then
    # Odoo takes the module name from the folder name (scripts/test.sh).
    mkdir -p "$WORK/addons" "$WORK/data"
    ln -s "$REPO" "$WORK/addons/$ADDON"
    SCRATCH_DB="${ADDON}_pot_$$"
    DB=$SCRATCH_DB
    CFG="$WORK/odoo.cfg"
    printf '[options]\naddons_path = %s\ndata_dir = %s\nhttp_interface = 127.0.0.1\n' \
        "$ODOO_SRC/odoo/addons,$WORK/addons" "$WORK/data" >"$CFG"
    echo "Installing $ADDON on a scratch database $DB (a few minutes)"
    "$PY" "$ODOO_SRC/setup/odoo" -c "$CFG" -d "$DB" -i "$ADDON" --stop-after-init \
        --no-http --log-level=warn >"$WORK/install.log" 2>&1 || {
        tail -30 "$WORK/install.log"; echo "FAILED: install of $ADDON" >&2; exit 1; }
fi

# Odoo's export (odoo/cli/i18n.py): the addon's code, views, fields, menus...
"$PY" "$ODOO_SRC/setup/odoo" i18n export -c "$CFG" -d "$DB" -o "$WORK/export.pot" "$ADDON" \
    >"$WORK/export.log" 2>&1 || {
    cat "$WORK/export.log"; echo "FAILED: Odoo's i18n export of $ADDON from $DB" >&2; exit 1; }
if ! grep -q '^msgid "[^"]' "$WORK/export.pot"; then
    cat "$WORK/export.log"; echo "FAILED: the export of $ADDON from $DB has no term" >&2; exit 1
fi

# normalize FILE: drop the date lines, keep only the serie of Odoo's version.
SERIE=$("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1])
from odoo import release; print(release.serie)' "$ODOO_SRC")
normalize() {
    sed -e '/^"POT-Creation-Date: .*\\n"$/d' -e '/^"PO-Revision-Date: .*\\n"$/d' \
        -e "s/^\"Project-Id-Version: Odoo Server [^\"]*\\\\n\"\$/\"Project-Id-Version: Odoo Server $SERIE\\\\n\"/" \
        "$1"
}
normalize "$WORK/export.pot" >"$WORK/new.pot"
terms() { echo $(($(grep -c '^msgid ' "$1") - 1)); }  # the header is one

if [ -z "$CHECK" ]; then
    mkdir -p "$(dirname "$POT")"
    if [ -f "$POT" ] && cmp -s "$WORK/new.pot" "$POT"; then
        echo "i18n/$ADDON.pot is up to date ($(terms "$POT") terms)"
    else
        cp "$WORK/new.pot" "$POT"
        echo "wrote i18n/$ADDON.pot ($(terms "$POT") terms); translate the new ones in i18n/*.po"
    fi
    exit 0
fi

if [ -f "$POT" ] && normalize "$POT" | cmp -s - "$WORK/new.pot"; then
    echo "i18n/$ADDON.pot is up to date ($(terms "$POT") terms)"
    exit 0
fi
echo
echo "################################################################"
echo "# FAILED: i18n/$ADDON.pot is not what Odoo exports from the"
echo "# addon's code, views and data (diff below: - committed, + export)."
echo "# Run scripts/update_pot.sh, translate the new terms in i18n/*.po,"
echo "# and commit both."
echo "################################################################"
if [ -f "$POT" ]; then
    normalize "$POT" | diff -u --label "committed i18n/$ADDON.pot" --label "export" - "$WORK/new.pot" | head -200 || true
else
    echo "(i18n/$ADDON.pot is missing)"
fi
exit 1
