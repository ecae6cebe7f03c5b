import { registry } from "@web/core/registry";

// The grid's control panel: "Update" at the top right refreshes the grid,
// "Export" opens the export wizard on the rows listed.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_export_buttons", {
    steps: () => [
        // These deliveries have no order: show the Shipment column (optional,
        // hidden at first so that the reason gets the room).
        {
            trigger: ".o_optional_columns_dropdown_toggle",
            run: "click",
        },
        {
            trigger: ".o-dropdown--menu input[name='name']:not(:checked)",
            run: "click",
        },
        {
            trigger: ".o_list_view .o_data_row td[name='name']:contains('WBX/OUT/0002')",
        },
        {
            trigger: ".o_control_panel_navigation button.o_writeback_update",
            run: "click",
        },
        {
            trigger: ".o_control_panel_navigation button.o_writeback_update:not([disabled])",
        },
        {
            trigger: ".o_list_view .o_data_row td[name='name']:contains('WBX/OUT/0002')",
        },
        {
            trigger: ".o_control_panel button.o_writeback_export",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='export_format'] input[data-value='amazon_flat']",
        },
        {
            trigger: ".modal .o_field_widget[name='picking_count']:contains('2')",
        },
        {
            trigger: ".modal button[special='cancel']",
            run: "click",
        },
        // Selected rows only.
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            trigger:
                ".o_data_row:has(td[name='name']:contains('WBX/OUT/0003')) .o_list_record_selector input",
            run: "click",
        },
        {
            trigger: ".o_control_panel button.o_writeback_export",
            run: "click",
        },
        {
            trigger: ".modal .o_field_widget[name='picking_count']:contains('1')",
        },
        {
            trigger: ".modal button[special='cancel']",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});
