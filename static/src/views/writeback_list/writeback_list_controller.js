import { onWillStart, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { toLocaleDateTimeString } from "@web/core/l10n/dates";
import { useService } from "@web/core/utils/hooks";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { ListController } from "@web/views/list/list_controller";
import { listView } from "@web/views/list/list_view";
import { orderByToString } from "@web/search/utils/order_by";

export const EXPORT_GROUP = "stock_ecommerce_writeback.group_writeback_accountant";

/**
 * The write-back grid: a list with an "Update" button at the top right
 * (refresh the marketplace status now, then reload the grid) and, for
 * accountants, an "Export" button that opens the export wizard on the rows
 * listed (or selected), in the order listed.
 */
export class WritebackListController extends ListController {
    static template = "stock_ecommerce_writeback.WritebackListView";

    setup() {
        super.setup();
        this.writebackState = useState({ updating: false });
        this.notification = useService("notification");
        onWillStart(async () => {
            this.canExport = await user.hasGroup(EXPORT_GROUP);
        });
    }

    async onClickUpdate() {
        this.writebackState.updating = true;
        try {
            await this.orm.call("ecommerce.api.status", "action_refresh_now", []);
            await this.model.load();
            this.notification.add(
                _t("Marketplace statuses recomputed and grid refreshed at %(time)s.", {
                    time: toLocaleDateTimeString(luxon.DateTime.local()),
                }),
                { type: "success", className: "o_writeback_update_done" }
            );
        } finally {
            this.writebackState.updating = false;
        }
    }

    /**
     * What the wizard needs to list the same deliveries in the same order:
     * the grid's domain, grouping and sort, and the selected rows in screen
     * order (none when "select all" picked the whole domain).
     */
    get exportContext() {
        const root = this.model.root;
        const context = {
            active_model: this.props.resModel,
            export_domain: root.domain,
            export_group_by: root.groupBy || [],
            export_order: orderByToString(root.orderBy.filter((o) => o.name !== "__count")),
            // The file has the columns the grid shows, in its order, with
            // its headings, and its times in the zone the grid shows them.
            export_columns: this.props.archInfo.columns
                .filter((col) => col.type === "field")
                .filter((col) => !col.optional || this.optionalActiveFields[col.name])
                .map((col) => [col.name, col.label || this.props.fields[col.name].string]),
            export_tz: luxon.Settings.defaultZone.name,
            default_unconfirmed_only: true,
        };
        if (!root.isDomainSelected && root.selection.length) {
            context.export_ids = root.selection.map((record) => record.resId);
        }
        return context;
    }

    async onClickExport() {
        await this.actionService.doAction("stock_ecommerce_writeback.action_writeback_export", {
            additionalContext: this.exportContext,
        });
    }
}

export const writebackListView = {
    ...listView,
    Controller: WritebackListController,
};

registry.category("views").add("ecommerce_writeback_list", writebackListView);
