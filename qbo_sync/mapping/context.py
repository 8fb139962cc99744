"""What the mapping needs to know about the connected company and its settings."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..exceptions import MappingError
from .text import problem

NUMBER_STRATEGIES = ("app", "qbo")
# XSD GlobalTaxCalculationEnum (docs/qbo-rules.md §5.2).
GLOBAL_TAX_CALCULATIONS = ("TaxExcluded", "TaxInclusive", "NotApplicable")

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")

MULTICURRENCY_FIX = (
    "turn on Multicurrency in QuickBooks (Account and settings → Advanced → Currency), "
    "then reload the company settings"
)


def _empty_map() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class MappingContext:
    """The company's capabilities plus the workspace admin's choices.

    Built once per sync run; the mapping functions read nothing else.
    """

    is_us: bool
    multicurrency: bool
    home_currency: str
    currencies: frozenset[str]  # currencies the company can use ({home} if not multicurrency)
    allow_discount: bool
    number_strategy: str  # "app" (send our number) | "qbo" (send none)
    default_item_id: str = ""
    default_tax_code_id: str = ""  # non-US: a real TaxCode Id; unused in US companies
    default_deposit_account_id: str = ""
    discount_account_id: str = ""
    item_map: Mapping[str, str] = field(default_factory=_empty_map)  # category → Item Id
    tax_map: Mapping[str, str] = field(default_factory=_empty_map)  # rate key → TaxCode Id
    global_tax_calculation: str = "TaxExcluded"
    tax_authority: str = "app"  # "app" (QuickBooks keeps the app's tax) | "quickbooks"
    ar_account_id: str = ""
    #: non-US: TaxCode id → its sales TaxRate ids, for TaxLine overrides (§5.8).
    tax_code_rates: Mapping[str, tuple[str, ...]] = field(default_factory=_empty_map)

    def __post_init__(self) -> None:
        # Normalise once so that lookups and comparisons need no care later, and copy
        # the maps into read-only views so a caller's later edits cannot leak in.
        set_ = object.__setattr__
        set_(self, "home_currency", (self.home_currency or "").strip().upper())
        set_(self, "currencies", frozenset(c.strip().upper() for c in self.currencies if c))
        set_(self, "number_strategy", (self.number_strategy or "").strip().lower())
        set_(self, "item_map", MappingProxyType(dict(self.item_map)))
        set_(self, "tax_map", MappingProxyType(dict(self.tax_map)))
        set_(self, "tax_code_rates", MappingProxyType(dict(self.tax_code_rates)))

    @classmethod
    def from_parts(
        cls,
        capabilities: Mapping[str, Any],
        settings: Mapping[str, Any],
        item_map: Mapping[str, str] | None = None,
        tax_map: Mapping[str, str] | None = None,
        tax_code_rates: Mapping[str, tuple[str, ...]] | None = None,
    ) -> MappingContext:
        """Build a context from plain dicts.

        ``capabilities``: ``is_us``, ``multicurrency``, ``home_currency``, ``currencies``,
        ``allow_discount`` and optionally ``discount_account_id`` (from Preferences
        ``SalesFormsPrefs.DefaultDiscountAccount``) and ``global_tax_calculation``.
        ``settings``: ``invoice_number_strategy``, ``default_item_id``,
        ``default_tax_code_id``, ``default_deposit_account_id``, ``tax_authority``,
        ``ar_account_id`` and optionally
        ``discount_account_id`` / ``global_tax_calculation`` (these win over capabilities).
        """
        home = str(capabilities.get("home_currency") or "").strip().upper()
        multicurrency = bool(capabilities.get("multicurrency"))
        currencies: Iterable[str] = capabilities.get("currencies") or ()
        if multicurrency:
            company_currencies = {str(c).upper() for c in currencies} | ({home} if home else set())
        else:
            company_currencies = {home} if home else set()

        def setting(key: str) -> str:
            return str(settings.get(key) or "").strip()

        def pick(key: str, default: str = "") -> str:
            value = settings.get(key) or capabilities.get(key) or default
            return str(value).strip()

        return cls(
            is_us=bool(capabilities.get("is_us")),
            multicurrency=multicurrency,
            home_currency=home,
            currencies=frozenset(company_currencies),
            allow_discount=bool(capabilities.get("allow_discount")),
            number_strategy=str(settings.get("invoice_number_strategy") or "app"),
            default_item_id=setting("default_item_id"),
            default_tax_code_id=setting("default_tax_code_id"),
            default_deposit_account_id=setting("default_deposit_account_id"),
            discount_account_id=pick("discount_account_id"),
            item_map=dict(item_map or {}),
            tax_map=dict(tax_map or {}),
            global_tax_calculation=pick("global_tax_calculation", "TaxExcluded"),
            tax_authority=setting("tax_authority") or "app",
            ar_account_id=setting("ar_account_id"),
            tax_code_rates=dict(tax_code_rates or {}),
        )

    def currency_ref(self, code: str, what: str) -> str | None:
        """The ISO code to send as ``CurrencyRef`` for a record in ``code``.

        ``None`` when the company is not multicurrency (QBO ignores or rejects the
        field then, docs/qbo-rules.md §5.9). Raises :class:`MappingError` for a currency the
        company cannot book. ``what`` names the record in the message.
        """
        code = (code or "").strip().upper() or self.home_currency
        if code and not _CURRENCY_RE.match(code):
            raise problem(
                MappingError,
                f"{what} has currency {code!r}, which is not an ISO 4217 code",
                "set a three-letter currency code such as USD, EUR or GBP",
            )
        if not self.multicurrency:
            # Without multicurrency every amount is read as home currency, so a foreign
            # invoice would land with the wrong value rather than fail.
            if code and self.home_currency and code != self.home_currency:
                raise problem(
                    MappingError,
                    f"{what} is in {code} but the QuickBooks company only uses "
                    f"{self.home_currency}",
                    f"bill in {self.home_currency}, or {MULTICURRENCY_FIX}",
                )
            return None
        if not code:
            return None
        if code not in self.currencies:
            raise problem(
                MappingError,
                f"{what} is in {code}, which is not in the QuickBooks company's currency list",
                f"add {code} in QuickBooks (Settings → Currencies), "
                "then reload the company settings",
            )
        return code
