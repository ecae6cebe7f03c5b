from . import writeback_export
