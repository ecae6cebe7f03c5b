from . import ecommerce_account
from . import ecommerce_api_call
from . import ecommerce_api_status
from . import delivery_carrier
from . import sale_order
from . import stock_picking
from . import ecommerce_product_listing
from . import product
