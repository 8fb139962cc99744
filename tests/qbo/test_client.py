"""QBOClient against the in-process QBO simulator (qbo_sync.testing.fixtures)."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest

import qbo_sync
from qbo_sync import exceptions as exc
from qbo_sync.connection.clients import client_for
from qbo_sync.qbo.wire import dumps, where_eq
from qbo_sync.testing.connections import connect_to_simulator

pytestmark = pytest.mark.django_db

US_REALM = "9341453000000001"
UK_REALM = "9341453000000002"


@pytest.fixture
def client(qbo_connection, refreshes):
    with client_for(qbo_connection) as c:
        yield c


def api_calls(sim):
    return [r for r in sim.requests_log if r.realm]


# CRUD ---------------------------------------------------------------------------------


def test_create_read_sparse_update(client, qbo_simulator):
    created = client.create("customer", {"DisplayName": "Ada Lovelace",
                                         "PrimaryEmailAddr": {"Address": "ada@example.com"}})
    assert created["Id"] and created["SyncToken"] == "0"
    read = client.read("customer", created["Id"])
    assert read["DisplayName"] == "Ada Lovelace"

    updated = client.update("customer", {"Id": read["Id"], "SyncToken": read["SyncToken"],
                                         "CompanyName": "Analytical Engines"})
    assert updated["CompanyName"] == "Analytical Engines"
    # Sparse: the fields not sent are kept.
    assert updated["DisplayName"] == "Ada Lovelace"
    assert updated["PrimaryEmailAddr"]["Address"] == "ada@example.com"
    assert int(updated["SyncToken"]) == int(read["SyncToken"]) + 1
    assert '"sparse": true' in api_calls(qbo_simulator)[-1].body


def test_update_needs_id_and_sync_token(client):
    with pytest.raises(ValueError, match="SyncToken"):
        client.update("customer", {"Id": "1", "DisplayName": "x"})


def test_stale_update_raises_stale_object_error(client, qbo_simulator):
    created = client.create("customer", {"DisplayName": "Stale Sam"})
    qbo_simulator.bump_sync_token(US_REALM, "Customer", created["Id"])
    with pytest.raises(exc.StaleObjectError) as info:
        client.update("customer", {"Id": created["Id"], "SyncToken": created["SyncToken"],
                                   "CompanyName": "Too late"})
    assert info.value.code == "5010"
    assert info.value.status_code == 400
    assert info.value.intuit_tid


def test_read_missing_record(client):
    with pytest.raises(exc.NotFoundError):
        client.read("customer", "999999")


def test_invoice_money_is_decimal_both_ways(client):
    customer = client.create("customer", {"DisplayName": "Decimal Dora"})
    item = client.list_items()[0]
    invoice = client.create("invoice", {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("59.97"),
                  "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]},
                                          "Qty": Decimal("3"), "UnitPrice": Decimal("19.99"),
                                          "TaxCodeRef": {"value": "NON"}}}],
    })
    line = invoice["Line"][0]
    assert isinstance(line["Amount"], Decimal) and line["Amount"] == Decimal("59.97")
    assert invoice["TotalAmt"] == Decimal("59.97")


def test_dumps_writes_exact_decimals():
    text = dumps({"Amount": Decimal("0.10"), "Qty": Decimal("3"), "Name": "a\x00b"})
    assert text == '{"Amount": 0.10, "Qty": 3, "Name": "a\\u0000b"}'


def _invoice(client, name, amount="100.00"):
    customer = client.create("customer", {"DisplayName": name})
    item = client.list_items()[0]
    return customer, client.create("invoice", {
        "CustomerRef": {"value": customer["Id"]},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal(amount),
                  "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]},
                                          "Qty": Decimal("1"), "UnitPrice": Decimal(amount),
                                          "TaxCodeRef": {"value": "NON"}}}],
    })


def test_void_invoice_void_payment_and_delete(client, qbo_simulator):
    customer, invoice = _invoice(client, "Void Vera")
    payment = client.create("payment", {
        "CustomerRef": {"value": customer["Id"]}, "TotalAmt": Decimal("40.00"),
        "Line": [{"Amount": Decimal("40.00"),
                  "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    })
    voided_payment = client.void_payment(payment["Id"], payment["SyncToken"], request_id="vp-1")
    assert voided_payment["TotalAmt"] == 0
    call = api_calls(qbo_simulator)[-1]
    assert call.query["operation"] == "update" and call.query["include"] == "void"
    assert '"sparse": true' in call.body and call.requestid == "vp-1"

    invoice = client.read("invoice", invoice["Id"])
    voided = client.void_invoice(invoice["Id"], invoice["SyncToken"])
    assert voided["TotalAmt"] == 0
    assert api_calls(qbo_simulator)[-1].query["operation"] == "void"

    _, other = _invoice(client, "Delete Dan")
    deleted = client.delete("invoice", other["Id"], other["SyncToken"])
    assert deleted["Id"] == other["Id"] and deleted.get("status") == "Deleted"
    with pytest.raises(exc.NotFoundError):
        client.read("invoice", other["Id"])


# Request shape ----------------------------------------------------------------------------


def test_writes_send_requestid_reads_do_not(client, qbo_simulator, qbo_connection):
    qbo_connection.minor_version = 70  # below 75 is never sent (docs/qbo-rules.md §2.3)
    created = client.create("customer", {"DisplayName": "Req Id"}, request_id="job-17-v1")
    write = api_calls(qbo_simulator)[-1]
    assert write.requestid == "job-17-v1"
    assert write.query["minorversion"] == "75"
    client.read("customer", created["Id"])
    read = api_calls(qbo_simulator)[-1]
    assert read.method == "GET" and read.requestid is None
    assert read.query["minorversion"] == "75"


def test_same_requestid_does_not_create_twice(client, qbo_simulator):
    first = client.create("customer", {"DisplayName": "Once Only"}, request_id="create-once")
    try:
        second = client.create("customer", {"DisplayName": "Once Only"},
                               request_id="create-once")
    except exc.DuplicateRequestError:  # QBO may answer 600 instead (docs/qbo-rules.md §2.4)
        second = first
    assert second["Id"] == first["Id"]
    assert client.count("customer", where_eq("DisplayName", "Once Only")) == 1


@pytest.mark.parametrize("request_id", ["", "x" * 51])
def test_bad_request_id_is_refused_before_sending(client, qbo_simulator, request_id):
    with pytest.raises(ValueError, match="50"):
        client.create("customer", {"DisplayName": "Nope"}, request_id=request_id)
    assert api_calls(qbo_simulator) == []


def test_headers(client):
    seen = []
    client.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request))
    client.create("customer", {"DisplayName": "Header Hal"})
    client.query("SELECT * FROM Customer")
    create, query = seen
    for req in seen:
        assert req.headers["Accept"] == "application/json"
        assert req.headers["User-Agent"] == f"qbo-sync/{qbo_sync.__version__} (+python-requests)"
        assert req.headers["Authorization"].startswith("Bearer ")
    assert create.headers["Content-Type"] == "application/json"
    assert query.method == "POST" and query.headers["Content-Type"] == "application/text"
    assert query.body == b"SELECT * FROM Customer"
    assert f"/v3/company/{US_REALM}/customer?" in create.url


def test_calls_are_logged_without_tokens(client, qbo_connection, caplog):
    caplog.set_level(logging.DEBUG, logger="qbo_sync")
    token = qbo_connection.access_token
    client.create("customer", {"DisplayName": "Logged Lu"})
    record = next(r for r in caplog.records if r.name == "qbo_sync.client")
    text = record.getMessage()
    assert "POST" in text and "/customer" in text and "200" in text and "intuit_tid=1-" in text
    assert token not in caplog.text


def test_no_realm_needs_connect(qbo_connection):
    qbo_connection.realm_id = ""
    with pytest.raises(exc.ReconnectRequired) as info:
        client_for(qbo_connection).read("customer", "1")
    assert "Connect" in info.value.fix


# Auth, throttling, network ---------------------------------------------------------------


def test_expired_token_is_refreshed_once_and_retried(client, qbo_simulator, qbo_connection,
                                                     refreshes):
    created = client.create("customer", {"DisplayName": "Refresh Rita"})
    stale = qbo_connection.access_token
    qbo_simulator.expire_tokens(US_REALM)
    qbo_simulator.clear_log()
    assert client.read("customer", created["Id"])["Id"] == created["Id"]
    assert refreshes == [stale]
    assert [r.status for r in api_calls(qbo_simulator)] == [401, 200]
    assert qbo_connection.access_token != stale


def test_second_401_raises_authentication_failed(client, qbo_simulator, refreshes):
    qbo_simulator.inject("expire_tokens", times=2, path=r"^/v3/company/")
    with pytest.raises(exc.AuthenticationFailed) as info:
        client.query("SELECT * FROM Customer")
    assert len(refreshes) == 1
    assert [r.status for r in api_calls(qbo_simulator)] == [401, 401]
    assert info.value.status_code == 401 and info.value.fix


def test_injected_throttle(client, qbo_simulator):
    qbo_simulator.inject("throttle")
    with pytest.raises(exc.Throttled) as info:
        client.query("SELECT * FROM Customer")
    assert info.value.code == "3001" and info.value.status_code == 429


def test_real_per_minute_limit(client, qbo_simulator):
    qbo_simulator.limits.per_minute = 2
    client.query("SELECT * FROM Item")
    client.query("SELECT * FROM Item")
    with pytest.raises(exc.Throttled):
        client.query("SELECT * FROM Item")
    qbo_simulator.clock.advance(61)
    assert client.query("SELECT * FROM Item")


def test_write_timeout_is_network_error_and_ambiguous(client, qbo_simulator):
    qbo_simulator.inject("timeout", method="POST", entity="customer", after_execute=True)
    with pytest.raises(exc.NetworkError) as info:
        client.create("customer", {"DisplayName": "Maybe Mo"}, request_id="maybe-1")
    assert "may or may not have been applied" in str(info.value)
    # It was applied: the requestid retry answers with the same record.
    again = client.create("customer", {"DisplayName": "Maybe Mo"}, request_id="maybe-1")
    assert client.count("customer", where_eq("DisplayName", "Maybe Mo")) == 1
    assert again["DisplayName"] == "Maybe Mo"


def test_read_timeout_and_dropped_connection(client, qbo_simulator):
    qbo_simulator.inject("timeout", method="GET")
    with pytest.raises(exc.NetworkError, match="nothing was changed"):
        client.preferences()
    qbo_simulator.inject("drop", method="POST")
    with pytest.raises(exc.NetworkError, match="could not be reached"):
        client.create("customer", {"DisplayName": "Dropped Di"})


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(client, qbo_simulator, status):
    qbo_simulator.inject("error", status=status)
    with pytest.raises(exc.ServerError) as info:
        client.company_info()
    assert info.value.status_code == status and info.value.intuit_tid


# Company ---------------------------------------------------------------------------------


def test_capabilities_us(client):
    caps = client.capabilities()
    assert caps.country == "US" and caps.is_us
    assert caps.automated_sales_tax is True
    assert caps.multicurrency is False
    assert caps.home_currency == "USD" and caps.currencies[0] == "USD"
    assert caps.company_name == "Simulated US Company"
    stored = caps.as_dict()
    assert stored["country"] == "US" and isinstance(stored["currencies"], list)
    assert type(caps).from_dict(stored) == caps


def test_capabilities_uk(qbo_connect, refreshes):
    connection = qbo_connect(UK_REALM, workspace="uk")
    caps = client_for(connection).capabilities()
    assert caps.country == "GB" and not caps.is_us
    assert caps.multicurrency is True and caps.home_currency == "GBP"
    assert caps.automated_sales_tax is False
    assert caps.currencies[0] == "GBP"


def test_lists(client):
    items = client.list_items()
    assert items and {i["Type"] for i in items} <= {"Service", "NonInventory"}
    assert all(i.get("Active", True) for i in items)
    banks = client.list_accounts("Bank")
    assert banks and {a["AccountType"] for a in banks} == {"Bank"}
    assert len(client.list_accounts()) > len(banks)
    assert client.list_tax_codes()


# Query, batch, CDC -------------------------------------------------------------------------


def test_query_all_pages_until_short_page(client, qbo_simulator):
    client.batch([{"operation": "create", "Customer": {"DisplayName": f"Pager {n:02d}"}}
                  for n in range(12)])
    total = client.count("customer")
    qbo_simulator.clear_log()
    rows = client.query_all("customer", where="", page_size=5)
    assert len(rows) == total >= 12
    assert len({r["Id"] for r in rows}) == total
    pages = api_calls(qbo_simulator)
    assert len(pages) == total // 5 + 1
    assert "STARTPOSITION 6 MAXRESULTS 5" in pages[1].body


def test_query_all_over_a_thousand(client):
    items = [{"operation": "create", "Customer": {"DisplayName": f"Bulk {n:04d}"}}
             for n in range(1005)]
    results = client.batch(items)
    assert all(r["error"] is None for r in results)
    rows = client.query_all("Customer", where="DisplayName LIKE 'Bulk%'")
    assert len(rows) == 1005
    assert client.count("Customer", "WHERE DisplayName LIKE 'Bulk%'") == 1005


def test_query_all_rejects_bad_page_size(client):
    with pytest.raises(ValueError):
        client.query_all("customer", page_size=1001)


def test_bad_query_raises_query_error(client):
    with pytest.raises(exc.QueryError) as info:
        client.query("SELECT * FROM Customer WHERE DisplayName = 'O'Brien'")
    assert info.value.code == "4000"


def test_batch_item_fault_is_returned_not_raised(client, qbo_simulator):
    client.create("customer", {"DisplayName": "Taken Name"})
    results = client.batch([
        {"bId": "ok", "operation": "create", "Customer": {"DisplayName": "Fresh Name"}},
        {"bId": "dup", "operation": "create", "Customer": {"DisplayName": "Taken Name"}},
        {"bId": "q", "Query": "SELECT * FROM Customer WHERE DisplayName = 'Taken Name'"},
    ], request_id="batch-1")
    assert [r["bId"] for r in results] == ["ok", "dup", "q"]
    assert results[0]["error"] is None and results[0]["Customer"]["Id"]
    assert isinstance(results[1]["error"], exc.DuplicateNameError)
    assert results[1]["error"].code == "6240" and results[1]["error"].intuit_tid
    assert results[2]["error"] is None
    assert api_calls(qbo_simulator)[-1].requestid == "batch-1"


def test_batch_splits_over_thirty(client, qbo_simulator):
    qbo_simulator.clear_log()
    results = client.batch([{"operation": "create", "Customer": {"DisplayName": f"Split {n}"}}
                            for n in range(31)])
    assert len(results) == 31 and [r["bId"] for r in results][-1] == "31"
    assert [r.path.rsplit("/", 1)[-1] for r in api_calls(qbo_simulator)] == ["batch", "batch"]


def test_batch_refuses_long_or_duplicate_bids(client):
    with pytest.raises(ValueError, match="36"):  # the batch requestid limit (§2.4)
        client.batch([{"Query": "SELECT * FROM Item"}], request_id="r" * 37)
    with pytest.raises(ValueError):
        client.batch([{"bId": "x" * 11, "Query": "SELECT * FROM Item"}])
    with pytest.raises(ValueError):
        client.batch([{"bId": "a", "Query": "SELECT * FROM Item"},
                      {"bId": "a", "Query": "SELECT * FROM Item"}])


def test_cdc(client, qbo_simulator):
    since = qbo_simulator.clock.now() - timedelta(minutes=5)
    assert client.cdc(["Customer", "invoice"], since) == {"Customer": [], "Invoice": []}
    customer = client.create("customer", {"DisplayName": "Changed Carl"})
    _, invoice = _invoice(client, "Deleted Del")
    client.delete("invoice", invoice["Id"], invoice["SyncToken"])
    changes = client.cdc(["customer", "Invoice", "Payment"], since)
    assert set(changes) == {"Customer", "Invoice", "Payment"}
    assert customer["Id"] in {c["Id"] for c in changes["Customer"]}
    gone = [i for i in changes["Invoice"] if i["Id"] == invoice["Id"]]
    assert gone and gone[-1].get("status") == "Deleted"
    assert changes["Payment"] == []
    with pytest.raises(ValueError):
        client.cdc(["Customer"], since.replace(tzinfo=None))


def test_capabilities_from_qbo_is_lenient():
    from qbo_sync.qbo.capabilities import Capabilities

    caps = Capabilities.from_qbo(
        {"CompanyName": "Acme", "CompanyAddr": {"Country": "GBR"}},
        {"CurrencyPrefs": {"MultiCurrencyEnabled": "true", "HomeCurrency": {"value": "gbp"}},
         "TaxPrefs": {"UsingSalesTax": True}, "SalesFormsPrefs": {"CustomTxnNumbers": True}},
        currencies=["EUR", "GBP", "usd"],
    )
    assert caps.country == "GB" and not caps.is_us
    assert caps.multicurrency and caps.home_currency == "GBP"
    assert caps.currencies == ("GBP", "EUR", "USD")
    assert caps.custom_txn_numbers and caps.uses_sales_tax and not caps.automated_sales_tax
    assert Capabilities.from_dict({**caps.as_dict(), "retired_key": 1}) == caps
    assert Capabilities.from_qbo({}, {}) == Capabilities()


def test_over_real_http(qbo_sim_server, refreshes):
    connection = connect_to_simulator(qbo_sim_server, US_REALM, workspace="http")
    with client_for(connection) as http_client:
        created = http_client.create("customer", {"DisplayName": "Socket Sue"},
                                     request_id="sock-1")
        assert http_client.read("customer", created["Id"])["DisplayName"] == "Socket Sue"
        qbo_sim_server.expire_tokens(US_REALM)
        assert http_client.count("customer", where_eq("DisplayName", "Socket Sue")) == 1
        qbo_sim_server.inject("throttle")
        with pytest.raises(exc.Throttled):
            http_client.company_info()
    assert len(refreshes) == 1


def test_a_batch_call_takes_a_batch_budget_unit_and_others_do_not(client, monkeypatch):
    """docs/qbo-rules.md §3: /batch calls have their own 40 a minute."""
    from contextlib import contextmanager

    from qbo_sync.qbo import client as client_module

    taken = []

    @contextmanager
    def budget(realm, *, batch=False):
        taken.append(batch)
        yield

    monkeypatch.setattr(client_module.throttle, "budget", budget)
    client.batch([{"Query": "SELECT * FROM Customer"}])
    client.query("SELECT * FROM Customer")
    assert taken == [True, False]
