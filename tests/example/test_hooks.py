"""The host hooks named in settings: which workspace a request acts on, who manages."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from example_project.billing.models import Membership
from example_project.billing.qbo import SESSION_KEY, can_manage_integration, workspace_for_request
from qbo_sync.permissions import can_manage, resolve_workspace


def request_for(user, query=""):
    request = RequestFactory().get(f"/qbo/settings/{query}")
    request.user = user
    request.session = SessionStore()
    return request


@pytest.mark.parametrize(("name", "expected"), [
    ("admin", "default"), ("manager", "default"), ("member", "default"), ("uk_admin", "uk"),
    ("root", "default"),
])
def test_workspace_defaults_to_first_managed_workspace(people, name, expected):
    assert workspace_for_request(request_for(people[name])) == expected


def test_workspace_is_the_first_managed_one_not_a_member_one(people, uk_workspace):
    member = people["member"]  # member of default
    Membership.objects.create(user=member, workspace=uk_workspace, role="manager")
    assert workspace_for_request(request_for(member)) == "uk"


def test_query_override_needs_membership_and_is_remembered(people, uk_workspace):
    admin = people["admin"]
    assert workspace_for_request(request_for(admin, "?workspace=uk")) == "default"
    Membership.objects.create(user=admin, workspace=uk_workspace, role="member")
    request = request_for(admin, "?workspace=uk")
    assert workspace_for_request(request) == "uk"
    assert request.session[SESSION_KEY] == "uk"
    later = request_for(admin)
    later.session = request.session
    assert workspace_for_request(later) == "uk"


def test_stale_session_choice_is_ignored(people):
    request = request_for(people["manager"])
    request.session[SESSION_KEY] = "uk"  # not a member there
    assert workspace_for_request(request) == "default"


def test_superuser_may_pick_any_existing_workspace(people):
    root = people["root"]
    assert workspace_for_request(request_for(root, "?workspace=uk")) == "uk"
    assert workspace_for_request(request_for(root, "?workspace=nope")) == "default"


def test_anonymous_gets_default(people):
    assert workspace_for_request(request_for(AnonymousUser(), "?workspace=uk")) == "default"


@pytest.mark.parametrize(("name", "default", "uk"), [
    ("admin", True, False),
    ("manager", True, False),
    ("member", False, False),
    ("uk_admin", False, True),
    ("root", True, True),
])
def test_can_manage_integration(people, name, default, uk):
    user = people[name]
    assert can_manage_integration(user, "default") is default
    assert can_manage_integration(user, "uk") is uk


def test_inactive_and_anonymous_users_cannot_manage(people):
    admin = people["admin"]
    admin.is_active = False
    assert can_manage_integration(admin, "default") is False
    assert can_manage_integration(AnonymousUser(), "default") is False
    assert can_manage_integration(None, "default") is False


def test_qbo_sync_calls_these_hooks_through_settings(people):
    assert resolve_workspace(request_for(people["uk_admin"])) == "uk"
    assert can_manage(people["member"], "default") is False
    assert can_manage(people["manager"], "default") is True
