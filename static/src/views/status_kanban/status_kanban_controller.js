import { markup, onMounted, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { toLocaleDateTimeString } from "@web/core/l10n/dates";
import { htmlJoin, htmlSprintf } from "@web/core/utils/html";
import { useService } from "@web/core/utils/hooks";
import { KanbanController } from "@web/views/kanban/kanban_controller";
import { kanbanView } from "@web/views/kanban/kanban_view";

/**
 * Connection Status: the account cards refresh themselves while the screen
 * is open (every few seconds, as set by the system parameter
 * stock_ecommerce_writeback.status_refresh_seconds), and *Update* recomputes
 * the statuses now and says what changed ("Amazon US: Writeback API Red →
 * Green").
 */
export class StatusKanbanController extends KanbanController {
    static template = "stock_ecommerce_writeback.StatusKanbanView";

    setup() {
        super.setup();
        this.statusState = useState({ updating: false });
        this.notification = useService("notification");
        this.orm = useService("orm");
        onWillStart(async () => {
            this.refreshSeconds = await this.orm.call(
                "ecommerce.api.status",
                "get_refresh_seconds",
                []
            );
        });
        onMounted(() => {
            if (this.refreshSeconds > 0) {
                this.refreshTimer = browser.setInterval(
                    () => this.refreshCards(),
                    this.refreshSeconds * 1000
                );
            }
        });
        onWillUnmount(() => browser.clearInterval(this.refreshTimer));
    }

    async refreshCards() {
        if (!this.statusState.updating && !document.hidden) {
            await this.model.load();
        }
    }

    async onClickUpdate() {
        this.statusState.updating = true;
        try {
            const changes = await this.orm.call("ecommerce.api.status", "action_refresh_now", []);
            await this.model.load();
            const time = toLocaleDateTimeString(luxon.DateTime.local());
            const list = Array.isArray(changes) ? changes : [];
            this.notification.add(
                list.length
                    ? htmlSprintf(
                          markup('<ul class="mb-0 ps-3 o_ecommerce_status_changes">%s</ul>'),
                          htmlJoin(list.map((line) => htmlSprintf(markup("<li>%s</li>"), line)))
                      )
                    : _t("No status changed since the last check."),
                {
                    title: _t("Statuses updated at %(time)s", { time }),
                    type: list.length ? "warning" : "success",
                    className: "o_ecommerce_status_update_done",
                }
            );
        } finally {
            this.statusState.updating = false;
        }
    }
}

export const statusKanbanView = {
    ...kanbanView,
    Controller: StatusKanbanController,
};

registry.category("views").add("ecommerce_status_kanban", statusKanbanView);
