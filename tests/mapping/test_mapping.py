"""Mapping: context, customers, content hash and masking. No database, no HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qbo_sync.data import AddressData, ContactData
from qbo_sync.exceptions import MappingError
from qbo_sync.mapping import (
    MappingContext,
    content_hash,
    customer_display_name,
    customer_display_name_variant,
    customer_payload,
    customer_sparse_update,
    mask_payload,
    preflight_contact,
    validate_email,
)

from .support import make_ctx, multi_ctx

D = Decimal


def make_contact(**overrides) -> ContactData:
    values = dict(key="7", workspace="w", display_name="Acme Ltd", email="ap@acme.example")
    values.update(overrides)
    return ContactData(**values)


# --- MappingContext -------------------------------------------------------------------


def test_from_parts_reads_capabilities_and_settings():
    ctx = MappingContext.from_parts(
        {"is_us": False, "multicurrency": True, "home_currency": "gbp",
         "currencies": ["eur", "USD"], "allow_discount": True},
        {"invoice_number_strategy": "qbo", "default_item_id": "1",
         "default_tax_code_id": "5", "default_deposit_account_id": "35"},
        {"consulting": "11"},
        {"20.00": "3"},
    )
    assert ctx.home_currency == "GBP"
    assert ctx.currencies == frozenset({"GBP", "EUR", "USD"})  # home is always usable
    assert ctx.number_strategy == "qbo"
    assert (ctx.default_item_id, ctx.default_tax_code_id, ctx.default_deposit_account_id) == (
        "1", "5", "35",
    )
    assert ctx.item_map["consulting"] == "11" and ctx.tax_map["20.00"] == "3"
    assert ctx.global_tax_calculation == "TaxExcluded"


def test_from_parts_without_multicurrency_only_has_home_currency():
    ctx = MappingContext.from_parts(
        {"multicurrency": False, "home_currency": "USD", "currencies": ["EUR"]}, {}
    )
    assert ctx.currencies == frozenset({"USD"})
    assert ctx.number_strategy == "app"  # the model's default


def test_context_maps_are_copies():
    items = {"a": "1"}
    ctx = make_ctx(item_map=items)
    items["a"] = "2"
    assert ctx.item_map["a"] == "1"
    with pytest.raises(TypeError):
        ctx.item_map["b"] = "3"  # type: ignore[index]


# --- display names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme Ltd", "Acme Ltd"),
        ("  Acme   Ltd  ", "Acme Ltd"),
        ("Acme: London", "Acme - London"),
        ("Acme:London", "Acme - London"),
        ("Acme:", "Acme"),
        (":Acme::Ltd:", "Acme - Ltd"),
        ("Acme\tLtd", "Acme Ltd"),
        ("Acme\nLtd\r\n", "Acme Ltd"),
        ("Acme\x00Ltd", "Acme Ltd"),
        ("Zoë & Søn", "Zoë & Søn"),
    ],
)
def test_display_name_cleaning(raw, expected):
    assert customer_display_name(make_contact(display_name=raw)) == expected


def test_display_name_is_cut_to_500():
    assert len(customer_display_name(make_contact(display_name="x" * 501))) == 500
    assert customer_display_name(make_contact(display_name="y" * 500)) == "y" * 500


def test_display_name_falls_back_to_company_name():
    contact = make_contact(display_name=" ", company_name="Acme: Holdings")
    assert customer_display_name(contact) == "Acme - Holdings"


@pytest.mark.parametrize("raw", ["", "   ", ":", "\t\n", " : "])
def test_empty_display_name_names_the_fix(raw):
    with pytest.raises(MappingError) as exc:
        customer_display_name(make_contact(display_name=raw))
    assert "id 7" in str(exc.value)
    assert "give the contact a name" in exc.value.fix


@pytest.mark.parametrize(
    ("name", "currency", "expected"),
    [
        ("Acme Ltd", "EUR", "Acme Ltd (EUR)"),
        ("Acme Ltd", "eur", "Acme Ltd (EUR)"),
        ("Acme: Ltd", "USD", "Acme - Ltd (USD)"),
    ],
)
def test_display_name_variant(name, currency, expected):
    assert customer_display_name_variant(name, currency) == expected


def test_display_name_variant_stays_within_500():
    variant = customer_display_name_variant("z" * 500, "EUR")
    assert len(variant) == 500
    assert variant.endswith(" (EUR)")


# --- emails and customer payload --------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("a@b.co", True),
        ("first.last+tag@sub.example.org", True),
        ("a@b.co, c@d.org", True),
        ("no-at-sign.example", False),
        ("a@nodot", False),
        ("a@b.", False),
        ("a@.b", False),
        ("a b@c.com", False),
        ("a@@b.com", False),
        ("@b.com", False),
        ("a@b.co," + "x" * 95 + "@e.com", False),  # over 100 characters
        ("x" * 90 + "@example.com", False),  # 102 characters
        ("x" * 88 + "@example.com", True),  # exactly 100
    ],
)
def test_validate_email(email, valid):
    assert validate_email(email) is valid


def test_invalid_email_names_contact_and_fix():
    with pytest.raises(MappingError) as exc:
        customer_payload(make_contact(email="acme at example"), make_ctx())
    message = str(exc.value)
    assert "'Acme Ltd' (id 7)" in message
    assert "correct the contact's email address" in message


def test_customer_payload_full():
    contact = make_contact(
        display_name="Acme: Ltd",
        company_name="Acme\tLimited",
        email=" ap@acme.example ",
        phone="+44  20 7946 0958",
        billing_address=AddressData(
            line1="1 High St", line2="", city="London", region="LND",
            postal_code="N1 9GU", country="GB",
        ),
    )
    assert customer_payload(contact, make_ctx()) == {
        "DisplayName": "Acme - Ltd",
        "CompanyName": "Acme Limited",
        "PrimaryEmailAddr": {"Address": "ap@acme.example"},
        "PrimaryPhone": {"FreeFormNumber": "+44 20 7946 0958"},
        "BillAddr": {
            "Line1": "1 High St", "City": "London", "CountrySubDivisionCode": "LND",
            "PostalCode": "N1 9GU", "Country": "GB",
        },
    }


def test_customer_payload_minimal_and_limits():
    contact = make_contact(
        email="", company_name="c" * 150,
        billing_address=AddressData(line1="l" * 600, postal_code="p" * 40),
    )
    payload = customer_payload(contact, make_ctx())
    assert "PrimaryEmailAddr" not in payload and "PrimaryPhone" not in payload
    assert len(payload["CompanyName"]) == 100
    assert len(payload["BillAddr"]["Line1"]) == 500
    assert len(payload["BillAddr"]["PostalCode"]) == 30


def test_empty_address_is_left_out():
    payload = customer_payload(make_contact(billing_address=AddressData()), make_ctx())
    assert "BillAddr" not in payload


def test_display_name_override_for_variants():
    payload = customer_payload(make_contact(), multi_ctx(), display_name="Acme Ltd (EUR)")
    assert payload["DisplayName"] == "Acme Ltd (EUR)"


def test_phone_over_30_characters_is_refused_not_cut():
    with pytest.raises(MappingError) as exc:
        customer_payload(make_contact(phone="+1 555 0100 ext 12345 (reception)"), make_ctx())
    assert "shorten the contact's phone number" in str(exc.value)


@pytest.mark.parametrize(
    ("ctx", "currency", "expected"),
    [
        (make_ctx(), "EUR", None),  # no multicurrency: never sent
        (multi_ctx(), "", None),  # home currency by default
        (multi_ctx(), "eur", {"value": "EUR"}),
        (multi_ctx(), "GBP", {"value": "GBP"}),
    ],
)
def test_customer_currency(ctx, currency, expected):
    payload = customer_payload(make_contact(currency=currency), ctx)
    assert payload.get("CurrencyRef") == expected


def test_customer_unknown_currency_is_refused():
    with pytest.raises(MappingError) as exc:
        customer_payload(make_contact(currency="CHF"), multi_ctx())
    assert "CHF" in str(exc.value) and "Currencies" in exc.value.fix


def test_preflight_contact_collects_every_problem():
    contact = make_contact(display_name="", email="bad", phone="9" * 31, currency="CHF")
    messages = preflight_contact(contact, multi_ctx())
    assert len(messages) == 4
    assert preflight_contact(make_contact(), multi_ctx()) == []


# --- sparse update -----------------------------------------------------------------------


def test_sparse_update_sends_only_changes():
    previous = customer_payload(make_contact(phone="0123"), make_ctx())
    current = customer_payload(make_contact(phone="0456", email="new@acme.example"), make_ctx())
    body = customer_sparse_update(current, previous, qbo_id="58", sync_token="3")
    assert body == {
        "Id": "58", "SyncToken": "3", "sparse": True,
        "PrimaryEmailAddr": {"Address": "new@acme.example"},
        "PrimaryPhone": {"FreeFormNumber": "0456"},
    }


def test_sparse_update_blanks_removed_fields_and_never_sends_currency():
    previous = {"DisplayName": "A", "PrimaryPhone": {"FreeFormNumber": "1"},
                "CurrencyRef": {"value": "EUR"}}
    current = {"DisplayName": "A", "CurrencyRef": {"value": "USD"}}
    body = customer_sparse_update(current, previous, qbo_id="1", sync_token="0")
    assert body == {"Id": "1", "SyncToken": "0", "sparse": True,
                    "PrimaryPhone": {"FreeFormNumber": ""}}


def test_sparse_update_without_changes_is_none():
    payload = customer_payload(make_contact(), make_ctx())
    assert customer_sparse_update(payload, dict(payload), qbo_id="1", sync_token="0") is None


# --- content hash ---------------------------------------------------------------------


def test_content_hash_ignores_key_order_and_decimal_scale():
    a = {"TotalAmt": D("1.0"), "CustomerRef": {"value": "1", "name": "x"}}
    b = {"CustomerRef": {"name": "x", "value": "1"}, "TotalAmt": D("1.00")}
    assert content_hash(a) == content_hash(b)
    assert content_hash({"x": D("100")}) == content_hash({"x": D("1E+2")})
    assert content_hash({"x": D("-0.00")}) == content_hash({"x": D("0")})
    assert len(content_hash(a)) == 64


def test_content_hash_changes_with_content():
    base = {"Line": [{"Amount": D("1.00")}, {"Amount": D("2.00")}], "DocNumber": "1"}
    assert content_hash(base) != content_hash({**base, "DocNumber": "2"})
    assert content_hash(base) != content_hash({**base, "Line": base["Line"][::-1]})
    assert content_hash({"x": D("1.00")}) != content_hash({"x": D("1.01")})


def test_content_hash_ignores_update_envelope():
    body = {"DisplayName": "A"}
    assert content_hash(body) == content_hash({**body, "Id": "5", "SyncToken": "9", "sparse": True})


def test_content_hash_is_stable_across_runs():
    # A fixed value: the stored hashes must survive upgrades and restarts.
    assert content_hash({"b": D("1.50"), "a": "x"}) == content_hash({"a": "x", "b": D("1.5")})
    import hashlib

    expected = hashlib.sha256(b'{"a":"x","b":"1.5"}').hexdigest()
    assert content_hash({"a": "x", "b": D("1.50")}) == expected


def test_content_hash_refuses_floats():
    with pytest.raises(TypeError):
        content_hash({"Amount": 1.5})


# --- masking ------------------------------------------------------------------------------


def test_mask_payload_masks_email_and_phone_keeps_amounts():
    payload = {
        "DisplayName": "Acme",
        "PrimaryEmailAddr": {"Address": "jane.doe@acme.example"},
        "PrimaryPhone": {"FreeFormNumber": "+44 20 7946 0958"},
        "Mobile": {"FreeFormNumber": "07700 900123"},
        "PrivateNote": "Contact bob@x.example or call",
        "Line": [{"Amount": D("12.50")}],
        "TotalAmt": D("12.50"),
    }
    masked = mask_payload(payload)
    assert masked["PrimaryEmailAddr"] == {"Address": "***@acme.example"}
    assert masked["PrimaryPhone"] == {"FreeFormNumber": "+** ** **** **58"}
    assert masked["Mobile"] == {"FreeFormNumber": "***** ****23"}
    assert masked["PrivateNote"] == "Contact ***@x.example or call"
    assert masked["Line"] == [{"Amount": D("12.50")}]
    assert masked["TotalAmt"] == D("12.50") and masked["DisplayName"] == "Acme"
    # the input is untouched
    assert payload["PrimaryEmailAddr"]["Address"] == "jane.doe@acme.example"


def test_mask_payload_masks_list_of_emails():
    masked = mask_payload({"PrimaryEmailAddr": {"Address": "a@b.co, c@d.org"}})
    assert masked["PrimaryEmailAddr"]["Address"] == "***@b.co, ***@d.org"


def test_customer_tax_data_is_sent_where_qbo_has_fields():
    contact = make_contact(taxable=False, tax_id=" GB123\t456789 ",
                           tax_exemption_reason="Registered charity")
    payload = customer_payload(contact, make_ctx())
    assert payload["Taxable"] is False
    assert payload["PrimaryTaxIdentifier"] == "GB123 456789"
    assert payload["Notes"] == "Tax exempt: Registered charity"
    plain = customer_payload(make_contact(), make_ctx())
    assert not {"Taxable", "PrimaryTaxIdentifier", "Notes"} & set(plain)


def test_dropping_the_exemption_makes_the_customer_taxable_again():
    before = customer_payload(make_contact(taxable=False, tax_exemption_reason="Charity"),
                              make_ctx())
    after = customer_payload(make_contact(), make_ctx())
    body = customer_sparse_update(after, before, qbo_id="58", sync_token="2")
    assert body["Taxable"] is True and body["Notes"] == ""
