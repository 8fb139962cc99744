"""The host hooks named in settings: which workspace a request acts on, who manages."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.test import RequestFactory

from example_project.billing.models import Membership
from example_project.billing.qbo import (
    SESSION_KEY,
    can_manage_integration,
    switch_workspace,
    workspace_for_request,
)
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


def test_query_needs_membership_and_never_falls_back(people, uk_workspace):
    admin = people["admin"]  # admin of default, not a member of uk
    with pytest.raises(PermissionDenied, match="not a member of workspace 'uk'"):
        workspace_for_request(request_for(admin, "?workspace=uk"))
    Membership.objects.create(user=admin, workspace=uk_workspace, role="member")
    assert workspace_for_request(request_for(admin, "?workspace=uk")) == "uk"


def test_a_get_with_workspace_does_not_switch_the_session(people, uk_workspace):
    admin = people["admin"]
    Membership.objects.create(user=admin, workspace=uk_workspace, role="manager")
    request = request_for(admin, "?workspace=uk")
    assert workspace_for_request(request) == "uk"
    assert SESSION_KEY not in request.session  # for that request only
    later = request_for(admin)
    later.session = request.session
    assert workspace_for_request(later) == "default"


def test_the_explicit_switch_is_remembered(people, uk_workspace):
    admin = people["admin"]
    with pytest.raises(PermissionDenied, match="not a member"):
        switch_workspace(request_for(admin), "uk")
    Membership.objects.create(user=admin, workspace=uk_workspace, role="manager")
    request = request_for(admin)
    assert switch_workspace(request, "uk") == "uk"
    later = request_for(admin)
    later.session = request.session
    assert workspace_for_request(later) == "uk"
    # ``?workspace=`` still picks another one for one request, without switching.
    once = request_for(admin, "?workspace=default")
    once.session = request.session
    assert workspace_for_request(once) == "default"
    assert request.session[SESSION_KEY] == "uk"


def test_a_stale_session_choice_is_refused_not_replaced(people):
    request = request_for(people["manager"])
    request.session[SESSION_KEY] = "uk"  # not a member there (any more)
    with pytest.raises(PermissionDenied, match="choose another at /workspace/"):
        workspace_for_request(request)
    assert request.session[SESSION_KEY] == "uk"  # a GET changes nothing


def test_superuser_may_pick_any_existing_workspace(people):
    root = people["root"]
    assert workspace_for_request(request_for(root, "?workspace=uk")) == "uk"
    with pytest.raises(PermissionDenied):
        workspace_for_request(request_for(root, "?workspace=nope"))


@pytest.mark.parametrize("value", ["", "a\x00b", "x" * 101, "../uk", "uk "])
def test_a_value_no_slug_can_be_is_refused_before_any_query(people, value,
                                                           django_assert_num_queries):
    request = request_for(people["root"])
    request.GET = QueryDict(mutable=True)
    request.GET["workspace"] = value
    with django_assert_num_queries(0), pytest.raises(PermissionDenied):
        workspace_for_request(request)


def test_no_membership_is_refused(people):
    loner = get_user_model().objects.create_user("loner", password="loner", is_staff=True)
    with pytest.raises(PermissionDenied, match="not a member of any workspace"):
        workspace_for_request(request_for(loner))


def test_anonymous_is_refused(people):
    with pytest.raises(PermissionDenied, match="Sign in"):
        workspace_for_request(request_for(AnonymousUser(), "?workspace=uk"))


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
