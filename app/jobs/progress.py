"""How far a running job has got: written by the job (throttled) to the queue's store, read by any app server.

Live progress lives beside the queue rather than in the app's database because a job's own work holds a database
transaction open for its whole length (an import is all or nothing), and on SQLite a write from another
connection would wait for it. The job's record in the database gets the counts when each phase ends.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from app.services.csvio import read_table

# Writes to the store at most this often (seconds), however often the job reports.
EVERY = 0.5
# A running job's worker touches its progress this often even when the job reports nothing (a long write).
HEARTBEAT = 5.0


def key(job_id: str) -> str:
    return f"rollcall.job.{job_id}"


@dataclass
class Snapshot:
    """Progress as last written: rows done of total in the current phase, and when (epoch seconds)."""

    done: int = 0
    total: int | None = None
    phase: str = ""
    phase_started: float = field(default_factory=time.time)
    at: float = field(default_factory=time.time)

    @property
    def rate(self) -> float | None:
        """Rows a second in this phase so far, or None before there is anything to measure."""
        elapsed = self.at - self.phase_started
        return self.done / elapsed if self.done and elapsed > 0 else None

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        if rate is None or self.total is None:
            return None
        return max(self.total - self.done, 0) / rate

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, int(100 * self.done / self.total))


class Store:
    """The queue's key-value store (huey's: SQLite in instance/, or Redis), holding one Snapshot per running job."""

    def __init__(self, huey: Any) -> None:
        self.huey = huey

    def write(self, job_id: str, snapshot: Snapshot) -> None:
        self.huey.put(key(job_id), asdict(snapshot))

    def read(self, job_id: str) -> Snapshot | None:
        try:
            data = self.huey.get(key(job_id), peek=True)
        except Exception:  # an unreachable store shows the last counts the database has, not an error page
            return None
        return Snapshot(**data) if isinstance(data, dict) else None

    def drop(self, job_id: str) -> None:
        self.huey.delete(key(job_id))


class Progress:
    """What a job's handler reports through: `progress.phase("Checking rows", total)`, then `progress(done)` as
    often as it likes (it is a callable, for the importers' callback); writes are throttled to every EVERY
    seconds, and a heartbeat thread rewrites the last snapshot every HEARTBEAT seconds while the job runs."""

    def __init__(self, job_id: str, store: Store | None, *, every: float = EVERY) -> None:
        self.job_id = job_id
        self.store = store
        self.every = every
        self.snapshot = Snapshot()
        self._written = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @property
    def done(self) -> int:
        return self.snapshot.done

    @property
    def total(self) -> int | None:
        return self.snapshot.total

    def phase(self, name: str, total: int | None = None) -> None:
        """Start a phase (its rate and time left count from now); written at once."""
        now = time.time()
        self.snapshot = Snapshot(done=0, total=total, phase=name, phase_started=now, at=now)
        self._write(force=True)

    def __call__(self, done: int) -> None:
        self.snapshot.done = done
        # A phase that reaches its total is written at once: what follows it (an import's writes) may report
        # nothing for a while, and the bar should not sit short of the rows already read.
        self._write(force=done == self.snapshot.total)

    def _write(self, *, force: bool = False) -> None:
        now = time.time()
        if not force and now - self._written < self.every:
            return
        self.snapshot.at = now
        self._written = now
        if self.store is not None:
            # Progress is a courtesy: a store that hiccups never fails the job.
            with self._lock, contextlib.suppress(Exception):
                self.store.write(self.job_id, self.snapshot)

    def start(self) -> None:
        """Write the first snapshot and start the heartbeat."""
        self._write(force=True)
        self._beat = threading.Thread(target=self._heartbeat, name=f"job-{self.job_id[:8]}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            self._write(force=True)

    def stop(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(HEARTBEAT + 1)
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.drop(self.job_id)


def count_rows(source: IO[bytes] | bytes) -> int:
    """How many data rows (not blank, after the header) a CSV holds, read through once as the importers read it;
    a stream is put back at its start."""
    if not isinstance(source, bytes):
        source.seek(0)
    try:
        n = sum(1 for _ in read_table(source, {}).rows)
    except Exception:  # an unreadable file has no total: the importer itself says what is wrong with it
        n = 0
    if not isinstance(source, bytes):
        source.seek(0)
    return n
