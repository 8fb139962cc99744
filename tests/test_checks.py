"""System checks catch misconfiguration, including a key that cannot decrypt tokens."""

from decimal import Decimal

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.core.checks import run_checks
from django.test import override_settings

from example_project.settings import QBO_SYNC
from qbo_sync.conf import minor_version_error
from qbo_sync.models import KEY_CANARY, Connection


def ids(databases=None):
    return sorted({m.id for m in run_checks(databases=databases) if m.id.startswith("qbo_sync")})


def test_example_project_is_clean():
    assert ids() == []


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"ENVIRONMENT": "staging"}, "qbo_sync.E001"),
        ({"ENVIRONMENT": "production", "CLIENT_ID": ""}, "qbo_sync.E002"),
        ({"MINOR_VERSION": 65}, "qbo_sync.E004"),
        ({"MINOR_VERSION": 1000}, "qbo_sync.E004"),
        ({"MINOR_VERSION": 10**20}, "qbo_sync.E004"),
        ({"ADAPTERS": {"contact": "nowhere.Adapter"}}, "qbo_sync.E005"),
        ({"ADAPTERS": {"vendor": "nowhere.Adapter"}}, "qbo_sync.E005"),
        ({"WEBHOOKS_ENABLED": True, "WEBHOOK_VERIFIER_TOKEN": ""}, "qbo_sync.E007"),
        ({"RETENTION_DAYS": {"webhook_events": 0}}, "qbo_sync.E008"),
        ({"RETENTION_DAYS": {"attempts": -5}}, "qbo_sync.E008"),
        ({"RETENTION_DAYS": {"seen_events": "90"}}, "qbo_sync.E008"),
        ({"RETENTION_DAYS": {"job_payloads": 1.5}}, "qbo_sync.E008"),
        ({"RETENTION_DAYS": {"job_payloads": True}}, "qbo_sync.E008"),
        ({"RETENTION_DAYS": {"webhooks": 30}}, "qbo_sync.E008"),
        ({"RETENTION_DAYS": 30}, "qbo_sync.E008"),
        ({"WEBHOOK_MAX_BYTES": 0}, "qbo_sync.E009"),
        ({"WEBHOOK_MAX_BYTES": "1MB"}, "qbo_sync.E009"),
        ({"IMPORT_MATCH": "phone"}, "qbo_sync.E013"),
        (
            {"ENVIRONMENT": "production", "REDIRECT_URI": "http://example.com/cb/"},
            "qbo_sync.W001",
        ),
    ],
)
def test_misconfiguration_is_reported(override, expected):
    with override_settings(QBO_SYNC={**QBO_SYNC, **override}):
        assert expected in ids()


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_sqlite_without_wal_and_immediate_warns(settings):
    settings.DATABASES = {
        "default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3",
                    "OPTIONS": {"timeout": 20}}
    }
    assert "qbo_sync.W002" in ids()


@pytest.mark.django_db
def test_canary_decrypts_with_the_configured_key():
    Connection.objects.create(workspace="w1", key_canary=KEY_CANARY, access_token="secret-token")
    assert ids(databases=["default"]) == []


@pytest.mark.django_db
def test_wrong_key_is_caught_by_the_canary(monkeypatch):
    Connection.objects.create(workspace="w1", key_canary=KEY_CANARY, access_token="secret-token")
    # Another key: the field library now silently hands back ciphertext.
    import encrypted_model_fields.fields as fields

    monkeypatch.setattr(fields, "CRYPTER", MultiFernet([Fernet(Fernet.generate_key())]))
    conn = Connection.objects.get(workspace="w1")
    assert conn.access_token != "secret-token"  # the trap this check exists for
    assert "qbo_sync.E003" in ids(databases=["default"])


@pytest.mark.django_db
def test_rotated_key_list_still_decrypts(monkeypatch, settings):
    Connection.objects.create(workspace="w1", key_canary=KEY_CANARY)
    import encrypted_model_fields.fields as fields

    configured = settings.FIELD_ENCRYPTION_KEY
    old = [configured] if isinstance(configured, str | bytes) else list(configured)
    # A new key first, the one the rows were written with after it.
    monkeypatch.setattr(fields, "CRYPTER", MultiFernet(
        [Fernet(Fernet.generate_key()), *(Fernet(key) for key in old)]))
    assert ids(databases=["default"]) == []


@pytest.mark.django_db
def test_wrong_key_never_reaches_intuit_or_burns_the_grant(monkeypatch, qbo_simulator,
                                                          qbo_connection):
    import encrypted_model_fields.fields as fields

    from qbo_sync.connection import oauth
    from qbo_sync.exceptions import ConfigurationError

    monkeypatch.setattr(fields, "CRYPTER", MultiFernet([Fernet(Fernet.generate_key())]))
    conn = Connection.objects.get(pk=qbo_connection.pk)
    qbo_simulator.clear_log()
    with pytest.raises(ConfigurationError) as info:
        oauth.get_access_token(conn)
    assert "FIELD_ENCRYPTION_KEY" in str(info.value) and "FIELD_ENCRYPTION_KEY" in info.value.fix
    with pytest.raises(ConfigurationError):
        oauth.refresh_tokens(conn)
    assert qbo_simulator.requests_log == []  # nothing was sent to Intuit
    conn.refresh_from_db()
    assert conn.status == Connection.Status.CONNECTED  # the grant is not marked revoked


@pytest.mark.parametrize("value", [None, "75x", 74.9, 1000, 2**31, 10**20, float("inf"),
                                   Decimal("Infinity"), True])
def test_the_minor_version_rule_has_both_bounds(value):
    problem = minor_version_error(value)
    assert problem and ("75" in problem or "999" in problem)


@pytest.mark.parametrize("value", [75, "76", 999])
def test_minor_versions_in_range_pass(value):
    assert minor_version_error(value) == ""


def test_a_minor_version_above_the_bound_is_explained():
    with override_settings(QBO_SYNC={**QBO_SYNC, "MINOR_VERSION": 1000}):
        (error,) = [m for m in run_checks() if m.id == "qbo_sync.E004"]
    assert "999 or lower" in error.msg and "Set it to 75" in error.hint


def test_retention_defaults_fill_in_the_kinds_left_out():
    from qbo_sync.conf import app_settings, retention_problems

    with override_settings(QBO_SYNC={**QBO_SYNC, "RETENTION_DAYS": {"attempts": 7}}):
        days = app_settings.RETENTION_DAYS
        assert days == {"webhook_events": 30, "seen_events": 90, "job_payloads": 90,
                        "attempts": 7}
        assert retention_problems(days) == []
        assert ids() == []


def test_the_call_budget_storage_is_checked(settings):
    from qbo_sync.checks import check_settings

    base = dict(settings.QBO_SYNC)
    settings.QBO_SYNC = {**base, "RATE_LIMIT_STORAGE": "nosuch://host"}
    [error] = [e for e in check_settings() if e.id == "qbo_sync.E014"]
    assert "nosuch://host" in error.msg
    settings.QBO_SYNC = {**base, "ENVIRONMENT": "sandbox", "CLIENT_ID": "id",
                         "CLIENT_SECRET": "secret", "RATE_LIMIT_STORAGE": "memory://"}
    assert [e.id for e in check_settings() if e.id.startswith("qbo_sync.W003")] == [
        "qbo_sync.W003"]
    settings.QBO_SYNC = {**base, "RATE_LIMIT_STORAGE": None}  # the database: fine
    assert not [e for e in check_settings() if e.id in ("qbo_sync.E014", "qbo_sync.W003")]
