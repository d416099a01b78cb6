"""Invites and password resets by email: the single-use, expiring links mailed to a person, and what they do.

A link's token exists only in the mail: the job that sends it (app.jobs.mail) makes the link in the same transaction
as the mail log, so a mail that never left leaves no working link behind. Links are built from ROLLCALL_BASE_URL,
never from the address a request came in on.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.jobs.core import submit
from app.models import EmailLink, LinkPurpose, Role, User, Via, utcnow
from app.models.users import hash_token
from app.services import activity
from app.services import users as user_service
from app.services.errors import Invalid

MAIL_JOB = "mail.send"
INVITE_MESSAGE = "invite"
RESET_MESSAGE = "password_reset"

# How long a mailed link works, unless the settings say otherwise.
RESET_LIFETIME = timedelta(hours=1)
INVITE_LIFETIME = timedelta(days=7)
PATHS = {LinkPurpose.invite: "/invite/", LinkPurpose.reset: "/password/reset/"}


def lifetime(purpose: LinkPurpose) -> timedelta:
    config = current_app.config
    if purpose is LinkPurpose.reset:
        return config.get("PASSWORD_RESET_LIFETIME", RESET_LIFETIME)
    return config.get("INVITE_LIFETIME", INVITE_LIFETIME)


def issue_link(user: User, purpose: LinkPurpose) -> str:
    """A new link for user, valid for the purpose's lifetime; returns its full address (for the mail only)."""
    row, raw = EmailLink.issue(user, purpose, utcnow() + lifetime(purpose))
    db.session.add(row)
    db.session.flush()
    return current_app.config["BASE_URL"].rstrip("/") + PATHS[purpose] + raw


def open_link(raw: str, purpose: LinkPurpose) -> EmailLink | None:
    """The link a token names, if it still works: not used, not expired, its login active; None otherwise."""
    if not raw or len(raw) > 100:
        return None
    row = db.session.scalar(sa.select(EmailLink).where(EmailLink.token_hash == hash_token(raw)))
    if row is None or row.purpose is not purpose or row.used_at is not None or utcnow() >= row.expires_at:
        return None
    if not row.user.active:
        return None
    return row


def use_up_links(user: User) -> None:
    """Every open link of user stops working (a password was set, or the invite was taken up by signing in)."""
    db.session.execute(
        sa.update(EmailLink).where(EmailLink.user_id == user.id, EmailLink.used_at.is_(None)).values(used_at=utcnow())
    )


def set_password(link: EmailLink, password: str) -> User:
    """Set the password a link was mailed for; the link and every other open one of the login are used up, every
    session ended and API tokens revoked (as any password change does)."""
    user = link.user
    user_service.change_password(user, password, by=user, via=Via.web)
    use_up_links(user)
    return user


def invite(
    email: str, *, role: Role, campus_codes: list[str] | tuple[str, ...] = (), by: User | None, via: Via
) -> User:
    """A new login without a password, and its invite mailed: the link sets a password or goes on to single
    sign-on. Inviting again someone who never signed in mails a new invite."""
    email = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = user_service.create_user(email, role=role, campus_codes=campus_codes, by=by, via=via)
    elif user.password_hash or user.last_login_at or user.identities:
        raise Invalid("This person already has a login; they can reset their password from the sign-in page.")
    submit(MAIL_JOB, by=by, subject=f"user:{user.id}", params={"message": INVITE_MESSAGE, "user_id": user.id})
    activity.record("user.invite", f"Invited {email}", by=by, via=via, subject=user)
    return user


def request_reset(email: str) -> None:
    """Queue a password reset mail for whoever has this email. The same job is queued for an unknown address (it
    finds nobody and sends nothing), so the answer and the work behind it are the same either way."""
    email = email.strip().lower()[:254]
    submit(MAIL_JOB, by=None, params={"message": RESET_MESSAGE, "to": email})


def reset_recipient(email: str) -> User | None:
    """The login a reset mail goes to: active, with a role (one waiting for a role cannot sign in yet)."""
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.active or user.role is None:
        return None
    return user
