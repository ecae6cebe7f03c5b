import { registry } from "@web/core/registry";

// Shipment Information > Delivery: the delivery form opens for the user
// (Inventory user or accountant), with its carrier, and no error dialog.
registry.category("web_tour.tours").add("stock_ecommerce_writeback_open_delivery_tour", {
    steps: () => [
        {
            content: "The Shipment Information of the delivery",
            trigger: ".o_form_view .o_field_widget[name='ecommerce_order_ref']:contains('114-8000001-0000001')",
        },
        {
            trigger: ".o_form_view button[name='action_writeback_open_picking']",
            run: "click",
        },
        {
            content: "The delivery form (not the Shipment Information any more), with its moves",
            trigger: ".o_form_view:not(:has(button[name='action_writeback_open_picking'])) .o_field_widget[name='move_ids'] .o_data_row:contains('Widget A')",
        },
        {
            trigger: ".o_form_view .o_notebook a[name='extra']",
            run: "click",
        },
        {
            content: "Its carrier (a field whose domain reads every carrier's zip prefixes)",
            trigger: ".o_form_view .o_field_widget[name='carrier_id']:contains('UPS Ground')",
        },
        {
            trigger: ".o_form_view .o_field_widget[name='carrier_tracking_ref'] input:value('1Z8000001')",
        },
        {
            content: "No error dialog (an access error shows one)",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
