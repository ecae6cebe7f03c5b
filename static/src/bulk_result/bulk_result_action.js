import { markup } from "@odoo/owl";
import { registry } from "@web/core/registry";

/**
 * The result of a bulk action on write-backs: a notification whose body is
 * the short list the server wrote (one line per outcome, with its count and
 * the deliveries by delivery and order; escaped there), then ``next``.
 */
export function writebackBulkResultAction(env, action) {
    const params = action.params || {};
    env.services.notification.add(markup(params.html || ""), {
        title: params.title,
        type: params.type || "info",
        sticky: params.sticky || false,
        className: "o_writeback_bulk_notification",
    });
    return params.next;
}

registry.category("actions").add("stock_ecommerce_writeback.bulk_result", writebackBulkResultAction);
