"""Company-level calls of the client: CompanyInfo, Preferences and the lists the
settings screens offer (docs/qbo-rules.md §5.6–§5.9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote as url_quote

from ..exceptions import NotFoundError, QBOValidationError, ServerError
from .capabilities import Capabilities, flag
from .faults import ci_get
from .wire import where_eq


class CompanyMixin:
    """Company-level calls of :class:`~qbo_sync.client.QBOClient` (§5.6–§5.9): the facts
    and lists the settings screens offer. Relies on the client's ``_call``, ``_realm``
    and ``query_all``."""

    if TYPE_CHECKING:  # provided by QBOClient

        def _call(self, method: str, path: str, **kwargs: Any) -> dict: ...

        def _realm(self) -> str: ...

        def query_all(self, entity: str, where: str = "", order_by: str = "Id",
                      page_size: int = 1000) -> list[dict]: ...

    def company_info(self) -> dict:
        """``GET /companyinfo/{realmId}`` → the ``CompanyInfo`` object."""
        path = f"companyinfo/{url_quote(self._realm(), safe='')}"
        return _object(self._call("GET", path), "CompanyInfo")

    def preferences(self) -> dict:
        """``GET /preferences`` → the ``Preferences`` object."""
        return _object(self._call("GET", "preferences"), "Preferences")

    def capabilities(self) -> Capabilities:
        """What the company can do; store ``.as_dict()`` in ``Connection.capabilities``."""
        info, prefs = self.company_info(), self.preferences()
        currency_prefs = ci_get(prefs, "CurrencyPrefs", default={}) or {}
        currencies = None
        if flag(ci_get(currency_prefs, "MultiCurrencyEnabled")):
            try:
                rows = self.query_all("CompanyCurrency", "Active = true")
                currencies = [str(r["Code"]) for r in rows if r.get("Code")]
            except (QBOValidationError, NotFoundError):
                currencies = None  # list unavailable: the home currency is still known
        return Capabilities.from_qbo(info, prefs, currencies)

    def list_items(self) -> list[dict]:
        """Active items usable on invoice lines (Service and NonInventory, §5.6)."""
        rows = self.query_all("Item", "Active = true")
        return [r for r in rows if r.get("Type") in ("Service", "NonInventory")]

    def list_tax_codes(self) -> list[dict]:
        """Active tax codes (read-only in QBO; CDC does not cover them, §5.8)."""
        return self.query_all("TaxCode", "Active = true")

    def list_accounts(self, account_type: str | None = None) -> list[dict]:
        """Active accounts, optionally of one ``AccountType`` such as ``"Bank"`` (§5.7)."""
        where = "Active = true"
        if account_type:
            where += f" AND {where_eq('AccountType', account_type)}"
        return self.query_all("Account", where)


def _object(data: dict, name: str) -> dict:
    found = ci_get(data, name)
    if not isinstance(found, dict):
        raise ServerError(f"QuickBooks answered without the {name} object.", status_code=200)
    return found
