#!/usr/bin/env bash
# Runs the whole test suite of stock_ecommerce_writeback.
#
#   scripts/test.sh               # both tiers (what .ci/run calls)
#   scripts/test.sh --pure-only   # local only: the pure tier, Odoo tier not run
#
# 1. Pure tier (always): marketplace clients, retry policy, the local
#    marketplace sandbox; plain pytest, no Odoo.
# 2. Odoo tier: needs an Odoo 19 source tree in $ODOO_SRC (default
#    /opt/odoo19); without one the run FAILS (after the pure tier), unless
#    --pure-only was asked for. Installs the addon on a fresh PostgreSQL
#    database (the log must show no warning or error), then runs the tests
#    once, with pytest-odoo (including the browser tour in headless
#    Chromium). A test fails when an ERROR or CRITICAL line is logged while
#    it runs (tests/pytest_plugins/odoo_error_lines.py), as under Odoo's
#    own runner, which stays a
#    local option (README, "Running the tests"). Then, on that database,
#    scripts/update_pot.sh --check: the run fails when
#    i18n/stock_ecommerce_writeback.pot is not what Odoo exports.
#
# Environment: ODOO_SRC (Odoo tree), ODOO_VENV (its virtualenv, default
# /opt/odoo19-venv), PYTHON (pure tier interpreter), KEEP_DB=1 to keep the
# test database. Exits non-zero on any failure, on "no tests ran", when a
# browser tour was skipped, and when the Odoo tier could not run (unless
# --pure-only). --pure-only is refused when CI is set (.ci/run sets it).
set -euo pipefail

PURE_ONLY=
case "${1:-}" in
    "") ;;
    --pure-only) PURE_ONLY=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--pure-only]" >&2; exit 2 ;;
esac
if [ -n "$PURE_ONLY" ] && [ -n "${CI:-}" ]; then
    echo "FAILED: --pure-only is a local mode; CI runs the Odoo tier too" >&2; exit 2
fi

ADDON=stock_ecommerce_writeback
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-/opt/odoo19}
ODOO_VENV=${ODOO_VENV:-/opt/odoo19-venv}
ODOO_TIMEOUT=${ODOO_TIMEOUT:-1500}

say() { printf '\n=== %s\n' "$*"; }

# shellcheck source=scripts/setup_env.sh
SKIP_ODOO=$PURE_ONLY
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
if [ -n "$PURE_ONLY" ]; then
    echo
    echo "################################################################"
    echo "# ODOO TIER NOT RUN (--pure-only): models, views, crons, security"
    echo "# and the browser tour were not tested. Not a green CI run."
    echo "################################################################"
    exit 0
fi
if [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
    echo
    echo "################################################################"
    echo "# FAILED: THE ODOO TIER CANNOT RUN: no Odoo 19 source tree at"
    echo "# ODOO_SRC=$ODOO_SRC (models, views, crons, security and the"
    echo "# browser tour were not tested). See README, Installation."
    echo "# Locally, scripts/test.sh --pure-only runs the pure tier alone."
    echo "################################################################"
    exit 1
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
# --odoo-log-level=error: ERROR lines are emitted (pytest-odoo's default,
# critical, drops them), so that the odoo_error_lines plugin fails the test they
# were logged in (tests/pytest_plugins/odoo_error_lines.py).
PYTHONPATH="$REPO/tests/pytest_plugins${PYTHONPATH:+:$PYTHONPATH}" \
timeout -k 30 "$ODOO_TIMEOUT" "$PY" -m pytest -p no:cacheprovider -p odoo_error_lines -q -rs \
    --odoo-config="$CFG" --odoo-http --odoo-log-level=error \
    --ignore="$WORK/addons/$ADDON/tests/pure" \
    "$WORK/addons/$ADDON/tests" 2>&1 | tee "$WORK/pytest-odoo.log"
rc=${PIPESTATUS[0]}
set -e
echo "Odoo tier (pytest-odoo) wall time: $(($(date +%s) - start)) s"

# The translation template is what Odoo exports from this database, where
# the addon is installed from this checkout (scripts/update_pot.sh).
say "Translation template (scripts/update_pot.sh --check)"
set +e
ODOO_SRC="$ODOO_SRC" ODOO_VENV="$ODOO_VENV" "$REPO/scripts/update_pot.sh" --check -c "$CFG" -d "$DB"
pot_rc=$?
set -e
if grep -E '^SKIPPED|[0-9]+ skipped' "$WORK/pytest-odoo.log"; then
    echo "FAILED: tests were skipped (a browser tour needs Chromium and websocket-client)"; exit 1
fi
pytest_ok $rc "Odoo tier"
if [ "$pot_rc" -ne 0 ]; then
    echo "FAILED: i18n/$ADDON.pot is out of date (above): run scripts/update_pot.sh"; exit 1
fi
echo "All tiers passed."
