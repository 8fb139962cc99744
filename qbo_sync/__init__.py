"""Keep a Django invoicing product in sync with QuickBooks Online."""

from . import _moved

__version__ = "0.1.0"

_moved.install()
