"""Staff accounts that sign in, their campuses, their signed-in sessions, their single sign-on identities, the links
mailed to them (invites, password resets), the mail sent, and their API tokens."""

from __future__ import annotations

import enum
import functools
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
    # None: created by a first single sign-on (ROLLCALL_OIDC_SIGNUP) and waiting for an admin to grant a role; such a
    # login never signs in (app.services.sign_in).
    role: Mapped[Role | None] = mapped_column(str_enum(Role, "user_role"))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Viewers may mint API tokens only when an admin switches this on (app.permissions, "tokens.create").
    api_tokens_allowed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campuses: Mapped[list[Campus]] = relationship(secondary=user_campuses, order_by=Campus.code)
    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    identities: Mapped[list[SignInIdentity]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, order_by="SignInIdentity.id"
    )

    __table_args__ = (sa.CheckConstraint("email = lower(email)", name="email_lower"),)

    # The session this object was signed in with (see get_id); set by services.users.start_session and the loader.
    session_id = None  # str once signed in; a plain attribute, not a column

    # Flask-Login compares users by get_id(), which here names one signed-in session: compare the objects instead.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.name or self.email

    # Flask-Login
    def get_id(self) -> str:
        """The signed-in session's id, which Flask-Login keeps in the cookie: "<user id>:<session key>"."""
        if not self.session_id:
            raise RuntimeError("No session: sign users in through app.services.users.start_session.")
        return self.session_id

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        """Hash the password with werkzeug's default method and cost (the dummy hash is made the same way)."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Whether password is this user's; a user without a password is checked against a dummy hash, so both
        take one hashing's time."""
        if not self.password_hash:
            check_password_hash(dummy_password_hash(), password)
            return False
        return check_password_hash(self.password_hash, password)

    def end_sessions(self, keep: UserSession | None = None) -> None:
        """Sign this user out of every session (but keep); their rows are deleted at the next flush."""
        self.sessions = [s for s in self.sessions if s is keep]

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


@functools.cache
def dummy_password_hash() -> str:
    """A hash of a random password, made the way set_password makes them: sign-in checks a password against it when
    the email is unknown (or the account is disabled or has no password), so every failed sign-in costs the same."""
    return generate_password_hash(secrets.token_hex(16))


def password_method(password_hash: str) -> str:
    """The method and cost a werkzeug hash was made with ("scrypt:32768:8:1")."""
    return password_hash.split("$", 1)[0]


class UserSession(db.Model):
    """One signed-in browser or phone. The cookie holds a random key whose digest is stored here; deleting the row
    (signing out, a password change) ends that session for good, even for a copied cookie. A session signed in with
    "keep me signed in" has remember_until: its remember cookie names this same row and lives until then."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    # Remembered sessions survive a closed browser and idle nights; None: a browser session that idles out.
    remember_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="sessions")

    @classmethod
    def start(cls, user: User, user_agent: str = "", remember_until: datetime | None = None) -> tuple[UserSession, str]:
        """A new session for user; returns the row and the id the cookie carries (its key is never stored)."""
        key = secrets.token_urlsafe(32)
        row = cls(user=user, key_hash=hash_token(key), user_agent=user_agent[:255], remember_until=remember_until)
        return row, f"{user.id}:{key}"


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


class SignInIdentity(db.Model):  # type: ignore[name-defined]
    """An account at a single sign-on provider linked to a login: the provider's issuer and its subject (`sub`, which
    never changes, unlike the email) name it; linked the first time the person signs in with it."""

    __tablename__ = "sign_in_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Which of Rollcall's providers ("google", "microsoft", "oidc"), for showing it; issuer + subject identify it.
    provider: Mapped[str] = mapped_column(sa.String(20))
    issuer: Mapped[str] = mapped_column(sa.String(255))
    subject: Mapped[str] = mapped_column(sa.String(255))
    email: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="identities")

    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)


class LinkPurpose(enum.Enum):
    invite = "invite"
    reset = "reset"


class EmailLink(db.Model):  # type: ignore[name-defined]
    """A link mailed to a person (an invite, a password reset): its random token is in the mail only, its digest
    here. Single use (used_at) and expiring; setting a password uses up every open link of the login."""

    __tablename__ = "email_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[LinkPurpose] = mapped_column(str_enum(LinkPurpose, "link_purpose"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @classmethod
    def issue(cls, user: User, purpose: LinkPurpose, expires_at: datetime) -> tuple[EmailLink, str]:
        """A new link for user; returns the row and the raw token, which only the mail carries."""
        raw = secrets.token_urlsafe(32)
        return cls(user=user, purpose=purpose, token_hash=hash_token(raw), expires_at=expires_at), raw


class MailStatus(enum.Enum):
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class MailLog(db.Model):  # type: ignore[name-defined]
    """One mail Rollcall sent or tried to: to whom, what kind, when, and how it went. Never its body or its link."""

    __tablename__ = "mail_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254), index=True)
    # What it was: "invite", "password_reset".
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[MailStatus] = mapped_column(str_enum(MailStatus, "mail_status"))
    attempts: Mapped[int] = mapped_column(default=1, server_default="1")
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
