"""Staff accounts: creating them, signing in and out, passwords, disabling, and API tokens."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from werkzeug.security import check_password_hash

from app import permissions
from app.extensions import db
from app.models import ApiToken, Campus, Role, User, Via, utcnow
from app.models.users import UserSession, dummy_password_hash, hash_token, password_method
from app.services import activity
from app.services.errors import Forbidden, Invalid, NotFound

__all__ = ["Invalid", "NotFound"]

MIN_PASSWORD = 10


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"Use at least {MIN_PASSWORD} characters.", field="password")


def create_user(
    email: str,
    *,
    role: Role,
    campus_codes: list[str] | tuple[str, ...] = (),
    name: str = "",
    password: str | None = None,
    by: User | None,
    via: Via,
) -> User:
    """A new staff login; non-admin roles must belong to at least one campus."""
    email = email.strip().lower()
    if "@" not in email:
        raise Invalid("Enter an email address.", field="email")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise Invalid("A user with this email already exists.", field="email")
    campuses = _campuses(campus_codes, by)
    if role is not Role.admin and not campuses:
        raise Invalid("Every role except a district admin needs at least one campus.", field="campus")
    user = User(email=email, name=name.strip() or email.split("@")[0], role=role, campuses=campuses)
    if password is not None:
        check_password_strength(password)
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    activity.record(
        "user.create",
        f"Created {role.value} {email}",
        by=by,
        via=via,
        subject=user,
        after={"email": email, "role": role.value, "campuses": [c.code for c in campuses]},
    )
    return user


def _campuses(codes: list[str] | tuple[str, ...], by: User | None) -> list[Campus]:
    """Campuses by code; a campus-scoped admin may only hand out their own campuses (and at least one)."""
    campuses = []
    for code in codes:
        campus = db.session.scalar(sa.select(Campus).where(Campus.code == code.strip().upper()))
        if campus is None:
            raise Invalid(f"No campus has the code {code!r}.", field="campus")
        campuses.append(campus)
    if by is not None and not by.district_wide:
        if not campuses:
            raise Invalid("Choose at least one of your campuses.", field="campus")
        if any(not by.can_see_campus(c.id) for c in campuses):
            raise Invalid("You can only give access to your own campuses.", field="campus")
    return campuses


def can_manage(by: User, target: User) -> bool:
    """District admins manage everyone; campus admins manage users whose campuses are all theirs."""
    if by.district_wide:
        return True
    return by.role is Role.admin and bool(target.campuses) and all(by.can_see_campus(c.id) for c in target.campuses)


def update_user(user: User, *, role: Role, campus_codes: list[str], name: str, by: User, via: Via) -> None:
    """Change a login's role, campuses and name; a role or campus change ends the user's sessions."""
    campuses = _campuses(campus_codes, by)
    if role is not Role.admin and not campuses:
        raise Invalid("Every role except a district admin needs at least one campus.", field="campus")
    if user.id == by.id and (role is not by.role or {c.id for c in campuses} != {c.id for c in by.campuses}):
        raise Invalid("Ask another admin to change your own role or campuses.", field="role")
    before = {
        "role": user.role.value if user.role else None,
        "campuses": [c.code for c in user.campuses],
        "name": user.name,
    }
    user.role, user.campuses, user.name = role, campuses, name.strip() or user.name
    after = {"role": role.value, "campuses": [c.code for c in campuses], "name": user.name}
    old, new = activity.diff(before, after)
    if not new:
        return
    if "role" in new or "campuses" in new:
        user.end_sessions()
    activity.record(
        "user.update", f"Changed {', '.join(new)} of {user.email}", by=by, via=via, subject=user, before=old, after=new
    )


def allow_api_tokens(user: User, allowed: bool, *, by: User, via: Via) -> bool:
    """Let a user (a viewer: the other roles always may) mint API tokens, or stop them; False when nothing changed.

    Withdrawing it from a viewer also revokes the tokens they hold, so the switch means what it says.
    """
    if user.api_tokens_allowed == allowed:
        return False
    user.api_tokens_allowed = allowed
    activity.record(
        "user.api_tokens",
        f"{'Allowed' if allowed else 'Stopped'} API tokens for {user.email}",
        by=by,
        via=via,
        subject=user,
        before={"api_tokens_allowed": not allowed},
        after={"api_tokens_allowed": allowed},
    )
    if not allowed and not permissions.allows(user, "tokens.create"):
        live = sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        for token in db.session.scalars(live):
            revoke_token(token, by=by, via=via)
    return True


def revoke_token(token: ApiToken, *, by: User, via: Via) -> None:
    """Stop a token from working; it stays listed as revoked."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        activity.record(
            "token.revoke", f"Revoked API token {token.prefix}… of {token.user.email}", by=by, via=via, subject=token
        )


def change_password(user: User, password: str, *, by: User | None, via: Via) -> int:
    """Set a new password, end every session of the user and revoke their API tokens; returns how many tokens.

    A password is changed when someone else may know it, and whoever knew it could have minted tokens that would
    outlive it; a script that lost its token gets a new one from /account/tokens.
    """
    check_password_strength(password)
    user.set_password(password)
    user.end_sessions()
    now = utcnow()
    live = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in live:
        token.revoked_at = now
    activity.record(
        "user.password",
        f"Changed the password of {user.email}"
        + (f" and revoked {len(live)} API token(s): {', '.join(t.prefix + '…' for t in live)}" if live else ""),
        by=by,
        via=via,
        subject=user,
        after={"api_tokens_revoked": [t.prefix for t in live]} if live else None,
    )
    return len(live)


def set_active(user: User, active: bool, *, by: User | None, via: Via) -> None:
    """Disable or re-enable a login; disabling ends the user's sessions and revokes nothing else."""
    if user.active == active:
        return
    user.active = active
    user.end_sessions()
    activity.record(
        "user.enable" if active else "user.disable",
        f"{'Enabled' if active else 'Disabled'} {user.email}",
        by=by,
        via=via,
        subject=user,
        before={"active": not active},
        after={"active": active},
    )


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None.

    Exactly one password hash is checked whatever the outcome (a dummy one for an unknown email, a disabled login
    or one without a password), so the answer's timing does not tell which staff emails exist. A hash made with an
    older method or cost is remade at the current one, which keeps every sign-in as slow as the dummy's.
    """
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    usable = user is not None and user.active and bool(user.password_hash)
    matches = check_password_hash(user.password_hash if usable else dummy_password_hash(), password)
    if not (usable and matches):
        return None
    if password_method(user.password_hash) != password_method(dummy_password_hash()):
        user.set_password(password)
    return user


def start_session(
    user: User, *, user_agent: str = "", idle_limit: timedelta | None = None, remember_for: timedelta | None = None
) -> str:
    """Sign user in on one browser or phone: a user_sessions row, and the id its cookie carries (also set as
    user.session_id, which Flask-Login's login_user reads). remember_for keeps the session that long whether used or
    not ("keep me signed in"). Sessions of theirs that have lapsed (idle past idle_limit, or remembered past their
    time) are removed."""
    now = utcnow()
    if idle_limit is not None:
        db.session.execute(
            sa.delete(UserSession).where(
                UserSession.user_id == user.id,
                sa.or_(
                    sa.and_(UserSession.remember_until.is_(None), UserSession.last_seen_at < now - idle_limit),
                    UserSession.remember_until < now,
                ),
            )
        )
    remember_until = now + remember_for if remember_for else None
    row, session_id = UserSession.start(user, user_agent, remember_until=remember_until)
    db.session.add(row)
    db.session.flush()
    user.session_id = session_id
    return session_id


def session_for(session_id: str, *, idle_limit: timedelta) -> UserSession | None:
    """The live session a cookie names, or None: unknown (signed out, ended by a password change), idle for longer
    than idle_limit (a remembered one: past its remember_until instead), or its user disabled."""
    user_id, _, key = session_id.partition(":")
    if not key:
        return None
    row = db.session.scalar(sa.select(UserSession).where(UserSession.key_hash == hash_token(key)))
    if row is None or str(row.user_id) != user_id or not session_live(row, idle_limit=idle_limit):
        return None
    row.user.session_id = session_id
    return row


def session_live(row: UserSession, *, idle_limit: timedelta) -> bool:
    """Whether a session still signs its browser in: its user active, and not idle past idle_limit (a remembered
    one: not past its remember_until)."""
    if not row.user.active:
        return False
    now = utcnow()
    if row.remember_until is not None:
        return now < row.remember_until
    return now - row.last_seen_at <= idle_limit


def end_other_sessions(user: User, *, keep: UserSession | None, by: User, via: Via) -> int:
    """Sign user out everywhere but the session keep ("sign out everywhere else"); returns how many ended."""
    ended = [s for s in user.sessions if s is not keep]
    user.end_sessions(keep=keep)
    db.session.flush()
    if ended:
        activity.record(
            "user.sign_out_everywhere",
            f"Signed {user.email} out of {len(ended)} other session(s)",
            by=by,
            via=via,
            subject=user,
        )
    return len(ended)


SESSION_SEEN_RESOLUTION = timedelta(minutes=1)


def note_session_seen(row: UserSession, connection: sa.Connection) -> None:
    """Note that a session was used, to the minute, on connection (whose transaction the caller chooses, as for
    privacy.note_view): a page view need not write for every request."""
    now = utcnow()
    if now - row.last_seen_at >= SESSION_SEEN_RESOLUTION:
        connection.execute(sa.update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now))


def end_session(row: UserSession) -> None:
    """Sign one session out for good: its cookie, or any copy of it, no longer signs anyone in."""
    db.session.delete(row)
    db.session.flush()


def user_by_email(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    return user


def issue_token(user: User, *, name: str = "", by: User | None, via: Via) -> str:
    """Create an API token for user and return the raw token, which is never stored.

    The token's user must hold "tokens.create" (viewers: only once an admin allows it); `rollcall tokens create`
    (by=None) is the server operator's and always may.
    """
    if by is not None and not permissions.allows(user, "tokens.create"):
        raise Forbidden("Ask an admin to allow API tokens for your login.")
    token, raw = ApiToken.issue(user, name)
    db.session.add(token)
    db.session.flush()
    activity.record("token.create", f"Issued API token {token.prefix}… for {user.email}", by=by, via=via, subject=token)
    return raw


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def user_for_token(raw: str) -> User | None:
    """The active user a bearer token belongs to, or None; notes when it was last used."""
    token = db.session.scalar(
        sa.select(ApiToken).where(ApiToken.token_hash == hash_token(raw), ApiToken.revoked_at.is_(None))
    )
    if token is None or not token.user.active:
        return None
    now = utcnow()
    # To the minute: a phone syncing every few seconds need not write to the database for each request.
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        token.last_used_at = now
    return token.user
