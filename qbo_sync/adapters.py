"""The host-facing contract. A host writes one small module with one adapter per kind
of object and names them in ``QBO_SYNC["ADAPTERS"]``::

    QBO_SYNC = {"ADAPTERS": {
        "contact": "billing.qbo.ContactAdapter",
        "invoice": "billing.qbo.InvoiceAdapter",
        "payment": "billing.qbo.PaymentAdapter",
        "credit_memo": "billing.qbo.CreditMemoAdapter",
        "refund": "billing.qbo.RefundAdapter",
    }}

Each adapter names its model (``"app_label.Model"``), says which workspace an object
belongs to, turns an object into neutral data (:mod:`qbo_sync.data`), and, for
invoices, applies what comes back from QBO.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, ClassVar

from django.apps import apps
from django.db import models
from django.utils.module_loading import import_string

from . import data
from .conf import app_settings
from .exceptions import ConfigurationError

KINDS = ("contact", "invoice", "payment", "credit_memo", "refund", "time_entry")


class BaseAdapter:
    """Common part of every adapter."""

    #: ``"app_label.ModelName"`` of the host model this adapter covers.
    model: ClassVar[str] = ""
    #: Host fields whose change should trigger a push (None: any save).
    watched_fields: ClassVar[tuple[str, ...] | None] = None
    #: Other host models whose saves and deletes change this object, as
    #: ``{"app_label.Model": "attribute naming the parent"}`` (e.g. invoice lines).
    related_models: ClassVar[dict[str, str]] = {}
    #: Relations ``to_data`` and the other hooks read, prefetched when many objects are
    #: read at once (a batch run, a reconciliation chunk): names or ``Prefetch``
    #: objects, e.g. ``("lines", "payments")``.
    prefetch: ClassVar[tuple[str | models.Prefetch, ...]] = ()

    def get_model(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def workspace_of(self, obj: Any) -> str:
        """The workspace key the object belongs to."""
        raise NotImplementedError

    def objects_for(self, workspace: str) -> models.QuerySet:
        """The workspace's objects, for historical syncs. Override with a filter (and
        ``select_related`` for what ``workspace_of`` reads); the default returns every
        object and lets the caller check ``workspace_of`` one by one."""
        return self.get_model()._default_manager.all()

    def should_sync(self, obj: Any) -> bool:
        """Whether the object is in a state that syncs at all."""
        return True

    def objects_by_key(self, workspace: str, keys: Iterable[Any]) -> dict[str, Any]:
        """The objects with these primary keys, read at once and keyed by ``str(pk)``:
        the workspace's queryset (its ``select_related``) with :attr:`prefetch`. One
        that moved to another workspace is still read, plainly; a key that names no
        object (deleted, or not a key at all) is left out."""
        model = self.get_model()
        pk = model._meta.pk
        wanted = []
        for value in keys:
            try:
                wanted.append(pk.to_python(value))
            except Exception:  # noqa: BLE001 - a key the host can no longer read
                continue
        objs = self.objects_for(workspace).filter(pk__in=wanted)
        if self.prefetch:
            objs = objs.prefetch_related(*self.prefetch)
        found = {str(obj.pk): obj for obj in objs}
        if missing := [key for key in wanted if str(key) not in found]:
            found.update({str(key): obj for key, obj in
                          model._default_manager.in_bulk(missing).items()})
        return found


class ContactAdapter(BaseAdapter):
    #: Customer import (``qbo_sync.imports``): whether sub-customers and jobs
    #: (``Job`` true or a ``ParentRef``) and inactive customers are imported. Default:
    #: both are skipped, and listed as skipped in the run.
    import_sub_customers: ClassVar[bool] = False
    import_inactive: ClassVar[bool] = False

    def to_data(self, obj: Any) -> data.ContactData:
        raise NotImplementedError

    def update_contact(self, obj: Any, data: dict[str, Any]) -> None:
        """Take a customer's edit made in QuickBooks (``PULL_CUSTOMER_CHANGES``).
        ``data`` holds only the fields to change, by these keys: ``display_name``,
        ``company_name``, ``email``, ``phone``, ``address_line1``, ``address_line2``,
        ``city``, ``region``, ``postal_code``, ``country`` (str, "" when cleared there).
        Not overridden: customer edits are not pulled."""
    def should_import(self, customer: data.ImportedCustomer) -> bool:
        """Whether a QuickBooks customer that matches no contact is imported. Default:
        active top-level customers, as the two attributes above say."""
        if customer.is_sub_customer and not self.import_sub_customers:
            return False
        return customer.active or self.import_inactive

    def create_contact(self, customer: data.ImportedCustomer) -> Any:
        """Create the host contact for a QuickBooks customer that matches none, and
        return it (saved). Optional: without it an import only links matches and lists
        the rest as skipped."""
        raise NotImplementedError


class InvoiceAdapter(BaseAdapter):
    def to_data(self, obj: Any) -> data.InvoiceData:
        raise NotImplementedError

    def status_of(self, obj: Any) -> str:
        """One of ``draft``, ``sent``, ``paid``, ``void``."""
        raise NotImplementedError

    def issue_date_of(self, obj: Any) -> Any:
        """The invoice's issue date. Override with a plain field read: the default
        builds the whole neutral invoice (lines included) on every save."""
        return self.to_data(obj).issue_date

    def contact_of(self, obj: Any) -> Any:
        """The host contact object the invoice is billed to."""
        raise NotImplementedError

    def mark_paid(self, obj: Any, *, paid_at: Any, source: str = "quickbooks") -> None:
        """Mark the invoice paid because QBO says its balance is 0."""
        raise NotImplementedError

    def mark_overdue(self, obj: Any, overdue: bool) -> None:
        """QuickBooks says the invoice is now overdue (an open balance past its due
        date) or no longer is (paid, voided, or the due date moved). Optional: without
        it qbo_sync still counts overdue invoices in the status summary."""
        raise NotImplementedError

    def payments_of(self, obj: Any) -> Iterable[Any]:
        """The host payments recorded against the invoice (pushed by a historical sync
        after the invoice). Default: none."""
        return ()

    def record_payment(self, obj: Any, payment: data.PulledPayment) -> Any | None:
        """Record a payment made in QBO. Return the host payment, or None if the host
        does not record pulled payments."""
        return None

    def settlement_of(self, obj: Any) -> data.Settlement:
        """For an invoice marked paid without payment records for all of it: the date,
        method and reference of the payment to push for the rest
        (``PAID_WITHOUT_PAYMENT = "push"``). Not overridden: reconciliation reports such
        invoices instead."""
        raise NotImplementedError

    def accept_quickbooks(self, obj: Any, record: dict) -> None:
        """Take QuickBooks' version of the invoice into the app: a reconciliation
        repair a person chose. ``record`` is QBO's Invoice (``"status": "Deleted"``
        when it was deleted there, amounts 0 and PrivateNote "Voided…" when voided).
        Not overridden: reconciliation never offers "accept QuickBooks' version"."""
        raise NotImplementedError


class PaymentAdapter(BaseAdapter):
    def to_data(self, obj: Any) -> data.PaymentData:
        raise NotImplementedError

    def invoice_of(self, obj: Any) -> Any:
        raise NotImplementedError

    def qbo_id_of(self, obj: Any) -> str:
        """The QuickBooks Payment Id of a payment recorded from QuickBooks, if the host
        kept it (``PulledPayment.qbo_id``); lets reconciliation tell which QuickBooks
        payment the app lacks. Default: unknown."""
        return ""


class CreditMemoAdapter(BaseAdapter):
    def to_data(self, obj: Any) -> data.CreditMemoData:
        raise NotImplementedError


class RefundAdapter(BaseAdapter):
    def to_data(self, obj: Any) -> data.RefundData:
        raise NotImplementedError


class TimeEntryAdapter(BaseAdapter):
    """Time worked, pushed as QuickBooks TimeActivity records (kind ``time_entry``)."""

    def to_data(self, obj: Any) -> data.TimeEntryData:
        raise NotImplementedError

    def contact_of(self, obj: Any) -> Any | None:
        """The host contact the time is for (its customer is pushed first), or None."""
        raise NotImplementedError

    def billed_by(self, invoice: Any) -> Iterable[Any]:
        """The host time entries an invoice bills. After that invoice reaches
        QuickBooks each one is passed to :meth:`mark_billed`. Default: none."""
        return ()

    def mark_billed(self, obj: Any, *, invoice: Any) -> None:
        """Record in the app that ``invoice`` billed the entry; its next ``to_data``
        says ``billed=True`` (and the save pushes BillableStatus HasBeenBilled)."""
        raise NotImplementedError


@cache
def _load(path: str) -> BaseAdapter:
    try:
        cls = import_string(path)
    except ImportError as err:
        raise ConfigurationError(
            f"QBO_SYNC['ADAPTERS'] names {path!r}, which cannot be imported: {err}"
        ) from err
    return cls()


def get_adapter(kind: str) -> BaseAdapter | None:
    """The configured adapter for ``kind``, or None if the host has none."""
    path = (app_settings.ADAPTERS or {}).get(kind)
    return _load(path) if path else None


def adapter_for_model(model: type[models.Model]) -> tuple[str, BaseAdapter] | None:
    """(kind, adapter) covering ``model``, if any."""
    label = model._meta.label_lower
    for kind in KINDS:
        adapter = get_adapter(kind)
        if adapter is not None and adapter.model.lower() == label:
            return kind, adapter
    return None


def has_hook(adapter: Any, name: str) -> bool:
    """Whether ``adapter`` implements the optional hook ``name`` (overrides the base
    class's), e.g. ``has_hook(adapter, "create_contact")``."""
    if adapter is None:
        return False
    hook = getattr(type(adapter), name, None)
    for base in (ContactAdapter, InvoiceAdapter):
        if isinstance(adapter, base) and hook is getattr(base, name, None):
            return False
    return hook is not None
