# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The addon's users open deliveries: an Inventory user (who gets the
write-back User level) and the accountant (Manual Confirmation and Export)
read the delivery form and follow the Shipment Information's *Delivery*
button, as the web client does (``get_views`` then ``web_read`` with the
form's field spec, which ``Form`` does too).

The delivery form of ``stock_delivery`` is editable, so Odoo adds the fields
of ``carrier_id``'s domain (``[('id', 'in', allowed_carrier_ids)]``) to it;
``allowed_carrier_ids`` is computed as the user and reads every carrier's
``zip_prefix_ids``, a model Inventory users cannot read in core."""

from odoo.tests import Form, new_test_user, tagged

from .common import WritebackCase, WritebackHttpCase
from .fixtures import AMAZON_MARKETPLACE

ORDER = "114-8000001-0000001"
ITEM = "81000000000001"


class DeliveryAccessMixin:
    @classmethod
    def _users(cls):
        cls.inventory_user = new_test_user(
            cls.env, "wb_inventory_only", groups="stock.group_stock_user"
        )
        cls.accountant = new_test_user(
            cls.env,
            "wb_delivery_accountant",
            groups="stock_ecommerce_writeback.group_writeback_accountant",
        )

    def _delivery(self):
        self.sandbox.add_amazon_order(
            ORDER,
            marketplace_id=AMAZON_MARKETPLACE,
            items=[{"order_item_id": ITEM, "quantity": 1}],
        )
        order = self.make_order(self.amazon, ORDER, [(self.product_a, 1, ITEM)])
        return self.ship(order.picking_ids, "1Z8000001")


@tagged("post_install", "-at_install")
class TestDeliveryAccess(DeliveryAccessMixin, WritebackCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._users()
        cls.customer.write({"zip": "10001"})
        # A carrier for Paris only: the customer in New York cannot use it,
        # which the delivery form knows by reading its zip prefixes.
        cls.paris_carrier = cls.carrier.copy({"name": "Paris Courier"})
        cls.paris_carrier.zip_prefix_ids = cls.env["delivery.zip.prefix"].create(
            {"name": "75"}
        )

    def test_inventory_users_get_the_writeback_user_level(self):
        """README, Access rights: every Inventory user gets User; the
        accountant's level implies Inventory / User."""
        for user in (self.inventory_user, self.accountant):
            self.assertTrue(user.has_group("stock.group_stock_user"), user.login)
            self.assertTrue(
                user.has_group("stock_ecommerce_writeback.group_writeback_user"),
                user.login,
            )
        self.assertFalse(
            self.inventory_user.has_group(
                "stock_ecommerce_writeback.group_writeback_accountant"
            )
        )

    def _assert_delivery_form(self, form, picking):
        self.assertEqual(form.name, picking.name)
        self.assertEqual(form.carrier_id, self.carrier)
        self.assertEqual(form.carrier_tracking_ref, "1Z8000001")
        self.assertIn(self.carrier, form.allowed_carrier_ids)
        self.assertNotIn(self.paris_carrier, form.allowed_carrier_ids)

    def test_inventory_user_and_accountant_open_the_delivery_form(self):
        picking = self._delivery()
        for user in (self.inventory_user, self.accountant):
            with self.subTest(user=user.login):
                form = Form(picking.with_user(user), "stock.view_picking_form")
                self._assert_delivery_form(form, picking)
                self.assertEqual(form.writeback_state, "pending")

    def test_shipment_information_delivery_button_opens_the_delivery(self):
        picking = self._delivery()
        for user in (self.inventory_user, self.accountant):
            with self.subTest(user=user.login):
                shipment = Form(
                    picking.with_user(user),
                    "stock_ecommerce_writeback.view_writeback_form",
                )
                self.assertEqual(shipment.ecommerce_order_ref, ORDER)
                action = picking.with_user(user).action_writeback_open_picking()
                form = Form.from_action(picking.with_user(user).env, action)
                self.assertEqual(form._record, picking)
                self._assert_delivery_form(form, picking)


@tagged("post_install", "-at_install")
class TestDeliveryAccessTour(DeliveryAccessMixin, WritebackHttpCase):
    """The same in a real browser: the Shipment Information's *Delivery*
    button opens the delivery form without an error dialog."""

    def test_delivery_button_tour(self):
        self._users()
        picking = self._delivery()
        for user in (self.inventory_user, self.accountant):
            with self.subTest(user=user.login):
                self.start_tour(
                    "/odoo/action-stock_ecommerce_writeback.action_writeback_grid/"
                    f"{picking.id}",
                    "stock_ecommerce_writeback_open_delivery_tour",
                    login=user.login,
                )
