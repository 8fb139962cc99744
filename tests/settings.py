"""Test settings: the example project, with django-q2 running tasks inline.

``QBO_DB=postgres`` / ``QBO_BROKER=redis`` switch the stack as in the example project.
"""

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # django-q2 reads this once, at import
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not the shared-cache memory database: there SQLite reports "table is
    # locked" at once instead of waiting, unlike any real deployment.
    # One file per run, so two runs side by side do not share it; subprocesses the
    # tests start (a real qcluster) inherit the name through the environment.
    os.environ.setdefault("QBO_TEST_DB", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.environ["QBO_TEST_DB"]}  # noqa: F405
