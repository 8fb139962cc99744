"""The simulated Accounting API, one module per concern: ``api`` routes requests;
``names`` (customers, vendors, employees, items), ``sales`` (invoices, credit memos,
refund receipts), ``payments`` and ``balances`` hold the entity rules; ``lines`` prices
lines and tax; ``rules`` checks references and names; ``query``, ``cdc`` and ``batch``
are the read endpoints; ``accountant`` is what a person does in the QuickBooks UI."""

from .accountant import Accountant
from .api import Accounting

__all__ = ["Accountant", "Accounting"]
