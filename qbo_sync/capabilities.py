"""What a QBO company can do, read from CompanyInfo and Preferences (qbo-api.md §5.9).

Mapping decides US vs non-US tax, currencies and DocNumber handling from this, so it
is fetched once at connect time and stored in ``Connection.capabilities``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as url_quote

from .exceptions import NotFoundError, ServerError, ValidationError
from .faults import ci_get

# CompanyInfo address countries became ISO alpha-3 in 2025 (qbo-api.md §2.5); the
# top-level Country is alpha-2. Normalise the common ones so `is_us` never misfires.
_ALPHA3 = {
    "USA": "US", "GBR": "GB", "CAN": "CA", "AUS": "AU", "IND": "IN", "FRA": "FR",
    "NZL": "NZ", "IRL": "IE", "ZAF": "ZA", "SGP": "SG", "HKG": "HK", "MYS": "MY",
    "PHL": "PH", "ARE": "AE", "DEU": "DE", "ESP": "ES", "ITA": "IT", "NLD": "NL",
    "BRA": "BR", "MEX": "MX",
}
_NAMES = {"UNITED STATES": "US", "UNITED KINGDOM": "GB", "UK": "GB", "CANADA": "CA",
          "AUSTRALIA": "AU", "INDIA": "IN", "FRANCE": "FR"}


def normalize_country(value: Any) -> str:
    """"USA" / "United States" / "us" → "US"; unknown values are upper-cased as they are."""
    text = str(value or "").strip().upper()
    return _ALPHA3.get(text) or _NAMES.get(text) or text


@dataclass(frozen=True)
class Capabilities:
    """The company facts mapping needs. Store with :meth:`as_dict`, load with
    :meth:`from_dict`."""

    country: str = ""
    is_us: bool = False
    multicurrency: bool = False
    home_currency: str = ""
    #: Currencies the company can bill in, home first; just the home one when unknown.
    currencies: tuple[str, ...] = field(default_factory=tuple)
    uses_sales_tax: bool = False
    #: US Automated Sales Tax (TaxPrefs.PartnerTaxEnabled): lines use TAX/NON.
    automated_sales_tax: bool = False
    custom_txn_numbers: bool = False
    allow_discount: bool = False
    allow_deposit: bool = False
    company_name: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["currencies"] = list(self.currencies)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Capabilities:
        """Inverse of :meth:`as_dict`; unknown keys are ignored (older stored rows)."""
        data = dict(data or {})
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "currencies" in known:
            known["currencies"] = tuple(known["currencies"] or ())
        return cls(**known)

    @classmethod
    def from_qbo(
        cls,
        company_info: dict[str, Any],
        preferences: dict[str, Any],
        currencies: list[str] | None = None,
    ) -> Capabilities:
        """Build from the ``CompanyInfo`` and ``Preferences`` objects (§5.9)."""
        country = normalize_country(ci_get(company_info, "Country"))
        if not country:
            addr = ci_get(company_info, "CompanyAddr", default={}) or {}
            country = normalize_country(ci_get(addr, "Country", "CountryCode"))
        currency = ci_get(preferences, "CurrencyPrefs", default={}) or {}
        sales = ci_get(preferences, "SalesFormsPrefs", default={}) or {}
        tax = ci_get(preferences, "TaxPrefs", default={}) or {}
        home = ci_get(currency, "HomeCurrency", default="")
        if isinstance(home, dict):  # a reference: {"value": "USD"}
            home = ci_get(home, "value", default="")
        home = str(home or "").upper()
        ordered = [home] if home else []
        ordered += [c.upper() for c in currencies or [] if c and c.upper() not in ordered]
        return cls(
            country=country,
            is_us=country == "US",
            multicurrency=_flag(ci_get(currency, "MultiCurrencyEnabled")),
            home_currency=home,
            currencies=tuple(ordered),
            uses_sales_tax=_flag(ci_get(tax, "UsingSalesTax")),
            automated_sales_tax=_flag(ci_get(tax, "PartnerTaxEnabled")),
            custom_txn_numbers=_flag(ci_get(sales, "CustomTxnNumbers")),
            allow_discount=_flag(ci_get(sales, "AllowDiscount")),
            allow_deposit=_flag(ci_get(sales, "AllowDeposit")),
            company_name=str(ci_get(company_info, "CompanyName", default="") or ""),
        )


def _flag(value: Any) -> bool:
    # Booleans arrive as JSON booleans, but be lenient with "true"/"false" strings.
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


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
        if _flag(ci_get(currency_prefs, "MultiCurrencyEnabled")):
            try:
                rows = self.query_all("CompanyCurrency", "Active = true")
                currencies = [str(r["Code"]) for r in rows if r.get("Code")]
            except (ValidationError, NotFoundError):
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
        from .client import where_eq

        where = "Active = true"
        if account_type:
            where += f" AND {where_eq('AccountType', account_type)}"
        return self.query_all("Account", where)


def _object(data: dict, name: str) -> dict:
    found = ci_get(data, name)
    if not isinstance(found, dict):
        raise ServerError(f"QuickBooks answered without the {name} object.", status_code=200)
    return found
