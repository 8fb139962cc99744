"""The example product is safe by default (issue 13): DEBUG off unless asked for, no
fallback keys, the API on session authentication with CSRF, a workspace switch only by
an explicit POST, and production settings that pass ``check --deploy``."""

from __future__ import annotations

import base64
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from rest_framework.settings import api_settings

from example_project.billing.qbo import SESSION_KEY, SWITCH_PATH
from qbo_sync.models import SettingsChange

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v3/integrations/quickbooks/"
FERNET_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()
SECRET_KEY = "x8#q!d7Lr2@v9Pz$w4Mn6Tb1Kc3Yh5Jg0Fs-EaUoIuWeRtQyZxCvBnMl"  # 50+, varied
#: What the production settings need from the environment.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "example_project.settings_production",
    "DJANGO_SECRET_KEY": SECRET_KEY,
    "FIELD_ENCRYPTION_KEY": FERNET_KEY,
    "DJANGO_ALLOWED_HOSTS": "billing.example.com",
    "QBO_ENVIRONMENT": "production",
    "QBO_CLIENT_ID": "prod-client-id",
    "QBO_CLIENT_SECRET": "prod-client-secret",
    "QBO_WEBHOOK_VERIFIER": "prod-verifier",
    "QBO_REDIRECT_URI": "https://billing.example.com/qbo/callback/",
}
SAFE_NAMES = ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY", "QBO_ENVIRONMENT",
              "QBO_CLIENT_ID", "QBO_CLIENT_SECRET", "QBO_WEBHOOK_VERIFIER", "QBO_REDIRECT_URI",
              "DJANGO_ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE")


def load_settings(monkeypatch: Any, tmp_path: Path, **environ: str) -> dict[str, Any]:
    """The base settings module, evaluated afresh with exactly ``environ`` set."""
    for name in SAFE_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QBO_VAR_DIR", str(tmp_path))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(
        "example_project.settings_under_test", ROOT / "example_project" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return vars(module)


KEYS = {"DJANGO_SECRET_KEY": SECRET_KEY, "FIELD_ENCRYPTION_KEY": FERNET_KEY}


# Settings ---------------------------------------------------------------------------------


def test_debug_is_off_unless_the_environment_turns_it_on(monkeypatch: Any,
                                                         tmp_path: Path) -> None:
    assert load_settings(monkeypatch, tmp_path, **KEYS)["DEBUG"] is False
    assert load_settings(monkeypatch, tmp_path, **KEYS, DJANGO_DEBUG="0")["DEBUG"] is False
    assert load_settings(monkeypatch, tmp_path, **KEYS, DJANGO_DEBUG="1")["DEBUG"] is True


@pytest.mark.parametrize(("missing", "command"), [
    ("FIELD_ENCRYPTION_KEY", "from cryptography.fernet import Fernet; "
                             "print(Fernet.generate_key().decode())"),
    ("DJANGO_SECRET_KEY", "get_random_secret_key()"),
])
def test_no_fallback_key_the_error_says_how_to_make_one(monkeypatch: Any, tmp_path: Path,
                                                        missing: str, command: str) -> None:
    environ = {k: v for k, v in KEYS.items() if k != missing}
    with pytest.raises(ImproperlyConfigured) as info:
        load_settings(monkeypatch, tmp_path, **environ)
    assert f"{missing} is not set" in str(info.value) and command in str(info.value)
    # Blank is the same as unset.
    with pytest.raises(ImproperlyConfigured, match=f"{missing} is not set"):
        load_settings(monkeypatch, tmp_path, **environ, **{missing: "  "})


def test_an_encryption_key_that_is_not_a_fernet_key_is_refused(monkeypatch: Any,
                                                               tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="(?s)not a Fernet key.*Fernet.generate_key"):
        load_settings(monkeypatch, tmp_path, **{**KEYS, "FIELD_ENCRYPTION_KEY": "secret"})
    other = base64.urlsafe_b64encode(b"o" * 32).decode()
    loaded = load_settings(monkeypatch, tmp_path,
                           **{**KEYS, "FIELD_ENCRYPTION_KEY": f"{FERNET_KEY},{other}"})
    assert loaded["FIELD_ENCRYPTION_KEY"] == [FERNET_KEY, other]  # new first: rotation


def test_intuit_credentials_have_no_simulator_fallback(monkeypatch: Any,
                                                       tmp_path: Path) -> None:
    simulator = load_settings(monkeypatch, tmp_path, **KEYS)["QBO_SYNC"]
    assert simulator["ENVIRONMENT"] == "simulator"
    assert simulator["WEBHOOK_VERIFIER_TOKEN"] == "simulator-verifier-token"
    with pytest.raises(ImproperlyConfigured, match="QBO_CLIENT_ID is not set"):
        load_settings(monkeypatch, tmp_path, **KEYS, QBO_ENVIRONMENT="sandbox")
    with pytest.raises(ImproperlyConfigured, match="QBO_WEBHOOK_VERIFIER is not set"):
        load_settings(monkeypatch, tmp_path, **KEYS, QBO_ENVIRONMENT="production",
                      QBO_CLIENT_ID="id", QBO_CLIENT_SECRET="secret")


def run_deploy_check(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess:
    """``call_command("check", deploy=True)`` in a fresh process on the production
    settings (a settings module cannot be swapped inside this one)."""
    env = {k: v for k, v in os.environ.items() if k not in SAFE_NAMES}
    env.update(QBO_VAR_DIR=str(tmp_path), **environ)
    code = ("import django; django.setup(); from django.core.management import call_command; "
            "call_command('check', deploy=True, fail_level='WARNING')")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_on_the_production_settings(tmp_path: Path) -> None:
    done = run_deploy_check(tmp_path, **PRODUCTION_ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr


def test_check_deploy_finds_the_base_settings_unfit_for_production(tmp_path: Path) -> None:
    # The control: the same check on the development settings does find the gaps.
    done = run_deploy_check(tmp_path, **{**PRODUCTION_ENV,
                                         "DJANGO_SETTINGS_MODULE": "example_project.settings"})
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr, done.stderr


@pytest.mark.parametrize(("name", "value", "message"), [
    ("DJANGO_ALLOWED_HOSTS", None, "DJANGO_ALLOWED_HOSTS is not set"),
    ("QBO_ENVIRONMENT", "simulator", "set it to 'sandbox' or 'production'"),
    ("QBO_REDIRECT_URI", "http://billing.example.com/qbo/callback/", "must be https"),
    ("FIELD_ENCRYPTION_KEY", None, "Fernet.generate_key"),
])
def test_production_settings_refuse_a_missing_or_unsafe_value(tmp_path: Path, name: str,
                                                              value: str | None,
                                                              message: str) -> None:
    environ = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
    if value is not None:
        environ[name] = value
    done = run_deploy_check(tmp_path, **environ)
    assert done.returncode != 0 and "ImproperlyConfigured" in done.stderr
    assert message in done.stderr, done.stderr


# The API: session authentication with CSRF -------------------------------------------------


def test_the_api_authenticates_by_session_only() -> None:
    names = [cls.__name__ for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
    assert names == ["SessionAuthentication"]


def test_http_basic_credentials_are_not_accepted(people: dict, qbo_connection: Any) -> None:
    basic = base64.b64encode(b"admin:admin").decode()
    resp = Client().get(API + "status", HTTP_AUTHORIZATION=f"Basic {basic}")
    assert resp.status_code == 403
    assert "credentials were not provided" in resp.json()["detail"]


def test_unsafe_api_calls_need_the_csrf_token(people: dict, qbo_connection: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["admin"])
    assert client.get(API + "status").status_code == 200  # safe methods need no token
    body = {"invoice_number_strategy": "qbo"}
    resp = client.patch(API + "settings", body, content_type="application/json")
    assert resp.status_code == 403 and "CSRF" in resp.json()["detail"]
    assert not SettingsChange.objects.exists()
    token = client.get(SWITCH_PATH).context["csrf_token"]
    resp = client.patch(API + "settings", body, content_type="application/json",
                        HTTP_X_CSRFTOKEN=str(token))
    assert resp.status_code == 200, resp.content


# The workspace switch: only an explicit POST changes the session's workspace ---------------


@pytest.fixture
def admin_in_both(people: dict, uk_workspace: Any) -> Client:
    from example_project.billing.models import Membership

    Membership.objects.create(user=people["admin"], workspace=uk_workspace, role="manager")
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["admin"])
    return client


def _csrf(client: Client) -> str:
    return str(client.get(SWITCH_PATH).context["csrf_token"])


def test_the_switch_lives_where_the_messages_say() -> None:
    assert reverse("workspace") == SWITCH_PATH


def test_a_get_never_switches_the_workspace(admin_in_both: Client,
                                            qbo_connection: Any) -> None:
    client = admin_in_both
    assert client.get(API + "status?workspace=uk").json()["workspace"] == "uk"
    assert client.get(SWITCH_PATH + "?workspace=uk").status_code == 200
    assert SESSION_KEY not in client.session
    assert client.get(API + "status").json()["workspace"] == "default"


def test_a_post_switches_the_workspace(admin_in_both: Client, qbo_connection: Any) -> None:
    client = admin_in_both
    token = _csrf(client)
    assert client.post(SWITCH_PATH, {"workspace": "uk"}).status_code == 403  # no CSRF token
    assert SESSION_KEY not in client.session
    resp = client.post(SWITCH_PATH, {"workspace": "uk", "next": API + "status",
                                     "csrfmiddlewaretoken": token})
    assert resp.status_code == 302 and resp["Location"] == API + "status"
    assert client.session[SESSION_KEY] == "uk"
    assert client.get(API + "status").json()["workspace"] == "uk"
    page = client.get(SWITCH_PATH).content.decode()
    assert "<strong>uk</strong>" in page and "Acme US (default)" in page


def test_a_post_to_another_workspace_is_refused(people: dict, uk_workspace: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["admin"])  # not a member of uk
    token = _csrf(client)
    resp = client.post(SWITCH_PATH, {"workspace": "uk", "csrfmiddlewaretoken": token})
    assert resp.status_code == 403
    assert SESSION_KEY not in client.session


def test_an_offsite_next_is_not_followed(admin_in_both: Client) -> None:
    client = admin_in_both
    resp = client.post(SWITCH_PATH, {"workspace": "uk", "next": "https://evil.example/",
                                     "csrfmiddlewaretoken": _csrf(client)})
    assert resp.status_code == 302 and resp["Location"] == SWITCH_PATH


def test_a_stale_choice_is_refused_until_the_user_switches(admin_in_both: Client,
                                                           qbo_connection: Any) -> None:
    from example_project.billing.models import Membership

    client = admin_in_both
    client.post(SWITCH_PATH, {"workspace": "uk", "csrfmiddlewaretoken": _csrf(client)})
    Membership.objects.filter(workspace__slug="uk").delete()
    resp = client.get(API + "status")
    assert resp.status_code == 403 and "choose another at /workspace/" in resp.json()["detail"]
    page = client.get(SWITCH_PATH).content.decode()
    assert "not a member of workspace" in page and "Acme UK" not in page
    client.post(SWITCH_PATH, {"workspace": "default", "csrfmiddlewaretoken": _csrf(client)})
    assert client.get(API + "status").json()["workspace"] == "default"
