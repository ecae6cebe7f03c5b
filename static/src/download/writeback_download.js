import { download } from "@web/core/network/download";
import { registry } from "@web/core/registry";

/**
 * Downloads an export through Odoo's standard download (an XHR whose answer
 * is saved as a file): no new window, so no popup blocker can stop it. Then
 * the export dialog closes.
 *
 * params.url: the file's /web/content URL.
 */
export async function writebackDownloadAction(env, action) {
    const { url } = action.params || {};
    await download({ url, data: {} });
    return { type: "ir.actions.act_window_close" };
}

registry.category("actions").add("stock_ecommerce_writeback.download", writebackDownloadAction);
