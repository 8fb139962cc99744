"""Books that agree: with the app as tax authority, QuickBooks' TotalAmt is the app's
total in every cell of the matrix, and a full payment leaves its Balance at 0.00.

US and UK companies × {no discount, line discount, document discount} × {one rate,
mixed rates, zero-rated, exempt customer} × {tax exclusive, tax inclusive (UK)}. Each
cell maps an invoice with the real mapping, writes it to the simulator with the real
client, and compares the write's own response with the app's figures
(``mapping.totals``), as the push does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from qbo_sync import mapping
from qbo_sync.connection.clients import client_for
from qbo_sync.connection.lists import load_lists
from qbo_sync.data import InvoiceData, LineData, PaymentData
from qbo_sync.mapping.totals import app_figures, compare, quickbooks_figures
from qbo_sync.models import TaxMapping
from qbo_sync.push.context import mapping_context
from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM

pytestmark = pytest.mark.django_db

# The app's own rates: the US app charges 5 % (not QuickBooks' address-based rate).
RATES = {
    "US": {"one": ["5.00", "5.00"], "mixed": ["5.00", "0.00"], "zero": ["0.00", "0.00"],
           "exempt": ["5.00", "5.00"]},
    "UK": {"one": ["20.00", "20.00"], "mixed": ["20.00", "5.00"], "zero": ["0.00", "0.00"],
           "exempt": ["exempt", "exempt"]},
}
UK_CODES = {"20.00": "20.0% S", "5.00": "5.0% R", "0.00": "0.0% Z", "exempt": "Exempt"}


def _connection(sim, qbo_connect, company: str):
    items = {i["Name"]: i["Id"] for i in sim.store.all(US_REALM if company == "US"
                                                         else UK_REALM, "Item")}
    realm = US_REALM if company == "US" else UK_REALM
    deposit = next(a["Id"] for a in sim.store.all(realm, "Account")
                   if a.get("AccountSubType") == "UndepositedFunds")
    conn = qbo_connect(realm, workspace=company.lower(), default_item_id=items["Services"],
                       default_deposit_account_id=deposit)
    if company == "UK":
        codes = {c["Name"]: c["Id"] for c in sim.store.all(UK_REALM, "TaxCode")}
        for key, name in UK_CODES.items():
            TaxMapping.objects.create(connection=conn, tax_rate=key, tax_code_id=codes[name])
    return conn


def _invoice(company: str, discount: str, rates: str) -> InvoiceData:
    first, second = RATES[company][rates]
    line_discount = D("7.33") if discount == "line" else D("0")
    lines = (
        LineData("Design", D("3"), D("33.33"), tax_rate=first, discount=line_discount),
        LineData("Hosting", D("1.5"), D("19.99"), tax_rate=second),
    )
    exempt = rates == "exempt"
    return InvoiceData(
        key=f"{company}-{discount}-{rates}", workspace=company.lower(),
        number=f"{company[:2]}-{discount[:2]}-{rates[:2]}", status="sent", contact_key="1",
        issue_date=date(2026, 11, 2), due_date=None,
        currency="USD" if company == "US" else "GBP", lines=lines,
        discount=D("12.34") if discount == "document" else D("0"),
        # An exempt customer pays no tax in the app; the app says so.
        tax_total=D("0.00") if exempt else None,
    )


# Tax-inclusive prices are for non-US companies, with discounts on the lines and numeric
# rates to take the tax out of: a document discount, or the UK exempt cell's "exempt"
# label, is refused before any call (test_mapping_refuses_what_it_cannot_split).
CELLS = [(company, discount, rates, pricing)
         for company in ("US", "UK") for discount in ("none", "line", "document")
         for rates in ("one", "mixed", "zero", "exempt")
         for pricing in ("exclusive", "inclusive")
         if pricing == "exclusive"
         or (company == "UK" and discount != "document" and rates != "exempt")]


@pytest.mark.parametrize(("company", "discount", "rates", "pricing"), CELLS)
def test_quickbooks_stores_the_app_s_total(qbo_simulator, qbo_connect, company, discount,
                                          rates, pricing):
    conn = _connection(qbo_simulator, qbo_connect, company)
    load_lists(conn)  # the cached lists carry each tax code's rates
    client = client_for(conn)
    ctx = mapping_context(conn, client)
    data = replace(_invoice(company, discount, rates),
                   prices_include_tax=pricing == "inclusive")
    customer = client.create("Customer", {
        "DisplayName": f"Customer {data.key}", "Taxable": rates != "exempt",
        **({} if company == "US" else {"CurrencyRef": {"value": "GBP"}})})

    obj = client.create("Invoice", mapping.invoice_payload(data, ctx,
                                                           customer_id=customer["Id"]))

    app = app_figures(data, is_us=ctx.is_us)
    qbo = quickbooks_figures(obj)
    assert compare(app, qbo, obj, data.lines, is_us=ctx.is_us, authority="app") == {}
    assert D(str(obj["TotalAmt"])) == app.total
    # A full payment recorded in the app leaves nothing open in QuickBooks.
    payment = PaymentData(key=f"p-{data.key}", workspace=data.workspace, invoice_key=data.key,
                          contact_key="1", amount=app.total, date=date(2026, 11, 3),
                          currency=data.currency)
    client.create("Payment", mapping.payment_payload(payment, ctx, customer_id=customer["Id"],
                                                     invoice_id=obj["Id"]))
    assert D(str(client.read("Invoice", obj["Id"])["Balance"])) == D("0.00")


def test_the_matrix_is_not_trivially_equal(qbo_simulator, qbo_connect):
    """The same US invoice with QuickBooks as authority does differ: the check can fail."""
    conn = _connection(qbo_simulator, qbo_connect, "US")
    conn.tax_authority = "quickbooks"
    client = client_for(conn)
    ctx = mapping_context(conn, client)
    data = _invoice("US", "none", "one")
    customer = client.create("Customer", {"DisplayName": "Taxable customer"})
    obj = client.create("Invoice", mapping.invoice_payload(data, ctx,
                                                           customer_id=customer["Id"]))
    result = compare(app_figures(data), quickbooks_figures(obj), obj, data.lines,
                     is_us=True, authority="quickbooks")
    assert set(result["difference"]) >= {"total", "tax"}
    assert "instead of 5 %" in result["cause"]


def test_non_us_app_tax_is_kept_through_tax_line_overrides(qbo_simulator, qbo_connect):
    """The app charges 17.5 % but its rate maps to QuickBooks' 20 % code: the TaxLine
    sent makes QuickBooks keep the app's tax (and a stated tax a cent off its own rule)."""
    conn = _connection(qbo_simulator, qbo_connect, "UK")
    codes = {c["Name"]: c["Id"] for c in qbo_simulator.store.all(UK_REALM, "TaxCode")}
    TaxMapping.objects.create(connection=conn, tax_rate="17.50", tax_code_id=codes["20.0% S"])
    load_lists(conn)  # the cached lists carry each code's rates
    client = client_for(conn)
    ctx = mapping_context(conn, client)
    customer = client.create("Customer", {"DisplayName": "Old rate customer",
                                          "CurrencyRef": {"value": "GBP"}})
    lines = (LineData("Design", D("1"), D("100.00"), tax_rate="17.50"),
             LineData("Books", D("1"), D("10.00"), tax_rate="0.00"))
    for key, stated in (("a", None), ("b", D("17.51"))):
        data = InvoiceData(key=key, workspace="uk", number=f"OLD-{key}", status="sent",
                           contact_key="1", issue_date=date(2026, 11, 2), due_date=None,
                           currency="GBP", lines=lines, tax_total=stated)
        payload = mapping.invoice_payload(data, ctx, customer_id=customer["Id"])
        assert payload["TxnTaxDetail"]["TaxLine"]
        obj = client.create("Invoice", payload)
        app = app_figures(data, is_us=False)
        assert app.tax == (stated or D("17.50"))
        assert compare(app, quickbooks_figures(obj), obj, lines, is_us=False,
                       authority="app") == {}


def test_mapping_refuses_what_it_cannot_split(qbo_simulator, qbo_connect):
    from qbo_sync.exceptions import MappingError

    conn = _connection(qbo_simulator, qbo_connect, "UK")
    ctx = mapping_context(conn, client_for(conn))
    for discount, rates, expected in (
            ("none", "exempt", "a tax rate that is not a number"),
            ("document", "one", "a discount on the whole document")):
        data = replace(_invoice("UK", discount, rates), prices_include_tax=True)
        with pytest.raises(MappingError, match=expected):
            mapping.invoice_payload(data, ctx, customer_id="1")


@pytest.mark.parametrize(("company", "discount", "rates", "pricing"), CELLS)
def test_with_quickbooks_as_authority_every_difference_is_reported(
        qbo_simulator, qbo_connect, company, discount, rates, pricing):
    conn = _connection(qbo_simulator, qbo_connect, company)
    conn.tax_authority = "quickbooks"
    client = client_for(conn)
    ctx = mapping_context(conn, client)
    data = replace(_invoice(company, discount, rates), prices_include_tax=pricing == "inclusive")
    customer = client.create("Customer", {
        "DisplayName": f"Customer {data.key}", "Taxable": rates != "exempt",
        **({} if company == "US" else {"CurrencyRef": {"value": "GBP"}})})
    payload = mapping.invoice_payload(data, ctx, customer_id=customer["Id"])
    assert "TotalTax" not in str(payload.get("TxnTaxDetail", {}))  # nothing imposed
    obj = client.create("Invoice", payload)
    app, qbo = app_figures(data, is_us=ctx.is_us), quickbooks_figures(obj)
    result = compare(app, qbo, obj, data.lines, is_us=ctx.is_us, authority="quickbooks")
    if (app.total, app.tax) == (qbo.total, qbo.tax):
        assert result == {}
    else:
        assert result["app"]["total"] == f"{app.total:.2f}"
        assert result["quickbooks"]["total"] == f"{qbo.total:.2f}"
        assert result["cause"] and result["fix"]
