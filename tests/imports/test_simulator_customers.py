"""The simulator's customer list as the import reads it (docs/qbo-rules.md §5.1, §5.11):
sub-customers named Parent:Child, inactive customers only when the filter asks, pages
1-based and at most 1,000."""

from __future__ import annotations

import pytest

from qbo_sync.connection.clients import client_for
from qbo_sync.exceptions import QBOSyncError


def test_sub_customers_inactive_ones_and_pages(connected, add):
    parent = add("Acme Ltd")
    job = add("Roof repair", parent_id=parent["Id"])
    assert (job["Job"], job["ParentRef"], job["FullyQualifiedName"]) == (
        True, {"value": parent["Id"]}, "Acme Ltd:Roof repair")
    add("Gone Ltd", active=False)
    with client_for(connected) as client:
        active = client.query("SELECT * FROM Customer ORDERBY Id")
        both = client.query("SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY Id")
        second = client.query("SELECT * FROM Customer WHERE Active IN (true, false) "
                              "ORDERBY Id STARTPOSITION 2 MAXRESULTS 1")
        assert [c["DisplayName"] for c in active] == ["Acme Ltd", "Roof repair"]
        assert [c["DisplayName"] for c in both] == ["Acme Ltd", "Roof repair", "Gone Ltd"]
        assert [c["DisplayName"] for c in second] == ["Roof repair"]
        for bad in ("STARTPOSITION 0 MAXRESULTS 10", "STARTPOSITION 1 MAXRESULTS 1001"):
            with pytest.raises(QBOSyncError):
                client.query(f"SELECT * FROM Customer {bad}")
        with pytest.raises(QBOSyncError):
            client.create("Customer", {"DisplayName": "Orphan", "ParentRef": {"value": "999"}})
