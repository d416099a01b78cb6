"""Who a single sign-on lets in: the provider's verified claims matched to a login an admin created or invited (or,
when the district allows it, a new login waiting for a role), and the district's rule on admins and passwords."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.integrations.oidc import Claims
from app.models import Role, SignInIdentity, User, Via, utcnow
from app.services import activity
from app.services.errors import DomainError
from app.services.invites import use_up_links


class Refused(DomainError):
    """Single sign-on found nobody to sign in; code names the case (unverified, wrong_domain, unknown, waiting,
    disabled), message says it to the person."""

    status = 403

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _check_domain(claims: Claims, allowed: tuple[str, ...]) -> None:
    if not allowed:
        return
    domain = claims.email.rpartition("@")[2]
    # Google names the Workspace an account belongs to in `hd`; a personal account has none.
    if domain not in allowed or (claims.provider == "google" and claims.hosted_domain not in allowed):
        raise Refused(
            "wrong_domain",
            f"{claims.email} is not an account of this district ({', '.join(allowed)}). "
            "Sign in with your school account.",
        )


def user_for(claims: Claims, *, allowed_domains: tuple[str, ...], signup: bool) -> User:
    """The login these claims sign in to, linking the provider's account to it the first time; Refused otherwise.

    A login is found by the provider's account (issuer and subject) once linked, else by its verified email. With
    signup on, an unknown person from an allowed domain gets a login with no role, and is told to wait for one.
    """
    if not claims.email or not claims.email_verified:
        raise Refused(
            "unverified",
            f"Your account's email ({claims.email or 'none given'}) is not verified, so it cannot sign you in to "
            "Rollcall. Verify it with your provider, or sign in with your password.",
        )
    _check_domain(claims, allowed_domains)
    identity = db.session.scalar(
        sa.select(SignInIdentity).where(
            SignInIdentity.issuer == claims.issuer, SignInIdentity.subject == claims.subject
        )
    )
    user = identity.user if identity else db.session.scalar(sa.select(User).where(User.email == claims.email))
    if user is None:
        if not (signup and allowed_domains):
            raise Refused(
                "unknown",
                f"There is no Rollcall login for {claims.email}. Ask your district's Rollcall admin to invite you.",
            )
        user = User(email=claims.email, name=claims.name or claims.email.split("@")[0], role=None)
        db.session.add(user)
        db.session.flush()
        activity.record(
            "user.signup",
            f"{claims.email} signed in with {claims.provider} and waits for a role",
            by=None,
            via=Via.web,
            subject=user,
            after={"email": claims.email, "provider": claims.provider},
        )
    if identity is None:
        identity = SignInIdentity(
            user=user, provider=claims.provider, issuer=claims.issuer, subject=claims.subject, email=claims.email
        )
        db.session.add(identity)
        activity.record(
            "user.sso_link", f"Linked {claims.provider} sign-in to {user.email}", by=None, via=Via.web, subject=user
        )
    identity.email, identity.last_used_at = claims.email, utcnow()
    if not user.active:
        raise Refused("disabled", "Your Rollcall login is disabled. Ask your district's Rollcall admin.")
    if user.role is None:
        raise Refused(
            "waiting",
            "You're signed up. An admin must give your login a role before you can use Rollcall; "
            "try again once they have.",
        )
    use_up_links(user)  # an invite is taken up by signing in, whichever way
    return user


def password_refused(user: User, *, sso_required_for_admins: bool) -> str | None:
    """Why this login may not sign in with a password, or None."""
    if sso_required_for_admins and user.role is Role.admin:
        return "Admins sign in with single sign-on here: use the button for your district's account below."
    return None
