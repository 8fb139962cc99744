"""Who receives a workspace's alert e-mails: the default ``RECIPIENTS`` hook."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from ..permissions import can_manage


def workspace_managers(workspace: str) -> list[str]:
    """The addresses of active users the ``PERMISSION_CHECK`` hook lets manage
    ``workspace`` (its admins and managers; by default, staff users).

    It asks the hook once per active user with an address. A host with many users sets
    ``QBO_SYNC["ALERTS"]["RECIPIENTS"]`` to a hook that lists them in one query.
    """
    user_model = get_user_model()
    email = user_model.get_email_field_name()
    users = (user_model._default_manager.filter(is_active=True).exclude(**{email: ""})
             .order_by("pk"))
    return [getattr(user, email) for user in users.iterator() if can_manage(user, workspace)]
