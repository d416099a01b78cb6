"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps what it was sent, and helpers to
read the mails' text and the one link in them."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

from aiosmtpd.controller import Controller

from tests.servers import free_port

LINK = re.compile(r"http\S+/(?:invite|password/reset)/[A-Za-z0-9_-]+")


class Inbox:
    """An SMTP server's handler keeping what it was sent; `refuse` answers that many messages with 451 first."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse = 0
        self.port = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def only(self) -> Message:
        assert len(self.messages) == 1, [m["Subject"] for m in self.messages]
        return self.messages[0]


@contextmanager
def smtp_inbox() -> Iterator[Inbox]:
    """An SMTP server on 127.0.0.1 for the block; start() returns once it answers."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), loop=asyncio.new_event_loop())
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


def body(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def link_in(message: Message) -> str:
    found = LINK.findall(body(message))
    assert len(found) == 1, body(message)
    return found[0]
