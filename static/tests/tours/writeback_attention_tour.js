import { formatDateTime } from "@web/views/fields/formatters";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

const { DateTime } = luxon;

const OK = "114-7100001-0000001";
const BAD = "114-7100002-0000002";
const CANCELLED = "114-7100003-0000003";
const TO_FIX = "114-7100004-0000004";

function row(ref) {
    return `.o_data_row:has(td[name='ecommerce_order_ref']:contains('${ref}'))`;
}

function assert(condition, message) {
    if (!condition) {
        throw new Error(`Assertion failed: ${message}`);
    }
}

/**
 * The last export's CSV, read back from the server, against the grid on
 * screen: same headings, same rows in the same order, same times.
 */
async function checkExportAgainstGrid() {
    const [attachment] = await rpc("/web/dataset/call_kw/ir.attachment/search_read", {
        model: "ir.attachment",
        method: "search_read",
        args: [[["res_model", "=", "ecommerce.writeback.export"]]],
        kwargs: { fields: ["id"], order: "id desc", limit: 1 },
    });
    assert(attachment, "an export was written");
    const response = await fetch(`/web/content/${attachment.id}?download=true`);
    const text = (await response.text()).replace(/^\ufeff/, "");
    const lines = text.split("\r\n").filter((line) => line);
    const cells = lines.map((line) => line.split(","));
    const headers = [...document.querySelectorAll(".o_list_table thead th[data-name]")];
    const gridHeadings = headers.map((th) => th.textContent.trim());
    assert(
        JSON.stringify(cells[0]) === JSON.stringify(gridHeadings),
        `CSV headings ${cells[0]} are the grid's ${gridHeadings}`
    );
    const names = headers.map((th) => th.dataset.name);
    const refColumn = names.indexOf("ecommerce_order_ref");
    const timeColumn = names.indexOf("writeback_last_attempt");
    const rows = [...document.querySelectorAll(".o_list_table .o_data_row")];
    assert(rows.length === cells.length - 1, `${rows.length} rows in both`);
    rows.forEach((tr, index) => {
        const line = cells[index + 1];
        const ref = tr.querySelector("td[name='ecommerce_order_ref']").textContent.trim();
        assert(line[refColumn] === ref, `row ${index}: ${line[refColumn]} is ${ref}`);
        const shown = tr.querySelector("td[name='writeback_last_attempt']").textContent.trim();
        if (!line[timeColumn]) {
            assert(!shown, `row ${index}: no last attempt`);
            return;
        }
        // the file's time, read in the browser's zone, formatted as the grid does
        const inFile = DateTime.fromFormat(line[timeColumn], "yyyy-MM-dd HH:mm:ss");
        assert(inFile.isValid, `row ${index}: ${line[timeColumn]} is a time`);
        assert(
            formatDateTime(inFile, { showSeconds: false }) === shown,
            `row ${index}: the file's ${line[timeColumn]} is the screen's ${shown}`
        );
    });
}

// Needs attention, guidance that follows the error, a bulk retry, the
// delivery's header badge and an export checked against the grid.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_attention_tour", {
    steps: () => [
        {
            content: "The grid opens on Needs attention",
            trigger: ".o_searchview_facet:contains('Needs attention')",
        },
        {
            trigger: `.o_list_view ${row(BAD)}`,
        },
        {
            trigger: `.o_list_view ${row(CANCELLED)}`,
        },
        {
            content: "Failed, plus pending with a message to fix; not the submitted one",
            trigger: `.o_list_view:not(:has(${row(OK)})) ${row(TO_FIX)}`,
        },
        {
            content: "Identifiers get the room; secondary columns are hidden",
            trigger: ".o_list_view th[data-name='ecommerce_order_ref']",
            run() {
                const width = this.anchor.getBoundingClientRect().width;
                assert(width >= 150, `order column is ${width}px`);
                const tracking = document.querySelector("th[data-name='carrier_tracking_ref']");
                assert(tracking.getBoundingClientRect().width >= 190, "tracking column");
                assert(
                    !document.querySelector("th[data-name='writeback_next_attempt']"),
                    "Next Attempt is optional and hidden"
                );
            },
        },
        {
            content: "Issue 19.5: the reason is a wide default column, wrapped, never cut",
            trigger: `${row(BAD)} td[name='writeback_error']:contains('Invalid tracking number')`,
            run() {
                const th = document.querySelector("th[data-name='writeback_error']");
                const width = th.getBoundingClientRect().width;
                assert(width >= 280, `reason column is ${width}px`);
                const cell = this.anchor;
                assert(
                    cell.scrollWidth <= cell.clientWidth + 1,
                    `reason cut: ${cell.scrollWidth} > ${cell.clientWidth}`
                );
                const right = cell.getBoundingClientRect().right;
                assert(right <= window.innerWidth, `reason ends at ${right}px`);
                assert(cell.offsetHeight > 40, "a long reason wraps onto more lines");
                const state = document.querySelector("th[data-name='writeback_state']");
                assert(state.getBoundingClientRect().right <= window.innerWidth, "state");
                // "Differs on marketplace" is read whole, not "Differs on mar…"
                for (const badge of document.querySelectorAll(
                    "td[name='writeback_state'] .badge"
                )) {
                    assert(
                        badge.scrollWidth <= badge.clientWidth + 1,
                        `state cut: ${badge.textContent}`
                    );
                }
            },
        },
        {
            content: "Issue 19.9: tracking numbers start under their heading; copy without hover",
            trigger: `${row(BAD)} td[name='carrier_tracking_ref'] .o_clipboard_button`,
            run() {
                const cell = this.anchor.closest("td");
                const text = cell.querySelector(".o_field_CopyClipboardChar span");
                const heading = document.querySelector(
                    "th[data-name='carrier_tracking_ref'] .o_column_title, th[data-name='carrier_tracking_ref'] span"
                );
                const offset = Math.abs(
                    text.getBoundingClientRect().left - heading.getBoundingClientRect().left
                );
                assert(offset <= 2, `tracking number ${offset}px off its heading`);
                const opacity = getComputedStyle(this.anchor).opacity;
                assert(opacity === "1", `copy button opacity ${opacity} without hover`);
            },
        },
        {
            content: "Issue 19.9: Custom Group offers no internal field",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: "select.o_add_custom_group_menu",
            run() {
                const labels = [...this.anchor.options].map((o) => o.textContent.trim());
                assert(labels.some((l) => l === "Marketplace Account"), "account offered");
                for (const internal of ["Lease", "sort key", "Throttle", "Rate-limit"]) {
                    assert(
                        !labels.some((l) => l.includes(internal)),
                        `${internal} offered: ${labels}`
                    );
                }
            },
        },
        {
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_list_view:not(:has(select.o_add_custom_group_menu))",
        },
        {
            trigger: ".o_control_panel_navigation button.o_writeback_update",
            run: "click",
        },
        {
            content: "Update says what it did, and when",
            trigger: ".o_notification:contains('grid refreshed at')",
        },
        // Bulk retry: the failed one goes, the cancelled one is refused.
        {
            trigger: `${row(BAD)} .o_list_record_selector input`,
            run: "click",
        },
        {
            trigger: `${row(CANCELLED)} .o_list_record_selector input`,
            run: "click",
        },
        {
            trigger: ".o_control_panel button[name='action_writeback_retry']",
            run: "click",
        },
        {
            content: "Issue 19.7: a short list, a count per reason, by delivery and order",
            trigger:
                ".o_notification:contains('Retry now: 1 of 2 done') .o_writeback_bulk_result li.o_writeback_bulk_done:contains('1 queued to send again'):contains('(order 114-7100002-0000002)')",
        },
        {
            trigger:
                ".o_notification .o_writeback_bulk_result li.o_writeback_bulk_refused:contains('1 refused: the order is cancelled'):contains('(order 114-7100003-0000003)')",
        },
        {
            content: "The retried one left the queue",
            trigger: `.o_list_view:not(:has(${row(BAD)})) ${row(CANCELLED)}`,
        },
        // The cancelled order: no Retry, no manual steps, Mark as handled.
        {
            trigger: `${row(CANCELLED)} td[name='ecommerce_order_ref']`,
            run: "click",
        },
        {
            content: "Differs on marketplace is a ribbon, not a step after Success",
            trigger: ".o_form_view .ribbon:contains('Differs')",
        },
        {
            content: "Issue 19.9: attempts of the account's maximum",
            trigger: ".o_form_view .o_field_widget[name='writeback_attempt_count']:contains('1 of 5')",
        },
        {
            trigger: ".o_form_view .o_notebook a:contains('Attempt History')",
            run: "click",
        },
        {
            content: "Issue 19.5: the Attempt History headings are not cut",
            trigger: ".o_form_view .o_field_widget[name='writeback_call_ids'] thead th[data-name='outcome']",
            run() {
                const table = this.anchor.closest("table");
                for (const th of table.querySelectorAll("thead th[data-name]")) {
                    const title = th.querySelector(".o_column_title, span") || th;
                    assert(
                        title.scrollWidth <= title.clientWidth + 1,
                        `heading ${th.dataset.name} cut (${title.scrollWidth} > ${title.clientWidth})`
                    );
                }
            },
        },
        {
            trigger:
                ".o_form_view:not(:has(.o_statusbar_status)):not(:has(button[name='action_writeback_retry'])):not(:has(button[name='action_writeback_mark_manual'])) .o_writeback_cancelled_hint",
        },
        {
            content: "No 'confirm by hand' steps for a cancelled order",
            trigger: ".o_form_view .o_notebook:not(:has(a:contains('Confirm the Shipment by Hand')))",
        },
        {
            trigger: ".o_form_view button[name='action_writeback_mark_handled']",
            run: "click",
        },
        {
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            trigger: ".o_form_view .ribbon:contains('Cancelled')",
        },
        {
            trigger: ".o_breadcrumb .o_back_button a, .o_breadcrumb li:first a",
            run: "click",
        },
        // The delivery form shows the write-back state in its header.
        {
            trigger: `${row(TO_FIX)} td[name='ecommerce_order_ref']`,
            run: "click",
        },
        {
            trigger: ".o_form_view button[name='action_writeback_open_picking']",
            run: "click",
        },
        {
            content: "The delivery's header: a badge, and the message to fix",
            trigger:
                ".o_form_view .o_form_statusbar .o_writeback_header_state .badge.text-bg-warning:contains('Pending')",
        },
        {
            trigger: ".o_form_view .o_writeback_header_alert:contains('No tracking number')",
        },
        {
            trigger: ".o_breadcrumb li:first a",
            run: "click",
        },
        // Export: the file has the grid's rows, columns and times.
        {
            trigger: ".o_searchview_facet:contains('Needs attention') .o_facet_remove",
            run: "click",
        },
        {
            trigger: `.o_list_view:not(:has(.o_searchview_facet)) ${row(OK)}`,
        },
        {
            trigger: ".o_control_panel button.o_writeback_export",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='export_format'] input[data-value='grid_csv']",
            run: "click",
        },
        {
            trigger: ".modal footer button[name='action_export']",
            run: "click",
        },
        {
            content: "Downloaded without a popup window; the dialog closes",
            trigger: "body:not(:has(.modal)) .o_list_view",
        },
        {
            content: "The file's rows and times are the grid's",
            trigger: `.o_list_view ${row(OK)}`,
            run: checkExportAgainstGrid,
        },
        // Issue 19.5: every optional column on, the state stays in view.
        {
            trigger: ".o_optional_columns_dropdown_toggle",
            run: "click",
        },
        ...[
            "ecommerce_service_name",
            "writeback_shipped_qty",
            "name",
            "date_done",
            "writeback_attempt_count",
            "writeback_next_attempt",
        ].flatMap((name) => [
            {
                trigger: `.o-dropdown--menu input[name='${name}']:not(:checked)`,
                run: "click",
            },
            {
                trigger: `.o_list_view th[data-name='${name}']`,
            },
        ]),
        {
            content: "With every optional column on, the state column is on screen",
            trigger: ".o_list_view th[data-name='writeback_state']",
            run() {
                const right = this.anchor.getBoundingClientRect().right;
                assert(right <= window.innerWidth, `state column ends at ${right}px`);
                const attempts = document.querySelector("td[name='writeback_attempt_count']");
                assert(/\d+ of 5/.test(attempts.textContent), attempts.textContent);
            },
        },
        // Issue 19.9: an empty queue says so in its own words.
        {
            trigger: ".o_searchview_input",
            run: "edit ZZZ-NO-SUCH-ORDER",
        },
        {
            trigger: ".o_searchview_input",
            run: "press Enter",
        },
        {
            content: "Nothing needs attention, not stock's 'No transfer found'",
            trigger:
                ".o_view_nocontent:contains('Nothing needs attention'):not(:contains('No transfer found'))",
        },
    ],
});

// The Connection Status cards and Test connection on the account form.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_connection_tour", {
    steps: () => [
        {
            content: "Each card says when it was last checked",
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)') .o_ecommerce_checked_on:contains('Last checked at')",
        },
        {
            content: "Each colour is explained in the help page's words",
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)') .o_ecommerce_status_legend span[title*='connected and operating normally']",
        },
        {
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)') .o_ecommerce_success_today:contains('0 confirmed today')",
        },
        {
            content: "Issue 19.2: eBay is checked on the API it writes back with only",
            trigger:
                ".o_kanban_record:contains('eBay US (sandbox)') .o_ecommerce_api_badges:contains('Trading'):not(:contains('Fulfillment'))",
        },
        {
            content: "Issue 19.6: Update says what changed",
            trigger: ".o_control_panel button.o_ecommerce_status_update",
            run: "click",
        },
        {
            trigger:
                ".o_notification:contains('Statuses updated at') .o_ecommerce_status_changes li:contains('Amazon US (sandbox): Writeback API Red → Green')",
            run() {
                // Issue 19.9: one date format: the cards' and the grid's
                // ("Dec 2, 9:24 PM"), no seconds, no numeric date
                const title = this.anchor.closest(".o_notification").textContent;
                const time = title.match(/Statuses updated at ([^.]*)\./)[1];
                assert(
                    /^[A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2}\s?[AP]M$/.test(time),
                    `update time ${time} as the cards show times`
                );
            },
        },
        {
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)') .o_ecommerce_api_badges:contains('Writeback API: Green')",
        },
        {
            content: "Issue 19.6: the cards refresh themselves while open",
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)')",
            async run() {
                await rpc("/web/dataset/call_kw/ecommerce.api.status/search_read", {
                    model: "ecommerce.api.status",
                    method: "search_read",
                    args: [[["api", "=", "amazon_orders"]]],
                    kwargs: { fields: ["id"], limit: 1 },
                }).then(([status]) =>
                    rpc("/web/dataset/call_kw/ecommerce.api.status/write", {
                        model: "ecommerce.api.status",
                        method: "write",
                        args: [[status.id], { state: "yellow" }],
                        kwargs: {},
                    })
                );
            },
        },
        {
            content: "No click: the card shows the change by itself",
            trigger:
                ".o_kanban_record:contains('Amazon US (sandbox)') .o_ecommerce_api_badges:contains('Orders API: Yellow')",
            timeout: 15000,
        },
        {
            content: "The failed count opens the failed write-backs",
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)') a.o_ecommerce_failed:contains('1 failed')",
            run: "click",
        },
        {
            trigger: ".o_searchview_facet:contains('Failed')",
        },
        {
            trigger: `.o_list_view:not(:has(${row(OK)})) ${row(BAD)}`,
        },
    ],
});

// Test connection on the account form runs the status cron's probe.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_test_connection_tour", {
    steps: () => [
        {
            trigger: ".o_form_view button[name='action_test_connection']",
            run: "click",
        },
        {
            content: "Each API's result is shown on the form",
            trigger:
                ".o_form_view .o_ecommerce_test_ok:contains('Amazon Writeback API: Connected'):contains('Amazon Orders API: Connected')",
        },
    ],
});

/** No cell of these columns cuts its text (names, APIs, orders). */
function checkNotCut(columns) {
    for (const name of columns) {
        const th = document.querySelector(`.o_list_view th[data-name='${name}']`);
        assert(th, `column ${name} shown`);
        for (const cell of document.querySelectorAll(`.o_list_view td[name='${name}']`)) {
            const inner = cell.querySelector("span, a, div") || cell;
            assert(
                cell.scrollWidth <= cell.clientWidth + 1 &&
                    inner.scrollWidth <= inner.clientWidth + 1,
                `${name} cut in ${cell.textContent.trim()} (${cell.clientWidth}px)`
            );
        }
    }
}

// Issue 19.5: the API Calls list shows account, API and order names whole.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_api_calls_tour", {
    steps: () => [
        {
            trigger: ".o_list_view td[name='account_id']:contains('Amazon US (sandbox)')",
            run() {
                checkNotCut(["account_id", "api", "operation", "order_ref"]);
            },
        },
    ],
});

// Issue 19.5: the API Status list shows account and API names whole.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_api_status_tour", {
    steps: () => [
        {
            trigger: ".o_list_view td[name='api']:contains('Amazon Writeback API')",
            run() {
                checkNotCut(["account_id", "api"]);
            },
        },
    ],
});
