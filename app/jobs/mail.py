"""The `mail.send` job: compose one mail (an invite, a password reset), send it through app.integrations.mail, try
again when the server is down or busy, and log to whom, what and when (never the link).

A mail that carries a link makes the link inside a savepoint that is kept only when the server took the mail, so a
mail that never left leaves no working link, and each try mails a fresh one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, render_template

from app.extensions import db
from app.integrations import mail
from app.jobs.core import Context, handler
from app.models import LinkPurpose, MailLog, MailStatus, User, utcnow
from app.services import invites
from app.services.errors import DomainError

log = logging.getLogger("rollcall.mail")

# Seconds to wait before each further try when the server is down or answers 4xx (MAIL_RETRY_DELAYS overrides).
RETRY_DELAYS = (10.0, 60.0)


@dataclass
class Composed:
    to: str
    subject: str
    text: str


def _context() -> dict[str, Any]:
    from app.integrations import oidc  # the sign-in providers a mail may point to

    config = current_app.config
    return {
        "district": config.get("DISTRICT_NAME", "Rollcall"),
        "base_url": config["BASE_URL"].rstrip("/"),
        "providers": oidc.configured_providers(config),
    }


def _invite(params: dict[str, Any]) -> Composed | None:
    user = db.session.get(User, params.get("user_id"))
    if user is None or not user.active:
        return None
    link = invites.issue_link(user, LinkPurpose.invite)
    days = invites.lifetime(LinkPurpose.invite).days
    ctx = _context()
    subject = f"You're invited to Rollcall at {ctx['district']}"
    text = render_template("mail/invite.txt", user=user, link=link, days=days, **ctx)
    return Composed(user.email, subject, text)


def _password_reset(params: dict[str, Any]) -> Composed | None:
    user = invites.reset_recipient(str(params.get("to", "")))
    if user is None:
        return None
    link = invites.issue_link(user, LinkPurpose.reset)
    minutes = int(invites.lifetime(LinkPurpose.reset).total_seconds() // 60)
    ctx = _context()
    subject = "Reset your Rollcall password"
    text = render_template("mail/password_reset.txt", user=user, link=link, minutes=minutes, **ctx)
    return Composed(user.email, subject, text)


COMPOSERS: dict[str, Callable[[dict[str, Any]], Composed | None]] = {
    invites.INVITE_MESSAGE: _invite,
    invites.RESET_MESSAGE: _password_reset,
}


def _note(to: str, kind: str, subject: str, status: MailStatus, attempts: int) -> None:
    db.session.add(MailLog(to_address=to[:254], kind=kind, subject=subject[:200], status=status, attempts=attempts))
    log.info("mail %s to %s: %s (try %d)", kind, to, status.value, attempts)


@handler(invites.MAIL_JOB)
def send_mail(ctx: Context) -> dict[str, Any]:
    kind = str(ctx.params.get("message", ""))
    compose = COMPOSERS.get(kind)
    if compose is None:
        raise DomainError(f"Rollcall does not know the mail {kind!r}.")
    delays = tuple(current_app.config.get("MAIL_RETRY_DELAYS", RETRY_DELAYS))
    attempt = 0
    while True:
        attempt += 1
        savepoint = db.session.begin_nested()
        composed = compose(ctx.params)
        if composed is None:
            # Nobody to mail (an unknown address asked for a reset): logged, nothing sent, nothing said to the asker.
            savepoint.rollback()
            _note(str(ctx.params.get("to") or ctx.params.get("user_id")), kind, "", MailStatus.skipped, attempt)
            return {"sent": False}
        try:
            mail.send(composed.to, composed.subject, composed.text)
        except (mail.SendFailed, mail.MailNotConfigured) as exc:
            savepoint.rollback()
            transient = isinstance(exc, mail.SendFailed) and exc.transient
            if not transient or attempt > len(delays):
                log.warning("mail %s to %s failed after %d tries: %s", kind, composed.to, attempt, exc)
                raise DomainError(f"The {kind.replace('_', ' ')} mail to {composed.to} was not sent: {exc}") from exc
            log.info("mail %s to %s: try %d failed (%s), trying again", kind, composed.to, attempt, exc)
            time.sleep(delays[attempt - 1])
            continue
        savepoint.commit()
        _note(composed.to, kind, composed.subject, MailStatus.sent, attempt)
        return {"sent": True, "attempts": attempt, "at": utcnow().isoformat()}
