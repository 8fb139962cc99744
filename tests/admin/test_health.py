"""Sync Health: badges, attempts, filters, search, Retry per row and in bulk, and the
read-only detail page with masked payloads, attempts and links."""

from __future__ import annotations

from html import unescape
from typing import Any

from django.contrib.messages import get_messages
from django.urls import reverse

from qbo_sync.models import Connection, SyncAttempt, SyncJob

from .conftest import make_job

URL = "/admin/qbo_sync/syncjob/"
FIX = "Default Item is not set: Settings → Default Item"


def messages_of(resp: Any) -> list[str]:
    return [str(m) for m in get_messages(resp.wsgi_request)]


def _jobs(conn: Connection) -> dict[str, SyncJob]:
    return {
        "ok": make_job(conn, status="succeeded", attempts=1, qbo_id="145"),
        "failed": make_job(conn, status="failed", attempts=2, object_id="77",
                           error_message=f"Invoice INV-1 was not sent. {FIX}",
                           error={"type": "ConfigurationError", "message": "Default Item is "
                                  "not set", "fix": "Settings → Default Item"}),
        "contact": make_job(conn, entity="contact", status="pending", object_id="5"),
    }


def test_list_shows_badges_attempts_and_explained_errors(admin: Any,
                                                         qbo_connection: Connection) -> None:
    _jobs(qbo_connection)
    resp = admin.get(URL)
    html = resp.content.decode()
    assert resp.status_code == 200 and "Sync Health" in html
    assert "#1b7f3b" in html and "#b3261e" in html  # green and red badges
    assert "2 / max 5" in html and "1 / max 5" in html  # the cap, named as one
    assert FIX in html
    # Retry buttons on rows that can be retried, not on succeeded ones.
    assert html.count('class="button qbo-retry"') == 2


def _ids(resp: Any) -> set[int]:
    return {job.pk for job in resp.context["cl"].result_list}


def test_filters_and_search(admin: Any, qbo_connection: Connection) -> None:
    jobs = _jobs(qbo_connection)
    make_job(None, workspace="uk", status="failed", direction="pull", action="pull_payment")
    assert _ids(admin.get(URL, {"status__exact": "failed"})) >= {jobs["failed"].pk}
    assert _ids(admin.get(URL, {"status__exact": "succeeded"})) == {jobs["ok"].pk}
    assert _ids(admin.get(URL, {"entity__exact": "contact"})) == {jobs["contact"].pk}
    assert len(_ids(admin.get(URL, {"direction__exact": "pull"}))) == 1
    assert len(_ids(admin.get(URL, {"action__exact": "pull_payment"}))) == 1
    assert _ids(admin.get(URL, {"workspace__exact": "default"})) == {j.pk for j in jobs.values()}
    assert len(_ids(admin.get(URL, {"created_at__gte": "2000-01-01 00:00:00+00:00"}))) == 4
    assert _ids(admin.get(URL, {"q": "Default Item"})) == {jobs["failed"].pk}
    assert _ids(admin.get(URL, {"q": "145"})) == {jobs["ok"].pk}  # qbo id
    assert _ids(admin.get(URL, {"q": "77"})) == {jobs["failed"].pk}  # object id


def test_retry_one_row(admin: Any, qbo_connection: Connection) -> None:
    jobs = _jobs(qbo_connection)
    url = reverse("admin:qbo_sync_syncjob_retry", args=[jobs["failed"].pk])
    assert admin.get(url).status_code == 405  # read-only apart from a POSTed retry
    resp = admin.post(url, HTTP_REFERER="http://testserver" + URL + "?status__exact=failed")
    assert resp.status_code == 302 and resp["Location"].endswith("?status__exact=failed")
    retried = SyncJob.objects.get(pk=jobs["failed"].pk)
    assert retried.status == SyncJob.Status.PENDING
    # Who retried is a retry row; the job keeps who (or what) caused it.
    assert [r.user.username for r in retried.retries.all()] == ["admin"]
    assert retried.requested_by is None
    assert messages_of(resp) == ["1 job queued for retry."]
    resp = admin.post(reverse("admin:qbo_sync_syncjob_retry", args=[jobs["ok"].pk]))
    assert messages_of(resp)[-1] == (f"1 job not retried: job #{jobs['ok'].pk}: "
                                     "The job already succeeded.")


def test_bulk_retry_reports_queued_and_refused(admin: Any, qbo_connection: Connection) -> None:
    jobs = _jobs(qbo_connection)
    other = make_job(qbo_connection, status="failed", attempts=5)
    resp = admin.post(URL, {"action": "retry_selected", "_selected_action": [
        jobs["ok"].pk, jobs["failed"].pk, other.pk]})
    assert resp.status_code == 302
    assert messages_of(resp) == [
        "2 jobs queued for retry.",
        f"1 job not retried: job #{jobs['ok'].pk}: The job already succeeded."]
    statuses = dict(SyncJob.objects.values_list("pk", "status"))
    assert statuses[jobs["failed"].pk] == statuses[other.pk] == "pending"
    assert statuses[jobs["ok"].pk] == "succeeded"


def test_retry_while_disconnected_waits_for_reconnect(admin: Any,
                                                      qbo_connection: Connection) -> None:
    job = _jobs(qbo_connection)["failed"]
    Connection.objects.filter(pk=qbo_connection.pk).update(status="disconnected")
    resp = admin.post(reverse("admin:qbo_sync_syncjob_retry", args=[job.pk]))
    assert SyncJob.objects.get(pk=job.pk).status == SyncJob.Status.PARKED
    assert "Reconnect" in messages_of(resp)[0]


def test_detail_page_is_read_only_with_payload_attempts_and_links(
        admin: Any, qbo_connection: Connection, contact: Any) -> None:
    job = make_job(qbo_connection, entity="contact", obj=contact, status="failed", attempts=1,
                   payload={"DisplayName": "Northwind Analytics LLC",
                            "PrimaryEmailAddr": {"Address": "***"}},
                   response={"Fault": {"Error": [{"code": "6240"}]}}, qbo_id="58",
                   error_message="Duplicate name. Rename the contact.")
    SyncAttempt.objects.create(job=job, number=1, ok=False, intuit_tid="tid-123",
                               error={"type": "DuplicateNameError", "code": "6240",
                                      "message": "Duplicate Name Exists Error"})
    resp = admin.get(reverse("admin:qbo_sync_syncjob_change", args=[job.pk]))
    html = unescape(resp.content.decode())
    assert resp.status_code == 200
    assert '"DisplayName": "Northwind Analytics LLC"' in html  # pretty JSON
    assert '"code": "6240"' in html
    assert "tid-123" in html and "DuplicateNameError: [6240] Duplicate Name Exists Error" in html
    contact_url = reverse("admin:billing_contact_change", args=[contact.pk])
    assert f'href="{contact_url}"' in html
    record = (f"http://qbo-simulator.test/_sim/realms/{qbo_connection.realm_id}/records/"
              "Customer/58")
    assert f'href="{record}"' in html
    assert 'name="_save"' not in html  # nothing to edit
    assert "qbo-retry" in html
    assert admin.post(reverse("admin:qbo_sync_syncjob_change", args=[job.pk]), {}).status_code \
        == 403


def test_qbo_links_per_environment(qbo_connection: Connection) -> None:
    from qbo_sync.admin.display import qbo_record_url

    qbo_connection.environment = "sandbox"
    assert qbo_record_url(qbo_connection, "Invoice", "9") == \
        "https://sandbox.qbo.intuit.com/app/invoice?txnId=9"
    qbo_connection.environment = "production"
    assert qbo_record_url(qbo_connection, "Customer", "3") == \
        "https://qbo.intuit.com/app/customerdetail?nameId=3"
    assert qbo_record_url(qbo_connection, "Invoice", "") == ""


def test_other_workspaces_jobs_are_hidden(client: Any, qbo_connection: Connection) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from example_project.billing.models import Membership, Workspace

    job = _jobs(qbo_connection)["failed"]
    uk = Workspace.objects.create(name="Acme UK", slug="uk", country="GB", home_currency="GBP")
    mine = make_job(None, workspace="uk", status="failed")
    user = get_user_model().objects.create_user("uk_admin", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="qbo_sync"))
    Membership.objects.create(user=user, workspace=uk, role="admin")
    client.force_login(user)
    assert _ids(client.get(URL)) == {mine.pk}
    assert client.post(reverse("admin:qbo_sync_syncjob_retry", args=[job.pk])).status_code == 404
    client.post(URL, {"action": "retry_selected", "_selected_action": [job.pk, mine.pk]})
    assert SyncJob.objects.get(pk=job.pk).status == "failed"
    assert SyncJob.objects.get(pk=mine.pk).status == "parked"  # no connection yet


def test_nul_in_search_or_filters_is_a_400_with_a_message(admin: Any,
                                                          qbo_connection: Connection) -> None:
    _jobs(qbo_connection)
    for query in ({"q": "Default\x00Item"}, {"status__exact": "\x00"},
                  {"workspace__exact": "default\x00"}):
        resp = admin.get(URL, query)
        assert resp.status_code == 400, query
        assert "NUL character" in resp.content.decode() and "remove it" in \
            resp.content.decode()
    for url in ("/admin/qbo_sync/settingschange/", "/admin/qbo_sync/connection/",
                "/admin/qbo_sync/historicalrun/", "/admin/qbo_sync/webhookevent/"):
        assert admin.get(url, {"q": "\x00"}).status_code == 400, url
    assert admin.get(URL, {"q": "Default Item"}).status_code == 200


def test_detail_page_renders_when_the_host_row_cannot_be_read(
        admin: Any, qbo_connection: Connection, contact: Any, monkeypatch: Any) -> None:
    from example_project.billing.models import Contact

    job = make_job(qbo_connection, entity="contact", obj=contact, status="failed")
    url = reverse("admin:qbo_sync_syncjob_change", args=[job.pk])
    shown = f"contact {contact.pk} (host record unavailable)"

    def broken(self: Any) -> str:
        raise RuntimeError("the host's __str__ is broken")

    monkeypatch.setattr(Contact, "__str__", broken)
    resp = admin.get(url)
    assert resp.status_code == 200
    assert shown in resp.content.decode()
    monkeypatch.undo()
    contact.delete()
    resp = admin.get(url)
    assert resp.status_code == 200
    assert shown in resp.content.decode()
    assert admin.get(URL).status_code == 200  # the list never reads host rows


# Issue 14, item 5: the Date column, the cap, who caused a job, its correlation id --------


def test_the_date_column_is_the_last_attempt(admin: Any, qbo_connection: Connection) -> None:
    from datetime import datetime, timedelta

    from django.utils import timezone

    created = timezone.make_aware(datetime(2026, 3, 1, 9, 0, 0))
    tried = created + timedelta(days=2, hours=5)
    job = make_job(qbo_connection, status="failed", attempts=3, started_at=tried)
    waiting = make_job(qbo_connection, status="pending")
    SyncJob.objects.filter(pk=job.pk).update(created_at=created)
    html = admin.get(URL).content.decode()
    assert "Last attempt" in html and ">Created<" not in html
    assert f"{timezone.localtime(tried):%Y-%m-%d %H:%M:%S}" in html
    assert f"{timezone.localtime(created):%Y-%m-%d %H:%M:%S}" not in html
    shown = f"queued {timezone.localtime(waiting.created_at):%Y-%m-%d %H:%M:%S}"
    assert "not tried yet" in html and shown in html


def test_a_retry_beyond_the_cap_is_shown_as_a_manual_retry(admin: Any,
                                                           qbo_connection: Connection,
                                                           monkeypatch: Any) -> None:
    monkeypatch.setattr("qbo_sync.sync.outbox.dispatch", lambda job_id: None)
    job = make_job(qbo_connection, status="failed", attempts=5, trigger="save")
    admin.post(reverse("admin:qbo_sync_syncjob_retry", args=[job.pk]))
    SyncJob.objects.filter(pk=job.pk).update(status="failed", attempts=6)  # it ran once more
    html = admin.get(URL).content.decode()
    assert "6 / max 5 · 1 manual retry beyond the cap" in html
    assert "system (A save in the app)" in html  # the Caused by column
    detail = admin.get(reverse("admin:qbo_sync_syncjob_change", args=[job.pk])).content.decode()
    assert "by admin after attempt 5 of max 5 (beyond the cap)" in detail
    assert str(SyncJob.objects.get(pk=job.pk).correlation_id) in detail


def test_search_by_correlation_id_finds_the_job(admin: Any, qbo_connection: Connection) -> None:
    jobs = _jobs(qbo_connection)
    wanted = jobs["failed"]
    assert _ids(admin.get(URL, {"q": str(wanted.correlation_id)})) == {wanted.pk}
    assert _ids(admin.get(URL, {"q": f" {str(wanted.correlation_id).upper()} "})) == {
        wanted.pk}
    assert _ids(admin.get(URL, {"trigger__exact": "save"})) == set()
