import { registry } from "@web/core/registry";

const BAD = "114-7100002-0000002"; // Amazon refused its tracking number
const TO_FIX = "114-7100004-0000004"; // no tracking number

function row(ref) {
    return `.o_data_row:has(td[name='ecommerce_order_ref']:contains('${ref}'))`;
}

/**
 * Guidance that fits the error: a tracking number the marketplace refused,
 * or none at all, is corrected on the delivery (the action that helps is
 * the highlighted one); no "confirm by hand" steps that would be refused
 * the same way; a missing tracking number can be entered from here.
 */
registry.category("web_tour.tours").add("stock_ecommerce_writeback_guidance_tour", {
    steps: () => [
        {
            trigger: `${row(BAD)} td[name='ecommerce_order_ref']`,
            run: "click",
        },
        {
            content: "A refused tracking number: correct it, it is sent again",
            trigger: ".o_form_view .o_writeback_fix_hint:contains('sent again')",
        },
        {
            content: "The highlighted action is the one that helps",
            trigger:
                ".o_form_view .o_statusbar_buttons button.btn-primary[name='action_writeback_open_picking']",
        },
        {
            content: "Retry now is there, but not highlighted",
            trigger:
                ".o_form_view:not(:has(button.btn-primary[name='action_writeback_retry'])) button.o_writeback_retry_plain",
        },
        {
            content: "No steps to confirm by hand what would be refused too",
            trigger:
                ".o_form_view .o_writeback_alert:not(:has(.o_writeback_cancelled_hint)):visible",
            run() {
                const tabs = [...document.querySelectorAll(".o_form_view .o_notebook .nav-link")];
                if (tabs.some((tab) => tab.textContent.includes("Confirm the Shipment by Hand"))) {
                    throw new Error("the manual steps are offered for a refused tracking number");
                }
            },
        },
        {
            trigger: ".o_breadcrumb .o_back_button, .o_breadcrumb a:first",
            run: "click",
        },
        {
            trigger: `${row(TO_FIX)} td[name='ecommerce_order_ref']`,
            run: "click",
        },
        {
            content: "No tracking number: no empty box to copy, a way to enter it",
            trigger:
                ".o_form_view .o_writeback_no_tracking button[name='action_writeback_open_picking']",
        },
        {
            trigger: ".o_form_view .o_writeback_no_tracking button",
            run: "click",
        },
        {
            content: "The delivery opens (Inventory's form), where the tracking number is entered",
            trigger: ".o_form_view .o_field_widget[name='picking_type_id']",
        },
    ],
});
