"""Test settings: the example project, with django-q2 running tasks inline.

``QBO_DB=postgres`` / ``QBO_BROKER=redis`` switch the stack as in the example project.
"""

import os

# The example product has no fallback keys (issue 13); the tests bring throwaway ones.
# setdefault: a run may bring its own, and a real qcluster the tests start inherits these.
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-not-for-any-deployment")
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "kkNzKcjfNr-ZLA_Yky64jVsaoGg_Vsw1-v7HE768uM4=")

from example_project.settings import *  # noqa: E402, F403
from example_project.settings import Q_CLUSTER  # noqa: E402

Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # django-q2 reads this once, at import
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not the shared-cache memory database: there SQLite reports "table is
    # locked" at once instead of waiting, unlike any real deployment.
    # One file per run, so two runs side by side do not share it; subprocesses the
    # tests start (a real qcluster) inherit the name through the environment.
    os.environ.setdefault("QBO_TEST_DB", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.environ["QBO_TEST_DB"]}  # noqa: F405
