"""Marketplace clients: plain Python, no Odoo import.

One module per API, all behind the small interface of :mod:`.base`:
``confirm_shipment(Shipment)`` raises one of the errors of :mod:`.errors`
or returns a :class:`~.base.ConfirmResult`; ``read_order(order_ref)`` returns an
:class:`~.base.OrderView`. Every HTTP exchange is reported to the ``on_call``
callback as a :class:`~.base.CallRecord` so the ORM layer can journal it.
"""
