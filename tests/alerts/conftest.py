from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from example_project.billing.models import Membership, Workspace


@pytest.fixture
def managers(db) -> list[str]:
    """Workspace "default" with an admin, a manager and a member, each with an address;
    returns the admin's and manager's."""
    workspace = Workspace.objects.create(name="Acme US", slug="default", country="US",
                                         home_currency="USD")
    for role in ("admin", "manager", "member"):
        user = get_user_model().objects.create_user(role, email=f"{role}@acme.example",
                                                    password=role)
        Membership.objects.create(user=user, workspace=workspace, role=role)
    return ["admin@acme.example", "manager@acme.example"]
