"""Settings for a real ``qcluster`` subprocess started by the tests: the test settings,
with django-q2 really asynchronous on the ORM broker and the database the test run
created (its name comes through the ``QBO_TEST_DB`` environment variable)."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": False, "workers": 1, "poll": 0.2}
if "redis" not in Q_CLUSTER:  # the same broker the test process enqueues to
    Q_CLUSTER["orm"] = "default"

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["NAME"] = os.environ["QBO_TEST_DB"]
else:  # pytest-django's test database on PostgreSQL
    DATABASES["default"]["NAME"] = "test_" + DATABASES["default"]["NAME"]
