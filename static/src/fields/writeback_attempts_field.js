import { Component, xml } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * A write-back's attempts against the account's maximum: "1 of 5".
 */
export class WritebackAttemptsField extends Component {
    static template = xml`<span class="o_writeback_attempts" t-esc="text"/>`;
    static props = { ...standardFieldProps };

    get text() {
        const count = this.props.record.data[this.props.name] || 0;
        const max = this.props.record.data.writeback_max_attempts;
        return max ? _t("%(count)s of %(max)s", { count, max }) : String(count);
    }
}

registry.category("fields").add("writeback_attempts", {
    component: WritebackAttemptsField,
    displayName: _t("Attempts of the maximum"),
    supportedTypes: ["integer"],
    fieldDependencies: [{ name: "writeback_max_attempts", type: "integer" }],
});
