"""`rollcall google test` and `rollcall google sync [--full] [--dry-run]`: the live Google sync from a terminal."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

import click
from flask.cli import with_appcontext

from app.extensions import db
from app.integrations.google_directory import GoogleError
from app.jobs.console import progress_bar
from app.models import SyncRunStatus
from app.services import google_sync, google_write_back
from app.services.errors import DomainError


@click.group("google")
def google_group() -> None:
    """Google Workspace: the Chrome device sync through the Admin SDK Directory API."""


@google_group.command("test")
@with_appcontext
def test_command() -> None:
    """Check the key, the delegation, the scopes and the API, and say what is wrong."""
    result = google_sync.test_connection()
    if not result.ok:
        detail = f"\nGoogle said: {result.google}" if result.google else ""
        raise click.ClickException(f"{result.message}{detail}")
    click.echo(result.message)


class _Bar:
    """The terminal's progress bar behind the sync's progress calls (a new bar for each phase)."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.update: Callable[[int], None] = lambda done: None

    def phase(self, name: str, total: int | None = None) -> None:
        self.update = self.stack.enter_context(progress_bar(name, total))

    def __call__(self, done: int) -> None:
        self.update(done)


@google_group.command("sync")
@click.option("--full", is_flag=True, help="Read every device and list those Google no longer has.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
@with_appcontext
def sync_command(full: bool, dry_run: bool) -> None:
    """Sync Chrome devices from Google now (changes since the last good run unless --full or a full run is due)."""
    options = google_sync.Options(full=True if full else None, dry_run=dry_run, trigger="cli")
    try:
        with ExitStack() as stack:
            record = google_sync.run(options, holder=google_sync.holder_for_process(), progress=_Bar(stack))
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if record.status is SyncRunStatus.skipped:
        db.session.commit()
        raise click.ClickException(record.error or "Another Google sync is running.")
    summary = (record.report or {}).get("summary", "")
    # The run's work (none for a dry run) and its record, together.
    db.session.commit()
    kind = "Full sync" if record.full else f"Sync of changes ({record.query})"
    click.echo(
        f"{kind}{' (dry run)' if dry_run else ''}: {record.devices:,} devices in {record.pages} page(s). {summary}"
    )
    removed = (record.report or {}).get("not_in_google_count", 0)
    if record.full and removed:
        click.echo(f"{removed:,} device(s) in Rollcall that Google no longer has.")
    if record.retries:
        click.echo(f"Google was asked again {record.retries} time(s) after 429/5xx answers.", err=True)
    if not dry_run and google_sync.state().write_back:
        try:
            sent = google_write_back.send(by=None)
        except GoogleError as exc:
            raise click.ClickException(f"Write-back: {exc}") from exc
        words = ", ".join(f"{action} {n:,}" for action, n in sent.items()) or "nothing to send"
        click.echo(f"Write-back: {words}.")
