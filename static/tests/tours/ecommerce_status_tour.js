import { registry } from "@web/core/registry";

// A warehouse accountant's round: Inventory > eCommerce Status, the
// account's coloured API statuses, the failed write-backs sorted by last
// attempt, the shipment's manual-confirmation steps, Retry now, Export.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_status_tour", {
    steps: () => [
        {
            trigger: ".o_main_navbar .o_menu_sections button:contains('eCommerce Status')",
            run: "click",
        },
        {
            trigger: ".o-dropdown--menu .o-dropdown-item:contains('Connection Status')",
            run: "click",
        },
        {
            content: "The Amazon account shows its API statuses as coloured badges",
            trigger:
                ".o_kanban_record:contains('Amazon US (sandbox)') .o_ecommerce_api_badges .o_tag.o_tag_color_10:contains('Writeback API')",
        },
        {
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)') .o_ecommerce_api_badges .o_tag:contains('Orders API')",
        },
        {
            content: "A click on the account opens its write-backs",
            trigger: ".o_kanban_record:contains('Amazon US (sandbox)')",
            run: "click",
        },
        {
            content: "Only that account's write-backs: not the eBay account's",
            trigger: ".o_list_view:not(:has(td[name='ecommerce_order_ref']:contains('17-70003-70003'))) .o_data_row td[name='ecommerce_order_ref']:contains('114-7000001-0000001')",
        },
        {
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            trigger: ".o_filter_menu .o-dropdown-item:contains('Failed')",
            run: "click",
        },
        {
            content: "Only the failed write-back is left",
            trigger: ".o_list_view:not(:has(td[name='ecommerce_order_ref']:contains('114-7000001-0000001'))) .o_data_row td[name='ecommerce_order_ref']:contains('114-7000002-0000002')",
        },
        {
            content: "The grid is newest attempt first; a click clears that sort",
            trigger: ".o_list_view th[data-name='writeback_last_attempt']:has(.fa-sort-desc)",
            run: "click",
        },
        {
            trigger: ".o_list_view th[data-name='writeback_last_attempt']:not(:has(.fa-sort-desc))",
            run: "click",
        },
        {
            content: "... and the next one sorts by last attempt, oldest first",
            trigger: ".o_list_view th[data-name='writeback_last_attempt'] .fa-sort-asc",
        },
        {
            trigger: ".o_data_row td[name='ecommerce_order_ref']:contains('114-7000002-0000002')",
            run: "click",
        },
        {
            content: "The failed shipment explains how to confirm it in Seller Central",
            trigger: ".o_writeback_manual_steps:contains('Confirm shipment'):contains('Seller Central')",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='carrier_tracking_ref']:contains('1Z7000002')",
        },
        {
            trigger: ".o_form_view button[name='action_writeback_retry']",
            run: "click",
        },
        {
            content: "Retried: pending again, the steps are gone",
            trigger: ".o_form_view:not(:has(.o_writeback_manual_steps)) .o_field_widget[name='writeback_state'] .badge.text-bg-warning",
        },
        {
            trigger: ".o_breadcrumb .o_back_button, .o_breadcrumb a:first",
            run: "click",
        },
        {
            content: "Back on the grid, drop the Failed filter: both write-backs are listed",
            trigger: ".o_searchview_facet:contains('Failed') .o_facet_remove",
            run: "click",
        },
        {
            content: "Still that account's only",
            trigger: ".o_list_view:not(:has(td[name='ecommerce_order_ref']:contains('17-70003-70003'))) .o_data_row td[name='ecommerce_order_ref']:contains('114-7000001-0000001')",
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
            trigger: "body:not(:has(.modal))",
        },
    ],
});
