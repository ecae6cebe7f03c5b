"""Everything that talks to or about a marketplace: plain Python, no Odoo
import.

* :mod:`.platforms`: the registry, what the addon knows per marketplace;
* :mod:`.contract`: the interface every client keeps; one module per API
  implements it (:mod:`.amazon`, :mod:`.ebay_trading`,
  :mod:`.ebay_fulfillment`), on :mod:`.http` (with :mod:`.urls`,
  :mod:`.tokens` and :mod:`.pacer`) and the shapes of :mod:`.base`;
  ``confirm_shipment`` raises one of the errors of :mod:`.errors` or returns
  a :class:`~.base.ConfirmResult`, ``read_order`` returns an
  :class:`~.base.OrderView`, and every HTTP exchange is reported to
  ``on_call`` as a :class:`~.base.CallRecord` for the journal;
* :mod:`.policy`: what an outcome means (states, attempts, timings);
  :mod:`.validate`, :mod:`.health` and :mod:`.exports`: local checks, API
  health and the upload files.
"""
