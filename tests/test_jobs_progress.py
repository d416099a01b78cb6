"""A job's progress as the queue's store receives it: throttled while rows go by, written at once when a phase is
complete, so the bar does not sit short of the rows read while a long write follows."""

from __future__ import annotations

from app.jobs.progress import Progress, Snapshot


class Recording:
    """A store that keeps every snapshot written to it."""

    def __init__(self) -> None:
        self.written: list[Snapshot] = []

    def write(self, job_id: str, snapshot: Snapshot) -> None:
        self.written.append(Snapshot(**vars(snapshot)))

    def drop(self, job_id: str) -> None:
        pass


def test_rows_are_throttled_and_the_last_row_of_a_phase_is_written_at_once():
    store = Recording()
    progress = Progress("job-1", store, every=3600)  # nothing is written for the time passing
    progress.phase("Checking rows", 5_000)
    assert [s.done for s in store.written] == [0]
    for n in range(1, 5_000):
        progress(n)
    assert [s.done for s in store.written] == [0]
    progress(5_000)
    assert [(s.done, s.total) for s in store.written] == [(0, 5_000), (5_000, 5_000)]


def test_a_phase_without_a_total_stays_throttled():
    store = Recording()
    progress = Progress("job-2", store, every=3600)
    progress.phase("Reading", None)
    for n in range(1, 100):
        progress(n)
    assert [s.done for s in store.written] == [0]
