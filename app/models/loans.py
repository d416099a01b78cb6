"""Loaners lent from a campus's pool: who has which device, since when, until when, and how it came back."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.assets import Asset, Condition
from app.models.people import Person
from app.models.types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.users import User


class Loan(db.Model):
    """A loaner in someone's hands (open while returned_at is empty); at most one open per asset."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    checked_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    return_condition: Mapped[Condition | None] = mapped_column(str_enum(Condition, "loan_return_condition"))
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The offline event (client UUID) that opened the loan, when it came through sync.
    source_event_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    asset: Mapped[Asset] = relationship()
    person: Mapped[Person] = relationship()
    checked_out_by: Mapped[User | None] = relationship(foreign_keys=[checked_out_by_id])
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])

    __table_args__ = (
        # The database, not the application, decides which of two concurrent checkouts wins.
        sa.Index(
            "uq_loans_open_asset",
            "asset_id",
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        ),
    )

    @property
    def is_open(self) -> bool:
        return self.returned_at is None

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.returned_at is None and self.due_at < (now or utcnow())
