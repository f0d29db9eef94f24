"""Only one hub process schedules: a PostgreSQL advisory lock (or a file lock on SQLite).

The lock lives on a dedicated connection: when the process holding it dies, PostgreSQL
drops the session and the lock with it, and another `hub run` takes over on its next try.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import Engine, text

from hub.store.db import make_engine

# An arbitrary constant: "HUB" + "SCHD".
LOCK_KEY = 0x485542_5343


class LeaderLock:
    def __init__(self, url: str, var_dir: str | Path = "var") -> None:
        self.url = url
        self.var_dir = Path(var_dir)
        self._engine: Engine | None = None
        self._conn = None
        self._fh = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fh is not None

    def try_acquire(self) -> bool:
        if self.held:
            return self._still_held()
        if self.url.startswith("sqlite"):
            return self._try_file()
        return self._try_pg()

    def _try_pg(self) -> bool:
        if self._engine is None:
            self._engine = make_engine(self.url, pool_size=1, max_overflow=0)
        conn = self._engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def _try_file(self) -> bool:
        self.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fh = open(self.var_dir / "scheduler.lock", "a+")  # noqa: SIM115 - held open on purpose
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return True

    def _still_held(self) -> bool:
        if self._fh is not None:
            return True
        try:
            self._conn.execute(text("SELECT 1"))  # type: ignore[union-attr]
            self._conn.commit()  # type: ignore[union-attr]
            return True
        except Exception:  # noqa: BLE001 - connection lost = lock lost
            self._conn = None
            return False

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
                self._conn.commit()
                self._conn.close()
            except Exception:  # noqa: BLE001 - closing anyway
                pass
            self._conn = None
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
