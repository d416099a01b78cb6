"""Single sign-on with OpenID Connect through Authlib's Flask client: Google Workspace, Microsoft Entra ID and any
provider with a discovery document. Turns the provider's answer into our plain `Claims`, or `SignInFailed` with a
reason a person can act on; state, nonce and PKCE (S256) are Authlib's, kept in the signed session cookie.

Which providers exist is read from the settings on each use (ROLLCALL_OIDC_*), so a changed setting needs no
restart of this module's state: each provider's client is made once per set of settings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Response, current_app
from joserfc.errors import ClaimError, JoseError

GOOGLE_ISSUER = "https://accounts.google.com"
MICROSOFT_ISSUER = "https://login.microsoftonline.com/{tenant}/v2.0"
# Entra tenants that stand for many organisations: their ID tokens name the person's own tenant as issuer.
MICROSOFT_SHARED_TENANTS = ("common", "organizations", "consumers")
SCOPE = "openid email profile"
NAMES = ("google", "microsoft", "oidc")
EXTENSION = "rollcall.oidc"


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    client_id: str
    client_secret: str
    issuer: str

    @property
    def metadata_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Claims:
    """Who the provider says signed in (from the validated ID token, completed from userinfo when it lacks the
    email)."""

    provider: str
    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str
    hosted_domain: str | None


class SignInFailed(Exception):
    """Single sign-on did not go through; code names the case, message says it to the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _flag(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def domains(config: Any = None) -> tuple[str, ...]:
    """ROLLCALL_OIDC_DOMAINS: the email domains allowed to sign in (none: any, for people an admin added)."""
    config = current_app.config if config is None else config
    return tuple(d.strip().lower().lstrip("@") for d in (config.get("OIDC_DOMAINS") or "").split(",") if d.strip())


def signup_allowed(config: Any = None) -> bool:
    """ROLLCALL_OIDC_SIGNUP: a first sign-in from an allowed domain creates a login that waits for a role."""
    return _flag((current_app.config if config is None else config).get("OIDC_SIGNUP"))


def required_for_admins(config: Any = None) -> bool:
    """ROLLCALL_OIDC_REQUIRED_FOR_ADMINS: admins may sign in only with single sign-on (once a provider is set up)."""
    config = current_app.config if config is None else config
    return _flag(config.get("OIDC_REQUIRED_FOR_ADMINS")) and bool(configured_providers(config))


def configured_providers(config: Any = None) -> list[Provider]:
    """The providers whose client id and secret are set, in the order the sign-in page shows them."""
    config = current_app.config if config is None else config
    found = []
    if config.get("OIDC_GOOGLE_CLIENT_ID") and config.get("OIDC_GOOGLE_CLIENT_SECRET"):
        issuer = config.get("OIDC_GOOGLE_ISSUER") or GOOGLE_ISSUER
        found.append(
            Provider("google", "Google", config["OIDC_GOOGLE_CLIENT_ID"], config["OIDC_GOOGLE_CLIENT_SECRET"], issuer)
        )
    if config.get("OIDC_MICROSOFT_CLIENT_ID") and config.get("OIDC_MICROSOFT_CLIENT_SECRET"):
        tenant = config.get("OIDC_MICROSOFT_TENANT") or "organizations"
        issuer = MICROSOFT_ISSUER.format(tenant=tenant)
        found.append(
            Provider(
                "microsoft",
                "Microsoft",
                config["OIDC_MICROSOFT_CLIENT_ID"],
                config["OIDC_MICROSOFT_CLIENT_SECRET"],
                issuer,
            )
        )
    if config.get("OIDC_ISSUER") and config.get("OIDC_CLIENT_ID"):
        found.append(
            Provider(
                "oidc",
                config.get("OIDC_LABEL") or "single sign-on",
                config["OIDC_CLIENT_ID"],
                config.get("OIDC_CLIENT_SECRET") or "",
                config["OIDC_ISSUER"],
            )
        )
    return found


def provider(name: str) -> Provider | None:
    return next((p for p in configured_providers() if p.name == name), None)


def _client(p: Provider) -> Any:
    """Authlib's client for this provider and these settings (made once, kept on the app)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    registry = app.extensions.get(EXTENSION)
    if registry is None:
        registry = app.extensions[EXTENSION] = OAuth(app)
    # Named after the settings, so changed settings get a new client and a half-finished sign-in under the old
    # ones finds no state (and starts again).
    key = f"{p.name}_{hashlib.sha256(repr(p).encode()).hexdigest()[:12]}"
    found = registry.create_client(key)
    if found is None:
        found = registry.register(
            key,
            client_id=p.client_id,
            client_secret=p.client_secret,
            server_metadata_url=p.metadata_url,
            client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
        )
    return found


def start(p: Provider, redirect_uri: str) -> Response:
    """Send the browser to the provider, with a fresh state, nonce and PKCE challenge kept in the session."""
    extra: dict[str, str] = {}
    if p.name in ("google", "microsoft"):
        # A shared school computer may be signed in to someone else's account: let the person choose. (Other
        # providers need not know this prompt value, and may refuse the request for it.)
        extra["prompt"] = "select_account"
    allowed = domains()
    if p.name == "google" and len(allowed) == 1:
        extra["hd"] = allowed[0]  # only preselects the account chooser; the callback checks the claim
    try:
        return _client(p).authorize_redirect(redirect_uri, **extra)
    except (requests.RequestException, ValueError) as exc:
        raise SignInFailed("unreachable", f"{p.label} could not be reached. Try again in a moment.") from exc


def _claims_options(p: Provider, metadata: dict[str, Any]) -> dict[str, Any] | None:
    issuer = metadata.get("issuer", "")
    if p.name == "microsoft" and "{tenantid}" in issuer:
        # A shared tenant's discovery names no one issuer: the token's must be its own tenant's.
        def matches(claims: Any, value: Any) -> bool:
            return value == issuer.replace("{tenantid}", str(claims.get("tid", "")))

        return {"iss": {"essential": True, "validate": matches}}
    return None


def finish(p: Provider) -> Claims:
    """Check the provider's answer on the callback (state, code with PKCE, ID token signature, issuer, audience,
    nonce) and return who signed in."""
    client = _client(p)
    try:
        metadata = client.load_server_metadata()
        token = client.authorize_access_token(claims_options=_claims_options(p, metadata))
    except MismatchingStateError as exc:
        raise SignInFailed(
            "state", "This sign-in link was already used or has expired. Start again from the sign-in page."
        ) from exc
    except ClaimError as exc:
        if exc.claim == "nonce":
            raise SignInFailed(
                "nonce", "The sign-in answer did not belong to this sign-in (its nonce differs). Start again."
            ) from exc
        raise SignInFailed("token", f"{p.label}'s answer could not be checked ({exc.claim}). Start again.") from exc
    except OAuthError as exc:
        if exc.error == "access_denied":
            raise SignInFailed("denied", f"Signing in with {p.label} was cancelled.") from exc
        current_app.logger.warning("%s refused the sign-in: %s %s", p.name, exc.error, exc.description)
        raise SignInFailed("provider", f"{p.label} refused the sign-in ({exc.error}). Start again.") from exc
    except JoseError as exc:
        raise SignInFailed("token", f"{p.label}'s answer could not be checked. Start again.") from exc
    except requests.RequestException as exc:
        raise SignInFailed("unreachable", f"{p.label} could not be reached. Try again in a moment.") from exc
    info = dict(token.get("userinfo") or {})
    if not info.get("email"):
        more = dict(client.userinfo(token=token))
        if more.get("sub") == info.get("sub"):
            info = {**more, **info, "email": more.get("email"), "email_verified": more.get("email_verified")}
    verified = info.get("email_verified") is True or str(info.get("email_verified")).lower() == "true"
    if p.name == "microsoft" and info.get("xms_edov") in (True, "true", 1, "1"):
        verified = True  # Entra sends no email_verified; xms_edov says the tenant owns the email's domain
    return Claims(
        provider=p.name,
        issuer=str(info.get("iss") or metadata.get("issuer") or p.issuer),
        subject=str(info.get("sub") or ""),
        email=str(info.get("email") or "").strip().lower(),
        email_verified=verified,
        name=str(info.get("name") or ""),
        hosted_domain=(str(info["hd"]).lower() if info.get("hd") else None),
    )
