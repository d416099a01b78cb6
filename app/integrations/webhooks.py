"""Sending one webhook: the address checked (https, and no private or loopback host unless allowed), the body
signed with HMAC-SHA256 over the timestamp and the body, one POST with a timeout and no redirects followed."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

SIGNATURE_HEADER = "X-Rollcall-Signature"
TIMESTAMP_HEADER = "X-Rollcall-Timestamp"
EVENT_HEADER = "X-Rollcall-Event"
DELIVERY_HEADER = "X-Rollcall-Delivery"
USER_AGENT = "Rollcall-Webhooks/1"


class Refused(Exception):
    """The address may not be sent to (its scheme, or a host that resolves to a private address); not retried."""


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: the response's status code (None when no response came) and, if not 2xx, why."""

    status: int | None
    error: str = ""
    # The address was refused before anything was sent (its scheme, or a private host).
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Rollcall-Signature value: sha256=HEX of HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str, *, https_only: bool, allow_private: bool) -> None:
    """Refuse an address Rollcall must not post to: not http(s), plain http when https is required, or a host any
    of whose addresses is private, loopback, link-local or otherwise not public (every address is checked, so a
    name with one public and one private address is refused too)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Refused("The address must start with https:// and name a host.")
    if https_only and parts.scheme != "https":
        raise Refused("Only https:// addresses are allowed.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"The host {parts.hostname} could not be found.") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    private = [a for a in addresses if _blocked(a)]
    if private:
        raise Refused(
            f"{parts.hostname} resolves to a private or loopback address ({', '.join(private)}); "
            "an admin must allow private addresses for this endpoint."
        )


def post(
    url: str,
    body: bytes,
    *,
    secret: str = "",
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    now: float | None = None,
) -> Outcome:
    """POST the JSON body, signed when there is a secret; the outcome, never an exception for a failed send."""
    timestamp = str(int(now if now is not None else time.time()))
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, TIMESTAMP_HEADER: timestamp}
    if secret:
        sent[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    sent.update(headers or {})
    try:
        resp = requests.post(url, data=body, headers=sent, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        return Outcome(None, f"No answer within {timeout:g} s.")
    except requests.RequestException as exc:
        return Outcome(None, f"Could not connect: {type(exc).__name__}.")
    if 200 <= resp.status_code < 300:
        return Outcome(resp.status_code)
    return Outcome(resp.status_code, f"The endpoint answered {resp.status_code}.")
