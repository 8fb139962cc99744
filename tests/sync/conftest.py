"""The push tests' world for the link-masking tests: the example product connected to
the simulator's US company (``tests/push/conftest.py``)."""

from ..push.conftest import connected, contact, us_workspace  # noqa: F401 - fixtures
