#!/usr/bin/env bash
# Runs the whole test suite of stock_ecommerce_writeback.
#
#   scripts/test.sh
#
# 1. Pure tier (always): marketplace clients, retry policy, the local
#    marketplace sandbox; plain pytest, no Odoo.
# 2. Odoo tier (when an Odoo 19 source tree is found in $ODOO_SRC, default
#    /opt/odoo19): installs the addon on a fresh PostgreSQL database (the log
#    must show no warning or error), then runs the tests once, with
#    pytest-odoo (including the browser tour in headless Chromium). Odoo's
#    own runner stays a local option (README, "Running the tests").
#
# Environment: ODOO_SRC (Odoo tree), ODOO_VENV (its virtualenv, default
# /opt/odoo19-venv), PYTHON (pure tier interpreter), KEEP_DB=1 to keep the
# test database. Exits non-zero on any failure, on "no tests ran", and when a
# browser tour was skipped.
set -euo pipefail

ADDON=stock_ecommerce_writeback
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo19}
ODOO_VENV=${ODOO_VENV:-/opt/odoo19-venv}
ODOO_TIMEOUT=${ODOO_TIMEOUT:-1500}

say() { printf '\n=== %s\n' "$*"; }

# shellcheck source=scripts/setup_env.sh
source "$REPO/scripts/setup_env.sh"

pytest_ok() {  # pytest exit 5 ("no tests collected") is a failure too
    local rc=$1 what=$2
    if [ "$rc" -eq 5 ]; then echo "FAILED: $what collected no test"; return 1; fi
    if [ "$rc" -ne 0 ]; then echo "FAILED: $what (pytest exit $rc)"; return 1; fi
}

# Every script the README names must run as documented.
not_executable=$(cd "$REPO" && git ls-files -s scripts | awk '$1 != "100755" {print $4}')
if [ -n "$not_executable" ]; then
    echo "FAILED: committed without the executable bit: $not_executable"; exit 1
fi

# ---------------------------------------------------------------- pure tier
if [ -x "$ODOO_VENV/bin/python" ]; then PURE_PY=${PYTHON:-$ODOO_VENV/bin/python}; else PURE_PY=${PYTHON:-python3}; fi
say "Pure tier ($("$PURE_PY" --version 2>&1))"
set +e
(cd "$REPO" && "$PURE_PY" -m pytest -p no:cacheprovider -q tests/pure)
rc=$?
set -e
pytest_ok $rc "pure tier"

# ---------------------------------------------------------------- Odoo tier
if [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
    echo
    echo "################################################################"
    echo "# ODOO TIER SKIPPED: no Odoo 19 source tree at ODOO_SRC=$ODOO_SRC"
    echo "# (models, views, crons, security and the browser tour did not run)"
    echo "################################################################"
    exit 0
fi
PY="$ODOO_VENV/bin/python"
[ -x "$PY" ] || { echo "FAILED: no virtualenv with Odoo's requirements at $ODOO_VENV (run .ci/run)"; exit 1; }
pg_isready -q || { echo "FAILED: PostgreSQL is not running"; exit 1; }

WORK=$(mktemp -d /tmp/${ADDON}-test.XXXXXX)
DB="${ADDON}_test_$$"
cleanup() {
    if [ -z "${KEEP_DB:-}" ]; then
        dropdb --if-exists "$DB" >/dev/null 2>&1 || true
        rm -rf "$WORK"
    else
        echo "kept database $DB and $WORK"
    fi
}
trap cleanup EXIT

# Odoo takes the module name from the folder name: link the checkout under
# its technical name in a private addons directory.
mkdir -p "$WORK/addons" "$WORK/data"
ln -s "$REPO" "$WORK/addons/$ADDON"
# OCA queue_job (installed beside Odoo by setup_env.sh): the folder holding it.
QUEUE_JOB_ADDONS=$("$PY" -c 'import importlib.util, os
spec = importlib.util.find_spec("odoo.addons.queue_job")
print(os.path.dirname(os.path.dirname(spec.origin)))')
CFG="$WORK/odoo.cfg"
cat >"$CFG" <<EOF
[options]
addons_path = $ODOO_SRC/odoo/addons,$QUEUE_JOB_ADDONS,$WORK/addons
data_dir = $WORK/data
db_name = $DB
http_interface = 127.0.0.1
http_port = 0

EOF
ODOO=("$PY" "$ODOO_SRC/setup/odoo" -c "$CFG")

# A template database with the dependencies, built once per Odoo tree.
# stock_dropshipping and queue_job are only in the test database, for the
# tests of dropship write-backs and of the queue runner: the addon depends on
# neither.
TEMPLATE_MODULES=sale_stock,stock_delivery,stock_dropshipping,queue_job
TEMPLATE="${ADDON}_tmpl_$( (cat "$ODOO_SRC/odoo/release.py" "$QUEUE_JOB_ADDONS/queue_job/__manifest__.py"
    echo "$TEMPLATE_MODULES") | md5sum | cut -c1-8)"
TEMPLATE_DATA="${TEMPLATE_DIR:-/opt}/${TEMPLATE}_data"  # its filestore
if psql -lqt | cut -d'|' -f1 | grep -qw "$TEMPLATE" && [ ! -d "$TEMPLATE_DATA/filestore/$TEMPLATE" ]; then
    dropdb "$TEMPLATE"  # a template without its filestore would break assets
fi
if ! psql -lqt | cut -d'|' -f1 | grep -qw "$TEMPLATE"; then
    say "Building template database $TEMPLATE ($TEMPLATE_MODULES)"
    rm -rf "$TEMPLATE_DATA"
    "$PY" "$ODOO_SRC/setup/odoo" --addons-path="$ODOO_SRC/odoo/addons,$QUEUE_JOB_ADDONS" --data-dir="$TEMPLATE_DATA" \
        -d "$TEMPLATE" -i "$TEMPLATE_MODULES" --stop-after-init --http-interface=127.0.0.1 \
        --log-level=warn
fi
createdb -T "$TEMPLATE" "$DB"
mkdir -p "$WORK/data/filestore"
cp -a "$TEMPLATE_DATA/filestore/$TEMPLATE" "$WORK/data/filestore/$DB"

say "Installing $ADDON on a fresh database"
start=$(date +%s)
"${ODOO[@]}" -i "$ADDON" --stop-after-init --log-level=info >"$WORK/install.log" 2>&1 || {
    tail -50 "$WORK/install.log"; echo "FAILED: install"; exit 1; }
if grep -E ' (WARNING|ERROR|CRITICAL) ' "$WORK/install.log"; then
    echo "FAILED: the install log has warnings or errors (above)"; exit 1
fi
echo "installed without warning in $(($(date +%s) - start)) s"

say "Odoo tier, pytest-odoo"
start=$(date +%s)
set +e
timeout -k 30 "$ODOO_TIMEOUT" "$PY" -m pytest -p no:cacheprovider -q -rs \
    --odoo-config="$CFG" --odoo-http \
    --ignore="$WORK/addons/$ADDON/tests/pure" \
    "$WORK/addons/$ADDON/tests" 2>&1 | tee "$WORK/pytest-odoo.log"
rc=${PIPESTATUS[0]}
set -e
echo "Odoo tier (pytest-odoo) wall time: $(($(date +%s) - start)) s"
if grep -E '^SKIPPED|[0-9]+ skipped' "$WORK/pytest-odoo.log"; then
    echo "FAILED: tests were skipped (a browser tour needs Chromium and websocket-client)"; exit 1
fi
pytest_ok $rc "Odoo tier"
echo "All tiers passed."
