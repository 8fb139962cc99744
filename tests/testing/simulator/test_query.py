"""The query language: escaping, operators, paging, COUNT, Active filter, faults."""

from __future__ import annotations

import pytest

from qbo_sync.testing.simulator.accounting.query import parse
from qbo_sync.testing.simulator.entities import ApiError

from .support import Api, line


def q(api: Api, text: str) -> dict:
    return api.ok("GET", "query", {"query": text})["QueryResponse"]


def names(resp: dict, entity: str = "Customer") -> list[str]:
    return [c.get("DisplayName") or c.get("Name") for c in resp.get(entity, [])]


def test_escaped_quotes_and_backslashes() -> None:
    api = Api()
    api.customer("O'Brien")
    api.customer("Back\\slash")
    assert names(q(api, r"SELECT * FROM Customer WHERE DisplayName = 'O\'Brien'")) == \
        ["O'Brien"]
    assert names(q(api, r"select * from Customer where DisplayName = 'Back\\slash'")) == \
        ["Back\\slash"]
    api.fault("4000", "GET", "query", {"query": "SELECT * FROM Customer WHERE DisplayName = "
                                                "'O'Brien'"})


def test_operators_like_in_and_refs() -> None:
    api = Api()
    a, b = api.customer("Alpha Co"), api.customer("Beta Co")
    api.customer("Gamma")
    api.invoice(a["Id"], line(10), DocNumber="A-1")
    api.invoice(b["Id"], line(250), DocNumber="B-1")
    assert names(q(api, "SELECT * FROM Customer WHERE DisplayName LIKE '%co'")) == \
        ["Alpha Co", "Beta Co"]
    assert names(q(api, "SELECT * FROM Customer WHERE DisplayName LIKE 'g%'")) == ["Gamma"]
    resp = q(api, f"SELECT * FROM Invoice WHERE CustomerRef = '{b['Id']}'")
    assert [i["DocNumber"] for i in resp["Invoice"]] == ["B-1"]
    resp = q(api, "SELECT * FROM Invoice WHERE TotalAmt > '100' AND DocNumber IN ('A-1', 'B-1')")
    assert [i["DocNumber"] for i in resp["Invoice"]] == ["B-1"]
    resp = q(api, "SELECT * FROM Invoice WHERE Balance >= 10 ORDERBY DocNumber DESC")
    assert [i["DocNumber"] for i in resp["Invoice"]] == ["B-1", "A-1"]


def test_metadata_time_comparison() -> None:
    api = Api()
    api.customer("Early")
    api.clock.advance(3600)
    api.customer("Late")
    resp = q(api, "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime > "
                  "'2026-07-10T05:30:00-07:00'")
    assert names(resp) == ["Late"]


def test_paging_count_and_empty() -> None:
    api = Api()
    for i in range(1, 106):
        api.customer(f"Cust {i:03}")
    page = q(api, "SELECT * FROM Customer")
    assert page["maxResults"] == 100 and page["startPosition"] == 1
    page2 = q(api, "SELECT * FROM Customer ORDERBY Id STARTPOSITION 101 MAXRESULTS 10")
    assert names(page2) == [f"Cust {i:03}" for i in range(101, 106)]
    assert q(api, "SELECT COUNT(*) FROM Customer") == {"totalCount": 105}
    assert q(api, "SELECT * FROM Customer WHERE DisplayName = 'nobody'") == {}
    api.fault("4001", "GET", "query", {"query": "SELECT * FROM Customer MAXRESULTS 1001"})


def test_name_lists_hide_inactive_unless_filtered() -> None:
    api = Api()
    c = api.customer("Gone Quiet")
    api.ok("POST", "customer", body={"Id": c["Id"], "SyncToken": "0", "sparse": True,
                                     "Active": False})
    assert q(api, "SELECT * FROM Customer") == {}
    assert names(q(api, "SELECT * FROM Customer WHERE Active = false")) == ["Gone Quiet"]
    assert names(q(api, "SELECT * FROM Customer WHERE Active IN (true, false)")) == \
        ["Gone Quiet"]
    accounts = q(api, "SELECT * FROM Account WHERE AccountType = 'Other Current Asset' "
                      "AND AccountSubType = 'UndepositedFunds'")
    assert names(accounts, "Account") == ["Undeposited Funds"]


def test_post_query_with_application_text() -> None:
    api = Api()
    api.customer("Posted")
    resp = api.call("POST", "query", body="select * from customer",
                    headers={"Content-Type": "application/text"})
    assert resp.status == 200
    assert names(resp.parsed()["QueryResponse"]) == ["Posted"]


@pytest.mark.parametrize("text", [
    "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'",
    "SELECT * FROM Customer WHERE (DisplayName = 'a')",
    "SELECT * FROM Customer WHERE Nope = 'a'",
    "SELECT * FROM Invoice WHERE Line.SalesItemLineDetail.ItemRef = '1'",
    "SELECT * FROM Customer WHERE DisplayName != 'a'",
    "SELECT * FROM Nothing",
    "SELECT FROM Customer",
    "",
    "SELECT * FROM Customer WHERE DisplayName = 'unterminated",
])
def test_bad_queries_give_4000(text: str) -> None:
    api = Api()
    err = api.fault("4000", "GET", "query", {"query": text})
    assert err["Message"] == "Error parsing query"
    assert err["Detail"].startswith("QueryParserError: ")


def test_parse_structure() -> None:
    query = parse("select count(*) from invoice where TxnDate >= '2026-01-01' "
                  "orderby MetaData.LastUpdatedTime desc startposition 3 maxresults 5")
    assert query.entity == "Invoice" and query.count
    assert query.where == [("TxnDate", ">=", ["2026-01-01"])]
    assert query.order == ("MetaData.LastUpdatedTime", True)
    assert (query.start, query.max_results) == (3, 5)
    with pytest.raises(ApiError):
        parse("SELECT * FROM Customer STARTPOSITION 0")
