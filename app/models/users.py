"""Staff accounts that sign in, their campuses, and their API tokens."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.locations import Campus
from app.models.types import UTCDateTime, str_enum, utcnow


class Role(enum.Enum):
    admin = "admin"
    tech = "tech"
    librarian = "librarian"
    aide = "aide"
    viewer = "viewer"


user_campuses = sa.Table(
    "user_campuses",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("campus_id", sa.ForeignKey("campuses.id", ondelete="CASCADE"), primary_key=True),
)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    password_hash: Mapped[str] = mapped_column(sa.String(256), default="")
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Viewers may mint API tokens only when an admin switches this on (app.permissions, "tokens.create").
    api_tokens_allowed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Part of the session's user id: changing it (password change, disabling) ends every other session.
    session_token: Mapped[str] = mapped_column(sa.String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campuses: Mapped[list[Campus]] = relationship(secondary=user_campuses, order_by=Campus.code)

    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lower"),)

    def __str__(self) -> str:
        return self.name or self.email

    # Flask-Login
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        """Hash the password (werkzeug's default) and end every session that used the old one."""
        self.password_hash = generate_password_hash(password)
        self.rotate_sessions()

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def rotate_sessions(self) -> None:
        self.session_token = secrets.token_hex(16)

    @property
    def district_wide(self) -> bool:
        """Admins with no campus of their own see the whole district."""
        return self.role is Role.admin and not self.campuses

    @property
    def campus_ids(self) -> set[int] | None:
        """The campuses this user may see, or None for the whole district."""
        return None if self.district_wide else {c.id for c in self.campuses}

    def can_see_campus(self, campus_id: int | None) -> bool:
        ids = self.campus_ids
        return ids is None or campus_id in ids


def hash_token(raw: str) -> str:
    """Tokens are stored as SHA-256 digests; the raw token is shown once and never kept."""
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80), default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters, shown in lists so a person can tell tokens apart.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple[ApiToken, str]:
        """A new token for user; returns the row and the raw token (shown once)."""
        raw = "rc_" + secrets.token_urlsafe(32)
        return cls(user=user, name=name, token_hash=hash_token(raw), prefix=raw[:10]), raw
