"""Exceptions, grouped by how the caller must react.

=====================  ==============================================================
group                  reaction
=====================  ==============================================================
ReconnectRequired      a person must reconnect the company; park the work
TransientError         retry later with backoff (Throttled: Retry-After, else 60 s)
StaleObjectError       re-read the record and retry once
QBOValidationError     QBO rejected the data; fix it, then retry by hand
HostDataError          the app refused a value from QBO (pull); fix it, then retry by hand
NotFoundError          the referenced record is gone or inactive; re-resolve it
ConfigurationError     a setting is wrong or missing; fix it, then retry by hand
MappingError           host data cannot be expressed in QBO; fix the data or a mapping
=====================  ==============================================================

Every error carries the QBO fault ``code``, ``message``, ``detail``, ``element``,
the HTTP ``status_code`` and the ``intuit_tid`` Intuit support asks for, plus a
``fix``: what the user should do, in words (docs/architecture.md, invariant 6).
"""

from __future__ import annotations

import warnings

from django.core.exceptions import ImproperlyConfigured


class QBOSyncError(Exception):
    """Root of every error raised by qbo_sync."""

    #: What the user should do about it; subclasses and raisers refine it.
    default_fix = ""

    def __init__(
        self,
        message: str = "",
        *,
        code: str = "",
        detail: str = "",
        element: str = "",
        status_code: int | None = None,
        intuit_tid: str = "",
        fault_type: str = "",
        fix: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail
        self.element = element
        self.status_code = status_code
        self.intuit_tid = intuit_tid
        self.fault_type = fault_type
        self.fix = fix or self.default_fix

    def __str__(self) -> str:
        parts = []
        if self.code:
            parts.append(f"[{self.code}]")
        parts.append(self.message or self.__class__.__name__)
        if self.detail and self.detail != self.message:
            parts.append(f"- {self.detail}")
        if self.element:
            parts.append(f"(field {self.element})")
        if self.intuit_tid:
            parts.append(f"(intuit_tid {self.intuit_tid})")
        return " ".join(parts)

    def explained(self) -> str:
        """The error as a person can act on it: the message, then the fix."""
        text = self.message or str(self)
        return f"{text} {self.fix}".strip() if self.fix and self.fix not in text else text

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly form for logs, Sync Health and API responses."""
        return {
            "type": self.__class__.__name__,
            "code": self.code,
            "message": self.message,
            "detail": self.detail,
            "element": self.element,
            "status_code": self.status_code,
            "intuit_tid": self.intuit_tid,
            "fix": self.fix,
        }


# Reconnect ----------------------------------------------------------------


class ReconnectRequired(QBOSyncError):
    """The grant is gone or unusable; a person must connect the company again."""

    default_fix = "Reconnect QuickBooks: Settings → QuickBooks → Reconnect."


class AuthenticationFailed(ReconnectRequired):
    """401 (100 / 3200). The client refreshes once before letting this escape."""


class TokenRefreshFailed(ReconnectRequired):
    """The token endpoint answered ``invalid_grant``: revoked, expired or superseded."""


class CompanyUnavailable(ReconnectRequired):
    """The company's subscription lapsed or it was cancelled (6190, 007001)."""

    default_fix = (
        "The QuickBooks company is not active (subscription lapsed or wrong environment). "
        "Check the subscription in QuickBooks, then reconnect."
    )


# Transient -------------------------------------------------------------------


class TransientError(QBOSyncError):
    """Worth retrying later with backoff: network trouble, 5xx, throttling."""

    default_fix = "Nothing to do: the sync retries by itself."


class NetworkError(TransientError):
    """Connection failed or timed out; the request may or may not have been applied."""


class ServerError(TransientError):
    """QBO answered 5xx; the request may or may not have been applied."""


class Throttled(TransientError):
    """429 / 3001: QBO's per-realm limit was reached; wait as long as its ``Retry-After``
    header says, else about 60 s (docs/qbo-rules.md §3)."""

    #: Seconds QBO asked us to wait (its ``Retry-After`` header), when it said.
    retry_after: float | None = None


class BudgetSpent(Throttled):
    """Our own per-realm budget held the call back before it was sent: nothing failed,
    so the job is rescheduled for the moment budget frees (``retry_at``, epoch seconds),
    without counting a try."""

    def __init__(self, message: str, *, retry_after: float, retry_at: float | None = None,
                 **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.retry_at = retry_at


# Stale -----------------------------------------------------------------------


class StaleObjectError(QBOSyncError):
    """5010: the SyncToken is stale because someone changed the record in QBO."""

    default_fix = "The record changed in QuickBooks; the sync re-reads it and retries once."


# Validation --------------------------------------------------------------------


class QBOValidationError(QBOSyncError):
    """QBO rejected the data (2000-4999, 5000-9999). Retrying unchanged will fail again."""

    default_fix = "Correct the record named in the error, then retry it from Sync Health."


class DuplicateNameError(QBOValidationError):
    """6240: DisplayName is already used by a customer, vendor or employee."""

    default_fix = (
        "Another customer, vendor or employee in QuickBooks already uses this name. "
        "Rename the contact, or give it the same email as the QuickBooks customer so "
        "they are linked."
    )


class DuplicateDocNumberError(QBOValidationError):
    """6140: the DocNumber is already used by another transaction."""

    default_fix = (
        "This invoice number is already used in QuickBooks. Renumber the invoice, or set "
        "Settings → Invoice number strategy to 'Let QuickBooks number invoices'."
    )


class AmountMismatchError(QBOValidationError):
    """6070: line Amount differs from round(Qty × UnitPrice, 2)."""


class BusinessRuleError(QBOValidationError):
    """6000: a business validation error; the detail says which rule."""


class PeriodClosedError(QBOValidationError):
    """6210: the transaction date falls in a closed books period."""

    default_fix = (
        "The date falls in a closed period in QuickBooks. Change the date, or ask the "
        "accountant to move the closing date."
    )


class DepositedTransactionError(QBOValidationError):
    """6540: the payment is already part of a bank deposit."""

    default_fix = "Remove the payment from its bank deposit in QuickBooks, then retry."


class InvalidReferenceError(QBOValidationError):
    """2500: a referenced id (item, tax code, account, customer) does not exist."""

    default_fix = (
        "A referenced item, tax code, account or customer does not exist in QuickBooks. "
        "Reload the lists in Settings and choose again."
    )


class QueryError(QBOValidationError):
    """4000 / 4001 / 4002: the query was rejected."""


class HostDataError(QBOSyncError):
    """The host's own validation or database refused a value read from QBO (a pull job's
    ``record_payment`` or ``mark_paid``): a reference longer than the host's column, a
    value its model does not allow. Retrying unchanged will fail again; ``element`` names
    the host's field when it is known."""

    default_fix = (
        "Shorten or correct the value in QuickBooks, or widen the app's field, then retry "
        "the job from Sync Health."
    )


class DuplicateRequestError(QBOSyncError):
    """600: the requestid was already used; the write was done before. Look it up."""


# Not found -----------------------------------------------------------------------


class NotFoundError(QBOSyncError):
    """610 or HTTP 404: the record is deleted or inactive in QBO."""

    default_fix = (
        "The record is deleted or inactive in QuickBooks. Reactivate it there, or choose "
        "another one."
    )


# Configuration ---------------------------------------------------------------------


class ConfigurationError(QBOSyncError, ImproperlyConfigured):
    """A setting is missing or wrong. The message names the setting."""

    default_fix = "Fix the setting named in the message."


class QBOPermissionDenied(ConfigurationError):
    """5020: the company or connecting user lacks a permission or feature."""

    default_fix = (
        "The QuickBooks user who connected lacks permission for this. Reconnect as a "
        "QuickBooks admin, or turn the feature on in QuickBooks."
    )


class SettingsError(ConfigurationError):
    """One or more connection settings are invalid. ``errors`` maps each field to its
    message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        first = next(iter(self.errors))
        message = "; ".join(f"{field}: {text}" for field, text in self.errors.items())
        super().__init__(message, element=first,
                         fix="Correct the settings named in the message and save again.")


class HistoryBusy(ConfigurationError):
    """A real historical run of the same kind is already queued or running for the
    connection."""


class ReconcileBusy(ConfigurationError):
    """A reconciliation of the connection is already queued or running."""

    default_fix = "Wait for it to finish (QuickBooks → Reconciliation runs), then start another."


class ImportBusy(ConfigurationError):
    """A customer import of the connection is already queued or running."""

    default_fix = ("Wait for it to finish (QuickBooks → Customer imports), then start "
                   "another.")


class RepairNotPossible(ConfigurationError):
    """The repair asked for does not fit the difference, or its object is gone."""

    default_fix = "Pick one of the repairs listed on the difference, or ignore it."


class MappingError(QBOSyncError):
    """Host data cannot be expressed in QBO (found before any call is made)."""

    default_fix = "Fix the record or the mapping named in the message."


# Connecting --------------------------------------------------------------------------

START_AGAIN = "Start again: Settings → QuickBooks → Connect."


class ConnectError(QBOSyncError):
    """The OAuth callback cannot complete. ``message`` says why, ``fix`` what to do."""

    default_fix = START_AGAIN


class ConnectCancelled(ConnectError):
    """The user chose Cancel on Intuit's page (``error=access_denied``, §1.3)."""


# Webhooks ----------------------------------------------------------------------------


class MalformedDelivery(ValueError):  # noqa: N818 - named for what arrived
    """A webhook body is not JSON or not one of the two webhook envelopes."""


class WebhookPullFailed(QBOSyncError):
    """A verified delivery's pull could not run; the delivery is kept and retried."""


class WebhookPullBusy(WebhookPullFailed):
    """Another pull of the company is running: the delivery waits for a later task
    instead of holding a worker (it is not a failure)."""


#: QBO fault codes → exception class (docs/qbo-rules.md §4.2). Codes are matched as
#: strings without leading zeros ("007001" → "7001"); messages change, codes do not.
FAULT_CODES: dict[str, type[QBOSyncError]] = {
    "100": AuthenticationFailed,
    "3200": AuthenticationFailed,
    "120": ReconnectRequired,
    "3100": ReconnectRequired,
    "7001": CompanyUnavailable,
    "6190": CompanyUnavailable,
    "3001": Throttled,
    "600": DuplicateRequestError,
    "610": NotFoundError,
    "2020": QBOValidationError,
    "2170": QBOValidationError,
    "2500": InvalidReferenceError,
    "4000": QueryError,
    "4001": QueryError,
    "4002": QueryError,
    "500": QBOValidationError,
    "5010": StaleObjectError,
    "5020": QBOPermissionDenied,
    "6000": BusinessRuleError,
    "6070": AmountMismatchError,
    "6140": DuplicateDocNumberError,
    "6210": PeriodClosedError,
    "6240": DuplicateNameError,
    "6540": DepositedTransactionError,
}


#: Names of earlier releases, which shadowed Django's own exceptions.
_RENAMED = {"ValidationError": "QBOValidationError", "PermissionDenied": "QBOPermissionDenied"}


def __getattr__(name: str) -> type[Exception]:
    if name in _RENAMED:
        warnings.warn(f"qbo_sync.exceptions.{name} is now {_RENAMED[name]}; the old name "
                      "goes in the next release.", DeprecationWarning, stacklevel=2)
        return globals()[_RENAMED[name]]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Alerts ------------------------------------------------------------------------------


class NotifierError(QBOSyncError):
    """An alert notifier could not deliver a message. Logged; the other notifiers still
    run. Its text never holds a secret (a webhook URL is shown by its host only)."""
