"""The companies the simulator starts with and the reference data each is seeded with
(accounts, items, tax codes and rates, payment methods, one vendor, one employee,
CompanyInfo and Preferences). docs/qbo-rules.md §5.6–§5.9."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

US_REALM = "9341453000000001"  # US, Automated Sales Tax (TAX/NON), USD only
UK_REALM = "9341453000000002"  # GB, VAT codes + GlobalTaxCalculation, multicurrency GBP/EUR/USD
US_MC_REALM = "9341453000000003"  # US, AST, multicurrency USD/CAD/EUR

# US AST companies: QBO works out the rate from the ship-to or bill-to address
# (docs/qbo-rules.md §5.2 "Tax: US vs non-US"). The simulator's own illustrative combined
# (state + local) rates, in percent, by CountrySubDivisionCode. They are made up for
# tests: not real rates for any place and not tax advice.
US_AST_STATE_RATES: dict[str, Decimal] = {
    "CA": Decimal("7.25"), "NY": Decimal("8.875"), "TX": Decimal("8.25"),
    "WA": Decimal("10.1"), "OR": Decimal("0"),
}
# The rate when the transaction and the customer have no address with a state, or the
# state is not in the table above.
US_AST_RATE = Decimal("8.25")
# Seeded AST records: one transaction tax code (Id 1) and one TaxRate per rate above, Id 1
# the default, then one per state in table order.
AST_TAX_CODE = "1"
AST_DEFAULT_RATE = "1"
_AST_RATE_IDS = {state: str(i) for i, state in enumerate(US_AST_STATE_RATES, start=2)}

DEFAULT_COMPANIES: list[dict[str, Any]] = [
    {"realm_id": US_REALM, "name": "Simulated US Company", "country": "US",
     "multicurrency": False, "home_currency": "USD", "currencies": ["USD"]},
    {"realm_id": UK_REALM, "name": "Simulated UK Ltd", "country": "GB",
     "multicurrency": True, "home_currency": "GBP", "currencies": ["GBP", "EUR", "USD"]},
    {"realm_id": US_MC_REALM, "name": "Simulated US Multicurrency Inc", "country": "US",
     "multicurrency": True, "home_currency": "USD", "currencies": ["USD", "CAD", "EUR"]},
]

CURRENCY_NAMES = {
    "USD": "United States Dollar", "GBP": "British Pound Sterling", "EUR": "Euro",
    "CAD": "Canadian Dollar", "AUD": "Australian Dollar", "NZD": "New Zealand Dollar",
    "CHF": "Swiss Franc", "JPY": "Japanese Yen", "INR": "Indian Rupee", "SEK": "Swedish Krona",
    "DKK": "Danish Krone", "NOK": "Norwegian Krone", "MXN": "Mexican Peso",
    "ZAR": "South African Rand", "SGD": "Singapore Dollar", "HKD": "Hong Kong Dollar",
}
# Home-currency units per one unit of the foreign currency (docs/qbo-rules.md §5.9).
_RATES_TO_USD = {"USD": "1", "GBP": "1.27", "EUR": "1.08", "CAD": "0.73", "AUD": "0.66",
                 "NZD": "0.60", "CHF": "1.13", "JPY": "0.0067", "INR": "0.012",
                 "SEK": "0.095", "DKK": "0.145", "NOK": "0.093", "MXN": "0.055",
                 "ZAR": "0.054", "SGD": "0.74", "HKD": "0.128"}
_ALPHA3 = {"US": "USA", "GB": "GBR", "CA": "CAN", "AU": "AUS"}


def exchange_rate(home: str, currency: str) -> Decimal:
    """Home units per one foreign unit, rounded to 6 places (fixed, documented rates)."""
    if currency == home:
        return Decimal("1")
    rate = Decimal(_RATES_TO_USD[currency]) / Decimal(_RATES_TO_USD[home])
    return rate.quantize(Decimal("0.000001"))


def currency_ref(code: str) -> dict[str, str]:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def realm_info(spec: dict[str, Any]) -> dict[str, Any]:
    """Normalised company description kept by the Store."""
    home = spec.get("home_currency", "USD")
    currencies = list(dict.fromkeys([home, *spec.get("currencies", [])]))
    return {
        "realm_id": str(spec["realm_id"]), "name": spec.get("name", "Simulated Company"),
        "country": spec.get("country", "US"), "multicurrency": bool(spec.get("multicurrency")),
        "home_currency": home,
        "currencies": currencies if spec.get("multicurrency") else [home],
        "allow_discount": bool(spec.get("allow_discount", True)),
        "custom_txn_numbers": bool(spec.get("custom_txn_numbers", False)),
    }


def is_us(info: dict[str, Any]) -> bool:
    return info["country"] == "US"


def ast_tax_rate_id(state: str | None) -> str:
    """The seeded AST TaxRate Id for a two-letter state; the default rate when the state is
    missing or not in :data:`US_AST_STATE_RATES`."""
    return _AST_RATE_IDS.get((state or "").strip().upper(), AST_DEFAULT_RATE)


def _ref(value: str, name: str = "") -> dict[str, str]:
    return {"value": value, "name": name} if name else {"value": value}


def _accounts(home: str) -> list[dict[str, Any]]:
    rows = [
        ("Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
        ("Checking", "Bank", "Checking", "Asset"),
        ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
        ("Services", "Income", "ServiceFeeIncome", "Revenue"),
        ("Sales", "Income", "SalesOfProductIncome", "Revenue"),
        ("Discounts given", "Income", "DiscountsRefundsGiven", "Revenue"),
    ]
    return [{"Id": str(i), "Name": name, "FullyQualifiedName": name, "AccountType": typ,
             "AccountSubType": sub, "Classification": cls, "Active": True, "SubAccount": False,
             "CurrentBalance": Decimal("0"), "CurrencyRef": currency_ref(home)}
            for i, (name, typ, sub, cls) in enumerate(rows, start=1)]


def _items(us: bool, default_code: str | None) -> list[dict[str, Any]]:
    rows = [("Services", "0"), ("Design", "75"), ("Development", "120"),
            ("Consulting", "150"), ("Hours", "50")]
    items = []
    for i, (name, price) in enumerate(rows, start=1):
        item: dict[str, Any] = {
            "Id": str(i), "Name": name, "FullyQualifiedName": name, "Type": "Service",
            "Active": True, "UnitPrice": Decimal(price),
            "IncomeAccountRef": _ref("4", "Services"), "Description": f"{name} rendered"}
        if us:
            item["Taxable"] = True
        elif default_code:
            item["SalesTaxCodeRef"] = _ref(default_code)
        items.append(item)
    return items


def _ast_tax() -> tuple[list[dict], list[dict]]:
    """US AST: the TAX/NON pseudo-codes for lines, the one code AST puts on a transaction,
    and a rate for the default and for each state of the table (AST picks one from the
    address)."""
    rows = [(AST_DEFAULT_RATE, "Simulated State Tax", US_AST_RATE)]
    rows += [(_AST_RATE_IDS[state], f"Simulated {state} Tax", pct)
             for state, pct in US_AST_STATE_RATES.items()]
    rates = [{"Id": rid, "Name": name, "RateValue": pct, "Active": True,
              "AgencyRef": _ref("1"), "DisplayType": "ReadOnly"} for rid, name, pct in rows]
    codes = [
        {"Id": "TAX", "Name": "TAX", "Description": "TAX", "Active": True, "Taxable": True,
         "TaxGroup": False},
        {"Id": "NON", "Name": "NON", "Description": "NON", "Active": True, "Taxable": False,
         "TaxGroup": False},
        {"Id": AST_TAX_CODE, "Name": "Simulated State", "Active": True, "Taxable": True,
         "TaxGroup": True, "SalesTaxRateList": {"TaxRateDetail": [
             {"TaxRateRef": _ref(AST_DEFAULT_RATE), "TaxTypeApplicable": "TaxOnAmount",
              "TaxOrder": 0}]}},
    ]
    return rates, codes


def _tax(us: bool) -> tuple[list[dict], list[dict]]:
    """(TaxRate list, TaxCode list). US AST: see :func:`_ast_tax`; elsewhere VAT codes."""
    if us:
        return _ast_tax()
    spec = [("20.0% S", "20"), ("5.0% R", "5"), ("0.0% Z", "0"), ("Exempt", "0")]
    rates, codes = [], []
    for i, (name, pct) in enumerate(spec, start=1):
        rates.append({"Id": str(i), "Name": name, "RateValue": Decimal(pct), "Active": True,
                      "AgencyRef": _ref("1"), "DisplayType": "ReadOnly"})
        codes.append({"Id": str(i), "Name": name, "Description": name, "Active": True,
                      "Taxable": name != "Exempt", "TaxGroup": True,
                      "SalesTaxRateList": {"TaxRateDetail": [
                          {"TaxRateRef": _ref(str(i), name), "TaxTypeApplicable": "TaxOnAmount",
                           "TaxOrder": 0}]}})
    return rates, codes


def seed_entities(info: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Records a fresh company holds, without SyncToken/MetaData (the Store adds them)."""
    us, home = is_us(info), info["home_currency"]
    rates, codes = _tax(us)
    country3 = _ALPHA3.get(info["country"], info["country"])
    company = {
        "Id": "1", "CompanyName": info["name"], "LegalName": info["name"],
        "Country": info["country"], "Email": {"Address": "owner@example.com"},
        "CompanyAddr": {"Id": "1", "Line1": "1 Simulated Way", "City": "Sim City",
                        "Country": country3, "PostalCode": "00000"},
        "FiscalYearStartMonth": "January", "SupportedLanguages": "en",
        "NameValue": [{"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                      {"Name": "NeoEnabled", "Value": "true"},
                      {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"}],
    }
    prefs = {
        "Id": "1",
        "CurrencyPrefs": {"MultiCurrencyEnabled": info["multicurrency"],
                          "HomeCurrency": {"value": home}},
        "SalesFormsPrefs": {"CustomTxnNumbers": info["custom_txn_numbers"],
                            "AllowDiscount": info["allow_discount"], "AllowDeposit": False,
                            "AllowShipping": False, "AutoApplyCredit": False,
                            "DefaultDiscountAccount": "6"},
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": us},
        "AccountingInfoPrefs": {"ClassTrackingPerTxn": False, "TrackDepartments": False},
    }
    return {
        "CompanyInfo": [company], "Preferences": [prefs], "Account": _accounts(home),
        "TaxRate": rates, "TaxCode": codes,
        "Item": _items(us, None if us else "1"),
        # The foreign currencies a multicurrency company has added (the home currency
        # is not listed; it is in Preferences.CurrencyPrefs.HomeCurrency).
        "CompanyCurrency": [{"Id": str(i), "Code": code, "Name": CURRENCY_NAMES.get(code, code),
                             "Active": True}
                            for i, code in enumerate(
                                [c for c in info["currencies"] if c != home], 1)],
        "PaymentMethod": [{"Id": str(i), "Name": n, "Type": t, "Active": True}
                          for i, (n, t) in enumerate([("Cash", "NON_CREDIT_CARD"),
                                                      ("Check", "NON_CREDIT_CARD"),
                                                      ("Credit Card", "CREDIT_CARD")], 1)],
        "Vendor": [{"Id": "1", "DisplayName": "Simulated Supplies Co",
                    "CompanyName": "Simulated Supplies Co", "Active": True,
                    "CurrencyRef": currency_ref(home)}],
        "Employee": [{"Id": "1", "DisplayName": "Emily Employee", "GivenName": "Emily",
                      "FamilyName": "Employee", "Active": True}],
    }
