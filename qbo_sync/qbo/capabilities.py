"""What a QBO company can do, read from CompanyInfo and Preferences (docs/qbo-rules.md §5.9).

Mapping decides US vs non-US tax, currencies and DocNumber handling from this, so it
is fetched once at connect time and stored in ``Connection.capabilities``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .faults import ci_get

# CompanyInfo address countries became ISO alpha-3 in 2025 (docs/qbo-rules.md §2.5); the
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
            multicurrency=flag(ci_get(currency, "MultiCurrencyEnabled")),
            home_currency=home,
            currencies=tuple(ordered),
            uses_sales_tax=flag(ci_get(tax, "UsingSalesTax")),
            automated_sales_tax=flag(ci_get(tax, "PartnerTaxEnabled")),
            custom_txn_numbers=flag(ci_get(sales, "CustomTxnNumbers")),
            allow_discount=flag(ci_get(sales, "AllowDiscount")),
            allow_deposit=flag(ci_get(sales, "AllowDeposit")),
            company_name=str(ci_get(company_info, "CompanyName", default="") or ""),
        )


def flag(value: Any) -> bool:
    # Booleans arrive as JSON booleans, but be lenient with "true"/"false" strings.
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
