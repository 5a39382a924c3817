"""Settings for the test suite: a throwaway data dir, SQLite or PostgreSQL by POPLIST_TEST_DATABASE.

The variables are set in os.environ so that the processes tests start (`poplist serve`,
the CLI) read the same configuration.
"""

import os
import tempfile

_engine = os.environ.get("POPLIST_TEST_DATABASE", "sqlite")
if "POPLIST_TEST_DATA_DIR" not in os.environ:
    os.environ["POPLIST_TEST_DATA_DIR"] = tempfile.mkdtemp(prefix="poplist-test-")
os.environ["POPLIST_DATA_DIR"] = os.environ["POPLIST_TEST_DATA_DIR"]
os.environ["POPLIST_SECRET_KEY"] = "poplist-tests-only"
os.environ.pop("POPLIST_RELAY", None)
os.environ.pop("POPLIST_CONFIG", None)
if _engine == "postgresql":
    os.environ["POPLIST_DATABASE_URL"] = os.environ.get(
        "POPLIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/poplist"
    )
elif _engine == "sqlite":
    os.environ["POPLIST_DATABASE_URL"] = f"sqlite:///{os.environ['POPLIST_DATA_DIR']}/poplist.sqlite3"
else:
    raise RuntimeError(f"POPLIST_TEST_DATABASE must be sqlite or postgresql, not {_engine!r}")

from poplist.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # hashing speed is not under test
