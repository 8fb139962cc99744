"""Mapping: invoice, credit memo, refund receipt and payment payloads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from qbo_sync.data import CreditMemoData, RefundData
from qbo_sync.exceptions import ConfigurationError, MappingError
from qbo_sync.mapping import (
    credit_memo_payload,
    invoice_payload,
    line_amount,
    payment_payload,
    refund_receipt_payload,
    resolve_tax_code,
)

from .support import make_ctx, make_invoice, make_line, make_payment, multi_ctx, us_ctx

D = Decimal


def item_lines(payload):
    return [ln for ln in payload["Line"] if ln["DetailType"] == "SalesItemLineDetail"]


# --- line amounts (docs/qbo-rules.md §4.2 code 6070) -----------------------------------------


@pytest.mark.parametrize(
    ("qty", "price", "amount"),
    [
        ("3", "0.335", "1.01"),  # 1.005: half-up, not banker's 1.00
        ("1", "1.005", "1.01"),
        ("1", "0.125", "0.13"),
        ("2.5", "0.01", "0.03"),  # 0.025
        ("1.5", "1.15", "1.73"),  # 1.725
        ("7", "0.0149", "0.10"),  # 0.1043
        ("10", "19.99", "199.90"),
        ("3", "33.333", "100.00"),  # 99.999
        ("1.25", "0.5", "0.63"),  # 0.625
        ("2", "0.0025", "0.01"),  # 0.005
        ("-1", "0.005", "-0.01"),  # half away from zero
        ("4", "0", "0.00"),
    ],
)
def test_amount_is_qty_times_price_rounded_half_up(qty, price, amount):
    assert line_amount(D(qty), D(price)) == D(amount)
    # a second, positive line keeps the total above zero for the negative case
    invoice = make_invoice(make_line(quantity=D(qty), unit_price=D(price)), make_line())
    payload = invoice_payload(invoice, make_ctx(), customer_id="9")
    line = item_lines(payload)[0]
    assert line["Amount"] == D(amount)
    assert str(line["Amount"]) == amount  # always two places
    assert line["SalesItemLineDetail"]["Qty"] == D(qty)
    assert line["SalesItemLineDetail"]["UnitPrice"] == D(price)


# --- the invoice body -------------------------------------------------------------------


def test_invoice_payload_uk():
    invoice = make_invoice(
        make_line(
            description="Design", quantity=D("2"), unit_price=D("50.00"), category="consulting"
        ),
        make_line(description="Hosting", quantity=D("1"), unit_price=D("20.00"), tax_rate="0.00"),
        memo="Thanks!", private_note="PO 77",
    )
    assert invoice_payload(invoice, make_ctx(), customer_id="9") == {
        "DocNumber": "INV-001",
        "TxnDate": "2024-03-01",
        "DueDate": "2024-03-31",
        "CustomerRef": {"value": "9"},
        "Line": [
            {
                "LineNum": 1, "DetailType": "SalesItemLineDetail", "Amount": D("100.00"),
                "Description": "Design",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "11"}, "Qty": D("2"), "UnitPrice": D("50.00"),
                    "TaxCodeRef": {"value": "3"},
                },
            },
            {
                "LineNum": 2, "DetailType": "SalesItemLineDetail", "Amount": D("20.00"),
                "Description": "Hosting",
                "SalesItemLineDetail": {
                    "ItemRef": {"value": "1"}, "Qty": D("1"), "UnitPrice": D("20.00"),
                    "TaxCodeRef": {"value": "7"},
                },
            },
        ],
        "GlobalTaxCalculation": "TaxExcluded",
        "PrivateNote": "PO 77",
        "CustomerMemo": {"value": "Thanks!"},
    }


def test_line_order_is_stable():
    lines = [make_line(description=f"L{i}") for i in range(1, 8)]
    payload = invoice_payload(make_invoice(*lines), make_ctx(), customer_id="9")
    assert [ln["LineNum"] for ln in payload["Line"]] == list(range(1, 8))
    assert [ln["Description"] for ln in payload["Line"]] == [f"L{i}" for i in range(1, 8)]


def test_no_due_date_no_memo():
    invoice = make_invoice(due_date=None, memo="", private_note="")
    payload = invoice_payload(invoice, make_ctx(), customer_id="9")
    assert not {"DueDate", "CustomerMemo", "PrivateNote"} & set(payload)


def test_text_limits():
    invoice = make_invoice(
        make_line(description="d" * 4100), memo="m" * 1200, private_note="p" * 4100
    )
    payload = invoice_payload(invoice, make_ctx(), customer_id="9")
    assert len(payload["Line"][0]["Description"]) == 4000
    assert len(payload["CustomerMemo"]["value"]) == 1000
    assert len(payload["PrivateNote"]) == 4000


# --- items ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "item_map", "default_item", "expected"),
    [
        ("consulting", {"consulting": "11"}, "1", "11"),
        ("consulting", {"consulting": "11"}, "", "11"),
        ("hosting", {"consulting": "11"}, "1", "1"),
        ("", {}, "1", "1"),
    ],
)
def test_item_mapping_then_default(category, item_map, default_item, expected):
    ctx = make_ctx(item_map=item_map, default_item_id=default_item)
    payload = invoice_payload(make_invoice(make_line(category=category)), ctx, customer_id="9")
    assert payload["Line"][0]["SalesItemLineDetail"]["ItemRef"] == {"value": expected}


@pytest.mark.parametrize("category", ["", "hosting"])
def test_missing_default_item_names_the_setting(category):
    ctx = make_ctx(item_map={}, default_item_id="")
    with pytest.raises(ConfigurationError) as exc:
        invoice_payload(make_invoice(make_line(category=category)), ctx, customer_id="9")
    assert "Default Item is not set" in str(exc.value)
    assert "Settings → Default Item" in str(exc.value)


# --- tax codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "tax_map", "expected"),
    [
        ("", {}, "NON"),
        ("0", {}, "NON"),
        ("0.00", {}, "NON"),
        ("0%", {}, "NON"),
        ("8.875", {}, "TAX"),
        ("exempt-ish", {}, "TAX"),
        ("8.875", {"8.875": "NON"}, "NON"),  # the mapping wins
        ("0.00", {"0": "tax"}, "TAX"),  # numeric match, case-insensitive code
    ],
)
def test_us_tax_codes(rate, tax_map, expected):
    ctx = us_ctx(tax_map=tax_map)
    payload = invoice_payload(
        make_invoice(make_line(tax_rate=rate), currency="USD"), ctx, customer_id="9"
    )
    assert payload["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": expected}
    assert "GlobalTaxCalculation" not in payload  # not used by US companies


def test_us_tax_mapping_to_a_real_code_is_a_settings_error():
    with pytest.raises(ConfigurationError) as exc:
        resolve_tax_code(make_line(tax_rate="5"), us_ctx(tax_map={"5": "17"}))
    assert "Settings → Tax mappings" in str(exc.value)


@pytest.mark.parametrize(
    ("rate", "tax_map", "default", "expected"),
    [
        ("20.00", {"20.00": "3"}, "", "3"),
        ("20", {"20.00": "3"}, "", "3"),  # numerically equal keys match
        ("20.0%", {"20.00": "3"}, "", "3"),
        ("5.00", {"20.00": "3"}, "99", "99"),  # default tax code
        ("", {}, "99", "99"),
        ("Zero rated", {"Zero rated": "8"}, "", "8"),
    ],
)
def test_uk_tax_codes(rate, tax_map, default, expected):
    ctx = make_ctx(tax_map=tax_map, default_tax_code_id=default)
    assert resolve_tax_code(make_line(tax_rate=rate), ctx) == expected


def test_uk_unmapped_rate_names_the_setting():
    ctx = make_ctx(tax_map={}, default_tax_code_id="")
    with pytest.raises(MappingError) as exc:
        invoice_payload(make_invoice(make_line(tax_rate="20.00")), ctx, customer_id="9")
    assert str(exc.value) == "Tax rate 20.00 is not mapped: Settings → Tax mappings"


def test_uk_line_without_rate_or_default_names_the_setting():
    ctx = make_ctx(tax_map={}, default_tax_code_id="")
    with pytest.raises(ConfigurationError) as exc:
        invoice_payload(make_invoice(make_line(tax_rate="")), ctx, customer_id="9")
    assert "Settings → Default Tax Code" in str(exc.value)


def test_global_tax_calculation_non_us():
    ctx = make_ctx(global_tax_calculation="TaxInclusive")
    payload = invoice_payload(make_invoice(), ctx, customer_id="9")
    assert payload["GlobalTaxCalculation"] == "TaxInclusive"


# --- discounts ------------------------------------------------------------------------------


def test_line_discounts_stay_on_their_lines_as_a_net_unit_price():
    invoice = make_invoice(
        make_line(quantity=D("3"), unit_price=D("10.00"), discount=D("3.00"),
                  description="Widgets"),
        make_line(unit_price=D("10.00")),
        make_line(quantity=D("3"), unit_price=D("10.00"), discount=D("1.00"), description=""),
    )
    lines = invoice_payload(invoice, make_ctx(discount_account_id="86"), customer_id="9")["Line"]
    assert all(ln["DetailType"] == "SalesItemLineDetail" for ln in lines)
    details = [ln["SalesItemLineDetail"] for ln in lines]
    # 27.00 over 3 is exact; 29.00 over 3 is exact at 5 places: 3 × 9.66667 = 29.00001
    assert [(d["Qty"], d["UnitPrice"]) for d in details] == [
        (D("3"), D("9.00")), (D("1"), D("10.00")), (D("3"), D("9.66667"))]
    assert [ln["Amount"] for ln in lines] == [D("27.00"), D("10.00"), D("29.00")]
    for ln, d in zip(lines, details, strict=True):  # the 6070 rule still holds
        assert ln["Amount"] == (d["Qty"] * d["UnitPrice"]).quantize(D("0.01"))
    assert lines[0]["Description"] == "Widgets (3 × 10, less discount 3.00)"
    assert lines[2]["Description"] == "3 × 10, less discount 1.00"


def test_a_net_price_with_no_exact_unit_price_is_sent_as_one_unit():
    # 100000 × 0.00001 = 1.00, less 0.99 leaves 0.01: that would need a unit price of
    # 0.0000001, beyond QBO's 5 decimal places.
    line = make_line(quantity=D("100000"), unit_price=D("0.00001"), discount=D("0.99"))
    detail_line = invoice_payload(make_invoice(line), make_ctx(), customer_id="9")["Line"][0]
    assert detail_line["Amount"] == D("0.01")
    assert (detail_line["SalesItemLineDetail"]["Qty"],
            detail_line["SalesItemLineDetail"]["UnitPrice"]) == (D("1"), D("0.01"))
    assert "100000 × 0.00001, less discount 0.99" in detail_line["Description"]


def test_line_discounts_need_no_discount_preference():
    invoice = make_invoice(make_line(discount=D("5")))
    payload = invoice_payload(invoice, make_ctx(allow_discount=False), customer_id="9")
    assert all(ln["DetailType"] == "SalesItemLineDetail" for ln in payload["Line"])


def test_a_document_discount_is_the_one_discount_line():
    invoice = make_invoice(make_line(unit_price=D("100.00")), discount=D("12.50"))
    lines = invoice_payload(invoice, make_ctx(discount_account_id="86"), customer_id="9")["Line"]
    assert lines[-1] == {
        "LineNum": 2,
        "DetailType": "DiscountLineDetail",
        "Amount": D("12.50"),
        "DiscountLineDetail": {"PercentBased": False, "DiscountAccountRef": {"value": "86"}},
    }


def test_no_discount_no_discount_line():
    payload = invoice_payload(make_invoice(), make_ctx(), customer_id="9")
    assert all(ln["DetailType"] != "DiscountLineDetail" for ln in payload["Line"])
    assert "DiscountAccountRef" not in str(payload)


def test_discount_needs_the_qbo_preference():
    invoice = make_invoice(discount=D("5"))
    with pytest.raises(MappingError) as exc:
        invoice_payload(invoice, make_ctx(allow_discount=False), customer_id="9")
    assert "Invoice INV-001 has a discount" in str(exc.value)
    assert "Sales form content → Discount" in exc.value.fix


# --- DocNumber --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "doc", "note"),
    [
        ("INV-001", "INV-001", None),
        ("A" * 21, "A" * 21, None),
        ("2024-WORKSPACE-LONDON-000123", "RKSPACE-LONDON-000123", True),
        (" INV\t7 ", "INV 7", None),
    ],
)
def test_doc_number_app_strategy(number, doc, note):
    payload = invoice_payload(make_invoice(number=number, private_note="PO 1"), make_ctx(),
                              customer_id="9")
    assert payload["DocNumber"] == doc
    assert len(payload["DocNumber"]) <= 21
    if note:
        assert payload["PrivateNote"] == f"Full number: {number}\nPO 1"
    else:
        assert payload["PrivateNote"] == "PO 1"


def test_long_numbers_keep_their_distinct_tail():
    ctx = make_ctx()
    first = invoice_payload(make_invoice(number="ACME-INVOICES-2024-00001"), ctx, customer_id="9")
    second = invoice_payload(make_invoice(number="ACME-INVOICES-2024-00002"), ctx, customer_id="9")
    assert first["DocNumber"] != second["DocNumber"]
    assert first["DocNumber"] == "E-INVOICES-2024-00001"


def test_qbo_strategy_sends_no_doc_number():
    ctx = make_ctx(number_strategy="qbo")
    payload = invoice_payload(make_invoice(number="X" * 30), ctx, customer_id="9")
    assert "DocNumber" not in payload
    assert "PrivateNote" not in payload
    assert invoice_payload(make_invoice(number=""), ctx, customer_id="9").get("DocNumber") is None


# --- currency ------------------------------------------------------------------------------------


def test_no_currency_ref_without_multicurrency():
    payload = invoice_payload(make_invoice(currency="GBP"), make_ctx(), customer_id="9")
    assert "CurrencyRef" not in payload and "ExchangeRate" not in payload


def test_foreign_invoice_without_multicurrency_is_refused():
    with pytest.raises(MappingError) as exc:
        invoice_payload(make_invoice(currency="EUR"), make_ctx(), customer_id="9")
    assert "only uses GBP" in str(exc.value)
    assert "Multicurrency" in exc.value.fix


@pytest.mark.parametrize(
    ("currency", "rate", "expected_ref", "expected_rate"),
    [
        ("EUR", D("0.8532"), "EUR", D("0.8532")),
        ("eur", None, "EUR", None),
        ("", None, "GBP", None),
        ("GBP", D("1.5"), "GBP", None),  # no rate for the home currency
    ],
)
def test_multicurrency(currency, rate, expected_ref, expected_rate):
    invoice = make_invoice(currency=currency, exchange_rate=rate)
    payload = invoice_payload(invoice, multi_ctx(), customer_id="9")
    assert payload["CurrencyRef"] == {"value": expected_ref}
    assert payload.get("ExchangeRate") == expected_rate


def test_currency_the_company_lacks_is_refused():
    with pytest.raises(MappingError) as exc:
        invoice_payload(make_invoice(currency="CHF"), multi_ctx(), customer_id="9")
    assert "CHF" in str(exc.value)


def test_missing_customer_id_is_refused():
    with pytest.raises(MappingError) as exc:
        invoice_payload(make_invoice(), make_ctx(), customer_id="")
    assert "sync the contact first" in str(exc.value)


# --- credit memo and refund ------------------------------------------------------------------


def test_credit_memo_payload():
    memo = CreditMemoData(
        key="c1", workspace="w", number="CN-1", contact_key="7", date=date(2024, 4, 2),
        currency="EUR", lines=(make_line(unit_price=D("40.00")),), memo="Sorry",
    )
    payload = credit_memo_payload(memo, multi_ctx(), customer_id="9")
    assert payload["DocNumber"] == "CN-1"
    assert payload["TxnDate"] == "2024-04-02"
    assert payload["CurrencyRef"] == {"value": "EUR"}
    assert payload["CustomerMemo"] == {"value": "Sorry"}
    assert item_lines(payload)[0]["Amount"] == D("40.00")
    assert "DueDate" not in payload and "DepositToAccountRef" not in payload


def make_refund(**overrides) -> RefundData:
    values = dict(
        key="r1", workspace="w", number="RF-1", contact_key="7", date=date(2024, 4, 3),
        currency="GBP", lines=(make_line(unit_price=D("15.00")),), method="Bank transfer",
        reference="TRX-99",
    )
    values.update(overrides)
    return RefundData(**values)


def test_refund_receipt_payload():
    payload = refund_receipt_payload(make_refund(), make_ctx(), customer_id="9")
    assert payload["DepositToAccountRef"] == {"value": "35"}
    assert payload["PaymentRefNum"] == "TRX-99"
    assert payload["PrivateNote"] == "Refund method: Bank transfer"
    assert payload["CustomerRef"] == {"value": "9"}
    assert item_lines(payload)[0]["Amount"] == D("15.00")


def test_refund_reference_limit_is_100():
    payload = refund_receipt_payload(make_refund(reference="R" * 120), make_ctx(), customer_id="9")
    assert payload["PaymentRefNum"] == "R" * 100
    assert "Full reference: " + "R" * 120 in payload["PrivateNote"]


def test_refund_needs_deposit_account():
    with pytest.raises(ConfigurationError) as exc:
        refund_receipt_payload(make_refund(), make_ctx(default_deposit_account_id=""),
                               customer_id="9")
    assert str(exc.value) == (
        "Default Deposit Account is not set: Settings → Default Deposit Account"
    )


# --- payment ------------------------------------------------------------------------------------


def test_payment_payload():
    payload = payment_payload(make_payment(), make_ctx(), customer_id="9", invoice_id="130")
    assert payload == {
        "TotalAmt": D("120.00"),
        "TxnDate": "2024-03-05",
        "CustomerRef": {"value": "9"},
        "Line": [{"Amount": D("120.00"),
                  "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]}],
        "DepositToAccountRef": {"value": "35"},
        "PaymentRefNum": "ch_123",
        "PrivateNote": "Payment method: Card",
    }


def test_payment_multicurrency_and_long_reference():
    payment = make_payment(currency="EUR", reference="pi_" + "9" * 30, method="")
    payload = payment_payload(payment, multi_ctx(), customer_id="9", invoice_id="130")
    assert payload["CurrencyRef"] == {"value": "EUR"}
    assert payload["PaymentRefNum"] == ("pi_" + "9" * 30)[:21]
    assert payload["PrivateNote"] == "Full reference: pi_" + "9" * 30


def test_payment_without_deposit_account_names_the_setting():
    ctx = make_ctx(default_deposit_account_id="")
    with pytest.raises(ConfigurationError) as exc:
        payment_payload(make_payment(), ctx, customer_id="9", invoice_id="130")
    assert str(exc.value) == (
        "Default Deposit Account is not set: Settings → Default Deposit Account"
    )
    assert exc.value.fix == "Settings → Default Deposit Account"


def test_payment_without_invoice_id_is_refused():
    with pytest.raises(MappingError) as exc:
        payment_payload(make_payment(), make_ctx(), customer_id="9", invoice_id="")
    assert "sync the invoice first" in str(exc.value)


def test_payment_currency_must_match_invoice():
    with pytest.raises(MappingError) as exc:
        payment_payload(make_payment(currency="EUR"), multi_ctx(), customer_id="9",
                        invoice_id="130", invoice_currency="GBP")
    assert "is in EUR but its invoice is in GBP" in str(exc.value)


def test_an_exchange_rate_from_the_app_is_noted_with_its_date():
    invoice = make_invoice(currency="EUR", exchange_rate=D("0.85"))
    payload = invoice_payload(invoice, multi_ctx(), customer_id="9")
    assert payload["ExchangeRate"] == D("0.85")
    assert "Exchange rate: 0.85 GBP per EUR, set by the app for 2024-03-01" in \
        payload["PrivateNote"]
