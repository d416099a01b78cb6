"""Chat notices: one line of text with a link, in the message format each chat service's incoming webhook takes
(Slack's `text` with mrkdwn links, a Teams message card, Google Chat's `text` with its own link markup)."""

from __future__ import annotations

from typing import Any


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(text: str, link: str = "") -> dict[str, Any]:
    """A Slack incoming-webhook message: the line, and the link as <url|Open in Rollcall>."""
    line = _slack_escape(text)
    return {"text": f"{line} <{link}|Open in Rollcall>" if link else line}


def teams(text: str, link: str = "") -> dict[str, Any]:
    """A Microsoft Teams incoming-webhook message card with the line and an "Open in Rollcall" button."""
    card: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": text[:120],
        "text": text,
    }
    if link:
        card["potentialAction"] = [
            {"@type": "OpenUri", "name": "Open in Rollcall", "targets": [{"os": "default", "uri": link}]}
        ]
    return card


def google_chat(text: str, link: str = "") -> dict[str, Any]:
    """A Google Chat incoming-webhook message: the line, and the link as <url|Open in Rollcall>."""
    return {"text": f"{text} <{link}|Open in Rollcall>" if link else text}


FORMATS = {"slack": slack, "teams": teams, "google_chat": google_chat}


def message(kind: str, text: str, link: str = "") -> dict[str, Any]:
    """The message body for a chat service ("slack", "teams", "google_chat")."""
    return FORMATS[kind](text, link)
