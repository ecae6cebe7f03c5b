# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "eCommerce Shipment Write-back (Amazon, eBay)",
    "summary": "Write tracking numbers of shipped deliveries back to Amazon "
    "and eBay, verify them, and watch it all on an eCommerce Status screen",
    "version": "19.0.1.6.0",
    "category": "Inventory/Delivery",
    "author": "stock_ecommerce_writeback contributors",
    "website": "https://github.com/stock-ecommerce-writeback/stock_ecommerce_writeback",
    "license": "LGPL-3",
    "development_status": "Beta",
    "depends": ["sale_stock", "stock_delivery"],
    "external_dependencies": {"python": ["requests", "python-dateutil"]},
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "data/ecommerce.carrier.code.csv",
        "data/ir_cron.xml",
        "data/ir_cron_catalog.xml",
        "data/ir_cron_reconcile.xml",
        "views/writeback_templates.xml",
        "views/ecommerce_account_views.xml",
        "views/ecommerce_api_call_views.xml",
        "views/ecommerce_api_status_views.xml",
        "views/ecommerce_carrier_code_views.xml",
        "views/delivery_carrier_views.xml",
        "views/sale_order_views.xml",
        "views/stock_picking_views.xml",
        "views/reconciliation_views.xml",
        "views/menus.xml",
        "views/res_config_settings_views.xml",
        "views/ecommerce_product_listing_views.xml",
        "wizards/writeback_export_views.xml",
    ],
    "demo": [
        "demo/demo.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "stock_ecommerce_writeback/static/src/views/writeback_list/*",
            "stock_ecommerce_writeback/static/src/views/status_kanban/*",
            "stock_ecommerce_writeback/static/src/fields/*",
            "stock_ecommerce_writeback/static/src/bulk_result/*",
            "stock_ecommerce_writeback/static/src/scss/*",
            "stock_ecommerce_writeback/static/src/download/*",
        ],
        "web.assets_tests": [
            "stock_ecommerce_writeback/static/tests/tours/*.js",
        ],
    },
}
