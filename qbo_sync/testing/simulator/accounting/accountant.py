"""What an accountant does by hand in the QuickBooks UI, for tests and the demo: receive
a payment, edit, void or delete an invoice, add a vendor or employee. Each one saves and
notifies exactly as the API would, so CDC and webhooks see it (docs/qbo-rules.md §6, §7)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from ..companies import currency_ref
from ..entities import PEOPLE, ApiError, clone
from .names import write_person
from .payments import record_for_invoice
from .rules import check_display_name, check_unique_name
from .sales import delete_sales, update_sales, void_invoice
from .time import write_time_activity

if TYPE_CHECKING:
    from ..store import Store


class Accountant:
    """Edits one simulated store the way a person in the QBO UI would."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record_payment(self, realm_id: str, invoice_id: str, amount: Decimal, *,
                       txn_date: str | None = None, method: str = "",
                       reference: str = "") -> dict:
        """Receive a payment against one invoice; returns the Payment."""
        with self.store.transaction():
            return clone(record_for_invoice(self.store, realm_id, invoice_id, Decimal(amount),
                                            txn_date=txn_date, method=method,
                                            reference=reference))

    def edit_invoice(self, realm_id: str, invoice_id: str, changes: dict) -> dict:
        """Edit an invoice: ``changes`` as a sparse update body (no SyncToken)."""
        with self.store.transaction():
            current = self._require(realm_id, "Invoice", invoice_id)
            body = {**changes, "Id": invoice_id, "SyncToken": current["SyncToken"],
                    "sparse": True}
            return clone(update_sales(self.store, realm_id, "Invoice", body, {}))

    def edit_time_activity(self, realm_id: str, activity_id: str, changes: dict) -> dict:
        """Edit a time activity in QuickBooks (``changes`` over what it holds)."""
        with self.store.transaction():
            current = self._require(realm_id, "TimeActivity", activity_id)
            body = {**changes, "Id": activity_id, "SyncToken": current["SyncToken"],
                    "sparse": True}
            return clone(write_time_activity(self.store, realm_id, body))

    def void_invoice(self, realm_id: str, invoice_id: str) -> dict:
        """Void; payments on it become unapplied credit."""
        with self.store.transaction():
            self._require(realm_id, "Invoice", invoice_id)
            return clone(void_invoice(self.store, realm_id, invoice_id))

    def delete_invoice(self, realm_id: str, invoice_id: str) -> dict:
        """Delete; unlike the API, the UI unlinks payments first."""
        with self.store.transaction():
            self._require(realm_id, "Invoice", invoice_id)
            return clone(delete_sales(self.store, realm_id, "Invoice", invoice_id,
                                      unlink_payments=True))

    def add_name(self, realm_id: str, entity: str, display_name: str) -> dict:
        """Add a Vendor or Employee (to exercise the cross-list 6240 rule)."""
        if entity not in PEOPLE or entity == "Customer":
            raise ValueError("add_name takes entity 'Vendor' or 'Employee'")
        store = self.store
        with store.transaction():
            check_display_name(display_name)
            check_unique_name(store, realm_id, display_name)
            home = store.info(realm_id)["home_currency"]
            obj = {"DisplayName": display_name, "Active": True}
            if entity == "Vendor":
                obj["CurrencyRef"] = currency_ref(home)
            return clone(store.save(realm_id, entity, obj, "Create"))

    def add_customer(self, realm_id: str, display_name: str, *, email: str = "",
                     active: bool = True, parent_id: str = "", **fields: object) -> dict:
        """Add a customer as the QBO UI would (a company's existing customers, for the
        customer import); ``parent_id`` makes it a sub-customer (a job)."""
        body: dict = {"DisplayName": display_name, "Active": active, **fields}
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        if parent_id:
            body["ParentRef"] = {"value": parent_id}
            body["Job"] = True
        with self.store.transaction():
            return clone(write_person(self.store, realm_id, "Customer", body))

    def _require(self, realm_id: str, entity: str, id: str) -> dict:
        obj = self.store.raw(realm_id, entity, id)
        if obj is None:
            raise ApiError("610", "Object Not Found", f"No {entity} with Id {id} in realm "
                           f"{realm_id}")
        return obj
