#!/usr/bin/env bash
# Prepares this machine for the tests and the demo, idempotently:
# PostgreSQL running with a role for this user, Chromium for the browser
# tour, and a virtualenv ($ODOO_VENV) with Odoo 19's requirements,
# pytest-odoo and websocket-client, when an Odoo tree is at $ODOO_SRC.
# Without an Odoo tree it only prepares a small virtualenv for the pure tier
# and exports PYTHON=<its interpreter>. Needs REPO (the checkout).
# Sourced by scripts/test.sh and scripts/demo.sh. With SKIP_ODOO set (the
# test script's --pure-only), it neither looks for nor fetches Odoo.
ODOO_SRC=${ODOO_SRC:-/opt/odoo19}
ODOO_VENV=${ODOO_VENV:-/opt/odoo19-venv}
export ODOO_SRC ODOO_VENV
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\n--- %s\n' "$*"; }

apt_install() {  # apt_install PACKAGE... (only what is missing)
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

find_python() {  # Odoo 19's pins install on Python >= 3.12 (3.11's need pkg_resources)
    local c
    for c in /root/.pyenv/versions/3.13*/bin/python /root/.pyenv/versions/3.12*/bin/python \
             python3.13 python3.12 python3; do
        # pyenv shims exist for versions that are not active: try each one.
        if "$c" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
            command -v "$c"; return
        fi
    done
    return 1
}

# Odoo 19 is not on PyPI: without a tree at ODOO_SRC, fetch one the way its
# users do (a shallow clone of the 19.0 branch), or say what to do.
ODOO_GIT=${ODOO_GIT:-https://github.com/odoo/odoo.git}
fetch_odoo() {
    [ -f "$ODOO_SRC/odoo/release.py" ] && return 0
    log "No Odoo 19 tree at ODOO_SRC=$ODOO_SRC: fetching one with git clone --depth 1 -b 19.0 $ODOO_GIT"
    local existed=1
    [ -e "$ODOO_SRC" ] || existed=0
    if command -v git >/dev/null 2>&1 \
        && timeout 1800 git clone -q --depth 1 -b 19.0 "$ODOO_GIT" "$ODOO_SRC"; then
        return 0
    fi
    [ "$existed" -eq 0 ] && rm -rf "$ODOO_SRC"
    cat <<MSG

################################################################
# Odoo 19 is needed and could not be fetched. Odoo 19 is not on PyPI: get
# its source with "git clone --depth 1 -b 19.0 $ODOO_GIT"
# (or unpack Odoo's nightly 19.0 source package from
# https://nightly.odoo.com/19.0/nightly/src/) on a machine that can reach
# the network, copy that folder here, and set the variable ODOO_SRC to it,
# e.g. "ODOO_SRC=\$HOME/odoo-19.0 scripts/test.sh". Its virtualenv is made
# at ODOO_VENV (default /opt/odoo19-venv) on the first run.
################################################################
MSG
    return 1
}
# Without a tree the caller decides: scripts/test.sh then fails after the
# pure tier, scripts/demo.sh stops.
[ -n "${SKIP_ODOO:-}" ] || fetch_odoo || true

if [ -z "${SKIP_ODOO:-}" ] && [ -f "$ODOO_SRC/odoo/release.py" ]; then
    log "Odoo tree found at $ODOO_SRC"
    apt_install postgresql chromium libpq-dev
    if ! pg_isready -q; then service postgresql start; sleep 2; fi
    su postgres -c "psql -tAc \"select 1 from pg_roles where rolname='$(whoami)'\"" | grep -q 1 \
        || su postgres -c "createuser -s $(whoami)"
    if [ ! -x "$ODOO_VENV/bin/python" ] || ! "$ODOO_VENV/bin/python" -c 'import odoo.release, pytest_odoo, websocket, dateutil, lxml' 2>/dev/null; then
        PYBIN=$(find_python) || { echo "FAILED: Odoo 19 needs Python >= 3.12"; exit 1; }
        log "Creating $ODOO_VENV with $PYBIN"
        "$PYBIN" -m venv "$ODOO_VENV"
        # python-ldap (auth_ldap only) needs LDAP headers and is not used here.
        grep -viE '^python-ldap' "$ODOO_SRC/requirements.txt" >"$ODOO_VENV/requirements-odoo.txt"
        "$ODOO_VENV/bin/pip" install -q -r "$ODOO_VENV/requirements-odoo.txt" -r "$REPO/requirements-test.txt" pytest-odoo websocket-client
        site=$("$ODOO_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
        echo "$ODOO_SRC" >"$site/odoo-src.pth"
    fi
    # OCA queue_job 19.0, the optional distributed runner of the push (README,
    # "Scaling out"); only the test database installs it. --no-deps: its wheel
    # requires "odoo==19.0.*", which is not on PyPI (Odoo runs from
    # ODOO_SRC). Its own needs: requests (Odoo has it) and openupgradelib.
    # The wheel puts it in site-packages/odoo/addons, which joins the
    # odoo.addons namespace; scripts/test.sh also puts that folder on the
    # addons path.
    if ! "$ODOO_VENV/bin/python" -c 'import importlib.util as u, openupgradelib, requests
raise SystemExit(u.find_spec("odoo.addons.queue_job") is None)' 2>/dev/null; then
        log "Installing OCA queue_job 19.0 (--no-deps) and openupgradelib in $ODOO_VENV"
        "$ODOO_VENV/bin/pip" install -q --no-deps 'odoo-addon-queue-job>=19.0,<19.1'
        "$ODOO_VENV/bin/pip" install -q openupgradelib
    fi
else
    log "Preparing the pure tier only (no Odoo tree used)"
    PURE_VENV=/tmp/stock_ecommerce_writeback-pure-venv
    if [ ! -x "$PURE_VENV/bin/python" ]; then
        python3 -m venv "$PURE_VENV"
        "$PURE_VENV/bin/pip" install -q -r "$REPO/requirements-test.txt"
    fi
    export PYTHON="$PURE_VENV/bin/python"
fi

