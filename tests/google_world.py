"""What the Google sync tests share: the fake Directory API running, a service account whose key file names it,
and the app's settings pointing at both."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fake_directory import FakeDirectory, ServiceAccount

ADMIN = "it-admin@mvusd.example"


@dataclass
class Google:
    fake: FakeDirectory
    account: ServiceAccount
    key_file: Path


@contextmanager
def running_google(app: Any, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Google]:
    """The fake Directory API, a service account delegated both scopes for ADMIN, and the settings naming them
    (a test module's `google` fixture)."""
    with FakeDirectory() as fake:
        account, key_file = fake.service_account(folder, admin=ADMIN)
        for key, value in {
            "GOOGLE_CREDENTIALS": str(key_file),
            "GOOGLE_ADMIN_EMAIL": ADMIN,
            "GOOGLE_API_ENDPOINT": fake.url,
            # Retries wait 10 ms, 20 ms … here rather than seconds.
            "GOOGLE_BACKOFF": 0.01,
        }.items():
            monkeypatch.setitem(app.config, key, value)
        yield Google(fake, account, key_file)
