#!/usr/bin/env bash
# Runs the demo: a local marketplace sandbox on 127.0.0.1:8765 and Odoo on
# http://localhost:8069 (login admin / admin) with this addon and its demo
# data: three marketplace accounts bound to the sandbox, demo orders, and
# deliveries already validated. With the crons active, those deliveries turn
# Success within a few minutes, and the one whose Amazon order is cancelled
# turns Failed.
#
#   scripts/demo.sh            # Ctrl-C stops both servers
#
# Environment: ODOO_SRC (default /opt/odoo19), ODOO_VENV, DEMO_DB (default
# stock_ecommerce_writeback_demo; dropped and created anew), DEMO_PORT (8069),
# DEMO_SANDBOX_PORT (8765; the demo accounts are pointed at it), DEMO_DIR
# (/tmp/stock_ecommerce_writeback-demo: config and logs). Two demos on one
# machine need their own DEMO_DB, DEMO_PORT, DEMO_SANDBOX_PORT and DEMO_DIR.
set -euo pipefail

ADDON=stock_ecommerce_writeback
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DB=${DEMO_DB:-${ADDON}_demo}
PORT=${DEMO_PORT:-8069}
SANDBOX_PORT=${DEMO_SANDBOX_PORT:-8765}  # demo/demo.xml says 8765: moved below
# shellcheck source=scripts/setup_env.sh
source "$REPO/scripts/setup_env.sh"
# (setup_env.sh fetched Odoo 19, or said what to do)
[ -f "$ODOO_SRC/odoo/release.py" ] || exit 1
PY="$ODOO_VENV/bin/python"

WORK=${DEMO_DIR:-/tmp/${ADDON}-demo}
mkdir -p "$WORK/addons" "$WORK/data"
ln -sfn "$REPO" "$WORK/addons/$ADDON"
CFG="$WORK/odoo.cfg"
cat >"$CFG" <<EOF
[options]
addons_path = $ODOO_SRC/odoo/addons,$WORK/addons
data_dir = $WORK/data
db_name = $DB
dbfilter = ^$DB\$
http_interface = 127.0.0.1
http_port = $PORT
max_cron_threads = 1
EOF

pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

log "Starting the marketplace sandbox on 127.0.0.1:$SANDBOX_PORT"
(cd "$REPO" && exec "$PY" -m sandbox --host 127.0.0.1 --port "$SANDBOX_PORT" \
    --seed sandbox/demo_seed.json) 2>"$WORK/sandbox.log" &
pids+=($!)
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$SANDBOX_PORT/_sandbox/state" >/dev/null 2>&1 && break; sleep 0.2
done

log "Creating database $DB with $ADDON and demo data (about 5 minutes)"
dropdb --if-exists "$DB"
rm -rf "$WORK/data/filestore/$DB"
"$PY" "$ODOO_SRC/setup/odoo" -c "$CFG" -d "$DB" -i "$ADDON" --with-demo --stop-after-init \
    --log-level=info >"$WORK/install.log" 2>&1 &
install_pid=$!
pids+=("$install_pid")
start=$(date +%s)
while kill -0 "$install_pid" 2>/dev/null; do  # progress every 15 s
    sleep 15
    # Odoo logs "Loading module <name> (<n>/<total>)" once per loading pass
    # (base alone first, then the graph, which grows as dependencies are
    # found): its n/total restart and jump. Count the modules instead.
    names=$(grep -oE 'Loading module [a-z0-9_]+ ' "$WORK/install.log" \
        | sed -E 's/Loading module //; s/ $//' || true)
    last=$(printf '%s\n' "$names" | tail -1)
    count=$(printf '%s\n' "$names" | sed '/^$/d' | sort -u | wc -l)
    printf '    %4s s: %s modules loaded%s\n' "$(($(date +%s) - start))" "$count" \
        "${last:+, now $last}"
done
if ! wait "$install_pid"; then
    tail -30 "$WORK/install.log"
    echo "FAILED: the demo database could not be built (log: $WORK/install.log)"
    exit 1
fi
echo "    database ready in $(($(date +%s) - start)) s (log: $WORK/install.log)"

if [ "$SANDBOX_PORT" != 8765 ]; then  # the demo accounts follow the sandbox
    psql -q -d "$DB" -c "
        UPDATE ecommerce_account
           SET api_base_url = replace(api_base_url, ':8765', ':$SANDBOX_PORT'),
               auth_url = replace(auth_url, ':8765', ':$SANDBOX_PORT')"
fi

# Odoo's own procurement scheduler, on its first run over the demo
# orderpoints, commits a batch of them on a cursor of its own, then flushes
# older writes to the same rows: a serialization ERROR in the log (Odoo 19,
# stock_rule.run_scheduler, not this addon). On a real database it runs
# nightly; here its first run waits a day.
psql -q -d "$DB" -c "
    UPDATE ir_cron c SET nextcall = now() at time zone 'UTC' + interval '1 day'
      FROM ir_model_data m
     WHERE m.module = 'stock' AND m.name = 'ir_cron_scheduler_action'
       AND m.model = 'ir.cron' AND c.id = m.res_id"

# The write-back crons start one after the other, not all in the first
# second (two of them claiming the same deliveries at once end in a
# serialization error in the log).
psql -q -d "$DB" -c "
    UPDATE ir_cron c SET nextcall = now() at time zone 'UTC' + d.delay * interval '1 second'
      FROM ir_model_data m,
           (VALUES ('ir_cron_writeback_push', 5), ('ir_cron_writeback_verify', 40),
                   ('ir_cron_api_status_refresh', 70), ('ir_cron_amazon_catalog_load', 100),
                   ('ir_cron_amazon_catalog_refresh', 130)) AS d(name, delay)
     WHERE m.module = '$ADDON' AND m.model = 'ir.cron' AND m.name = d.name
       AND c.id = m.res_id"

log "Odoo on http://localhost:$PORT (admin / admin): Inventory > eCommerce Status"
echo "    Odoo log: $WORK/odoo.log (requests and crons; tail -f it to follow)"
echo "    sandbox log: $WORK/sandbox.log; Ctrl-C stops both servers"
"$PY" "$ODOO_SRC/setup/odoo" -c "$CFG" -d "$DB" --logfile "$WORK/odoo.log" &
pids+=($!)
wait "${pids[-1]}"
