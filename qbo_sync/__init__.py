"""Keep a Django invoicing product in sync with QuickBooks Online."""

__version__ = "0.1.0"
