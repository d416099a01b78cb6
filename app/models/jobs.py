"""Jobs: work that outlives a request, run by `rollcall worker` off the queue, recorded for every server to show."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class JobStatus(enum.Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.done, JobStatus.failed)


def new_job_id() -> str:
    return str(uuid.uuid4())


class Job(db.Model):  # type: ignore[name-defined]
    """One piece of queued work: what it is, who asked, how far it has got and what came of it.

    The queue's message carries only the id; what the job needs is parked in the database beforehand (an import
    run's file, say), so a job can be run again from its record alone.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_job_id)
    # A registered handler's name (app.jobs): "import.check", "import.apply", …
    kind: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, "job_status"), default=JobStatus.queued)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The campus whose records the job touches, when it has one: campus admins see those jobs too.
    campus_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campuses.id", ondelete="SET NULL"))
    # What the job works on, such as "import_run:12", so its page can find the job behind it.
    subject: Mapped[str | None] = mapped_column(sa.String(80), index=True)
    # What the handler needs beyond the subject (small: ids and options, never the data itself).
    params: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Rows (or items) done of total; total is None until the job knows it.
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    total: Mapped[int | None] = mapped_column()
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    # How many times a worker has started it; a job whose worker died is started again up to a limit.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # host:pid of the worker running it, so a worker starting on that host can tell a dead one's jobs.
    worker: Mapped[str | None] = mapped_column(sa.String(120))

    requested_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_jobs_status", "status"),)

    @property
    def finished(self) -> bool:
        return self.status.finished
