"""The callback proves its company, and one company belongs to one workspace, in the
database too (docs/qbo-rules.md §1.3, §1.6; docs/architecture.md, invariant 8)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import IntegrityError, transaction

from qbo_sync.models import Connection, OAuthState
from qbo_sync.qbo import oauth_http
from qbo_sync.testing.connections import connect_to_simulator
from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM

from ..oauth_sim import click_through, query
from .support import CALLBACK, start

REALM_MAX = Connection._meta.get_field("realm_id").max_length


def grants(sim: Any) -> list[dict]:
    return list(sim.identity.book.grants.values())


def callback(browser: Any, **changes: str) -> Any:
    """Connect through the consent page (the US company is chosen), then come back
    with the callback's parameters changed."""
    params = {**query(click_through(start(browser), realm=US_REALM)), **changes}
    return browser.get(f"{CALLBACK}?{urlencode(params)}")


# realmId (§1.3) ----------------------------------------------------------------------


def test_a_realm_of_another_company_is_refused_and_the_grant_revoked(browser: Any,
                                                                     sim: Any) -> None:
    """The user chose the US company; the callback claims the UK one. The simulator
    knows the grant is for the US company, so reading the UK company with it fails."""
    resp = callback(browser, realmId=UK_REALM)
    assert resp.status_code == 400
    page = resp.content.decode()
    assert "QuickBooks was not connected" in page
    assert f"did not let the new authorization read company {UK_REALM}" in page
    assert "was revoked" in page and "choose the company on the QuickBooks page" in page
    assert not Connection.objects.exists()
    assert sim.token_calls == ["authorization_code"]
    (grant,) = grants(sim)
    assert grant["realm_id"] == US_REALM and grant["revoked"]


@pytest.mark.parametrize("realm", [
    "1" * 40,                 # digits, but longer than the column
    "1" * (REALM_MAX + 1),
    "1/../../../x",           # a path
    "9341453000000001 ",      # trailing space
    "١٢٣",                    # digits, but not ASCII ones
    "-1",
])
def test_a_realm_that_is_not_a_company_id_is_refused_before_any_call(
        realm: str, browser: Any, sim: Any) -> None:
    sim.clear_log()
    resp = callback(browser, realmId=realm)
    assert resp.status_code == 400
    assert b"is not a QuickBooks company id" in resp.content
    assert f"at most {REALM_MAX}".encode() in resp.content
    assert sim.token_calls == [] and not grants(sim)  # the code was never exchanged
    assert not [r for r in sim.requests_log if r.realm]  # no API call either
    assert not Connection.objects.exists()
    assert OAuthState.objects.get().used_at is not None  # the state cannot be tried again


def test_the_longest_realm_the_column_holds_is_accepted_as_a_format(browser: Any,
                                                                    sim: Any) -> None:
    """Well formed but unknown: refused by the company read, not by the format check."""
    resp = callback(browser, realmId="9" * REALM_MAX)
    assert resp.status_code == 400
    assert b"not a QuickBooks company id" not in resp.content
    assert b"did not let the new authorization read company" in resp.content
    assert all(g["revoked"] for g in grants(sim))


def test_a_company_read_that_fails_refuses_the_connect(browser: Any, sim: Any) -> None:
    sim.inject("error", status=503, entity="companyinfo")
    resp = callback(browser)
    assert resp.status_code == 400
    assert f"Could not read QuickBooks company {US_REALM}".encode() in resp.content
    assert b"Try again in a minute" in resp.content and b"was revoked" in resp.content
    assert not Connection.objects.exists()
    assert all(g["revoked"] for g in grants(sim))


def test_the_company_read_uses_the_new_token_and_names_the_company(browser: Any,
                                                                   sim: Any) -> None:
    assert callback(browser).status_code == 302
    reads = [r for r in sim.requests_log if r.realm == US_REALM]
    assert [r.path for r in reads] == [f"/v3/company/{US_REALM}/companyinfo/{US_REALM}"]
    assert Connection.objects.get().company_name == "Simulated US Company"


# One company per workspace -----------------------------------------------------------


def test_two_callbacks_for_one_company_the_second_is_refused(browser: Any, sim: Any,
                                                            monkeypatch: Any) -> None:
    """Both callbacks pass the check; the other workspace's is stored between this
    one's check and its save. The database refuses this one, which revokes its grant."""
    real = oauth_http.company_info

    def and_meanwhile(realm_id: str, token: Any) -> dict:
        info = real(realm_id, token)
        connect_to_simulator(sim, US_REALM, workspace="other")  # the other callback wins
        return info

    monkeypatch.setattr(oauth_http, "company_info", and_meanwhile)
    resp = callback(browser)
    assert resp.status_code == 400
    page = resp.content.decode()
    assert f"company (realm {US_REALM}) is already connected to another workspace" in page
    assert "while this connect was finishing" in page and "was revoked" in page
    assert "disconnect it from the other workspace first" in page
    assert list(Connection.objects.values_list("workspace", flat=True)) == ["other"]
    mine, theirs = grants(sim)  # this callback's code exchange, then the other's grant
    assert mine["revoked"] and not theirs["revoked"]


def _row(workspace: str, realm: str = US_REALM, **fields: Any) -> Connection:
    return Connection.objects.create(workspace=workspace, realm_id=realm,
                                     environment=fields.pop("environment", "simulator"),
                                     status=fields.pop("status", Connection.Status.CONNECTED),
                                     **fields)


@pytest.mark.parametrize("status", [Connection.Status.CONNECTED, Connection.Status.ERROR])
def test_the_database_keeps_a_company_to_one_workspace(status: str, db: Any) -> None:
    _row("a")
    with pytest.raises(IntegrityError), transaction.atomic():
        _row("b", status=status)  # "Needs reconnect" still holds the company


def test_what_the_constraint_allows(db: Any) -> None:
    _row("a")
    _row("old-1", status=Connection.Status.DISCONNECTED)  # history keeps its realm
    _row("old-2", status=Connection.Status.DISCONNECTED)
    _row("sandbox", environment="sandbox")  # another environment, another company
    _row("new-1", realm="", status=Connection.Status.DISCONNECTED)
    _row("new-2", realm="")  # no company yet
    assert Connection.objects.count() == 6
