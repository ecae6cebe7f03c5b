from . import test_writeback_amazon
from . import test_writeback_ebay
from . import test_writeback_resilience
from . import test_api_status
from . import test_security
