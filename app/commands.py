"""The project's own commands (serve, seed-demo, users, tokens, backup, restore, campuses, rooms, import, export),
added to the app's CLI by `create_app`; `app.cli` is the `rollcall` entry point that runs them."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from datetime import time as clock
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import config as config_module
from app.extensions import db
from app.google_commands import google_group
from app.import_commands import file_options, run_file
from app.jobs import worker as job_worker
from app.jobs.console import progress_bar
from app.jobs.progress import count_rows
from app.models import Campus, ImportKind, Role, Via
from app.ops import metrics as ops_metrics
from app.services import backup, demo, google_admin, places, roster, snipeit
from app.services import users as user_service
from app.services.csvio import pasted_lines
from app.services.errors import DomainError, Invalid
from app.services.maintenance import refresh_statistics


def register_commands(app: Flask) -> None:
    app.cli.add_command(serve)
    app.cli.add_command(seed_demo)
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(campuses_group)
    app.cli.add_command(rooms_group)
    app.cli.add_command(import_group)
    app.cli.add_command(export_group)
    app.cli.add_command(google_group)


PER_WORKER_LIMITS = (
    "Warning: sign-in and report limits are per worker ({workers} worker(s) keeping their own counts in memory); "
    "set RATELIMIT_STORAGE_URI=redis://… to share them."
)


def _control_socket_in_use(path: Path) -> bool:
    """Whether a running server answers on the Unix socket at path (a leftover file from a stopped one does not)."""
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


@click.command()
@click.option(
    "--bind",
    default=config_module.DEFAULT_BIND,
    show_default=True,
    envvar="ROLLCALL_BIND",
    show_envvar=True,
    help="HOST:PORT to listen on; without ROLLCALL_BASE_URL, development and demo put it in QR codes and links.",
)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--timeout", default=60, show_default=True, type=int)
@click.option(
    "--control-socket",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="ROLLCALL_CONTROL_SOCKET",
    default=None,
    help="Unix socket for gunicornc (worker status, scaling, graceful reload); none unless given. "
    "[env: ROLLCALL_CONTROL_SOCKET]",
)
@click.option(
    "--with-worker",
    is_flag=True,
    help="Also run `rollcall worker` (the job queue's consumer) beside the web server; Ctrl-C stops both.",
)
def serve(bind: str, workers: int, timeout: int, control_socket: Path | None, with_worker: bool) -> None:
    """Serve Rollcall with gunicorn. Imports and other long work run as jobs, which `rollcall worker` runs:
    production runs it as a second service beside this one (any number of them on Redis), or here with
    --with-worker."""
    config = current_app.config
    if config["RATELIMIT_STORAGE_URI"].startswith("memory://") and (workers > 1 or config["ENV_NAME"] == "production"):
        # Each worker (and each server) counts on its own, so N workers let N times the attempts through.
        click.echo(PER_WORKER_LIMITS.format(workers=workers), err=True)
    # gunicorn's default control socket is one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl): a
    # second server on the host takes it over, and stopping either deletes it. So none, or the one named here.
    if control_socket is None:
        socket_args = ["--no-control-socket"]
    else:
        control_socket = control_socket.absolute()
        if _control_socket_in_use(control_socket):
            raise click.ClickException(f"Another server is using the control socket {control_socket}; name another.")
        socket_args = ["--control-socket", str(control_socket)]
    # The workers build their own app from the environment: the bind tells them the address to print in QR codes
    # and links when ROLLCALL_BASE_URL is unset (development and demo; production refused to get this far).
    os.environ["ROLLCALL_BIND"] = bind
    base_url = config_module.base_url_from_env({**os.environ, "ROLLCALL_ENV": config["ENV_NAME"]})
    click.echo(f"QR codes and links carry {base_url}", err=True)
    # Before gunicorn forks: its workers add their Prometheus counts up through files in one emptied directory.
    ops_metrics.prepare_multiproc_dir(config)
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "app:create_app()",
        "--config",
        "python:app.serving",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--timeout",
        str(timeout),
        # ROLLCALL_LOG_FORMAT=json: the app writes one JSON line per request instead of gunicorn's access log.
        *(["--access-logfile", "-"] if config["LOG_FORMAT"] != "json" else []),
        "--forwarded-allow-ips",
        "127.0.0.1",
        "--chdir",
        str(current_app.root_path.rsplit("/", 1)[0]),
        *socket_args,
    ]
    if with_worker:
        raise SystemExit(job_worker.supervise([(args, signal.SIGTERM), (job_worker.worker_command(), signal.SIGINT)]))
    os.execv(sys.executable, args)


@click.command("seed-demo")
@click.option("--assets", "n_assets", default=600, show_default=True, type=click.IntRange(10, 5_000_000))
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed gives the same district.")
@click.option("--force", is_flag=True, help="Seed even when the database already holds data.")
@with_appcontext
def seed_demo(n_assets: int, seed: int, force: bool) -> None:
    """Create a believable demo district: campuses, rooms, people, users of every role, devices."""
    if demo.has_data() and not force:
        click.echo("The database already holds a district; nothing seeded (use --force to add anyway).")
        return
    started = time.perf_counter()
    summary = demo.seed(n_assets=n_assets, seed=seed)
    db.session.commit()
    refresh_statistics()
    click.echo(f"Seeded {summary} in {time.perf_counter() - started:.1f} s.")
    click.echo(f"Demo logins (password: {demo.DEMO_PASSWORD}):")
    for email, role, campuses in demo.DEMO_USERS:
        click.echo(f"  {role:<10} {email}" + (f"  ({', '.join(campuses)})" if campuses else "  (district-wide)"))


@click.group()
def users() -> None:
    """Manage staff logins."""


NO_PASSWORD = (
    "No terminal to ask for the password on: send it on standard input with --password-stdin. Nothing was created."
)


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--campus", "campuses", multiple=True, help="Campus code; repeat for several.")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user(email: str, role: str, campuses: tuple[str, ...], name: str, password_stdin: bool) -> None:
    """Create a staff login (asking for its password on a terminal, or reading it with --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        # A login nobody can sign in to, made by a script that meant to give it a password, helps no one.
        raise click.ClickException(NO_PASSWORD)
    try:
        user = user_service.create_user(
            email, role=Role(role), campus_codes=campuses, name=name, password=password, by=None, via=Via.cli
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {role} {user.email}", err=True)


@users.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--campus", "campuses", multiple=True, help="Campus code; repeat for several.")
@with_appcontext
def invite_user(email: str, role: str, campuses: tuple[str, ...]) -> None:
    """Create a login without a password and mail its invite: the link sets a password or goes on to single sign-on."""
    from app.integrations import mail
    from app.services import invites

    if not mail.configured():
        raise click.ClickException(
            "Mail is not set up: set ROLLCALL_SMTP_URL (and ROLLCALL_MAIL_FROM). Nothing was created."
        )
    try:
        user = invites.invite(email, role=Role(role), campus_codes=campuses, by=None, via=Via.cli)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Invited {user.email} ({role}); the invite mail is queued.", err=True)


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write every record to FILE (gzip-compressed JSON lines) from one consistent snapshot, while serving goes on."""
    started = time.perf_counter()
    partial = file.with_name(file.name + ".partial")
    try:
        summary = backup.backup(partial)
        partial.replace(file)
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Backed up {summary} to {file} ({time.perf_counter() - started:.1f} s)", err=True)


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Delete everything this database holds first.")
@with_appcontext
def restore_command(file: Path, replace: bool) -> None:
    """Load a backup into this database (at the backup's schema, and empty unless --replace); all or nothing."""
    started = time.perf_counter()
    try:
        summary = backup.restore(file, replace=replace)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    refresh_statistics()
    click.echo(f"Restored {summary} from {file} ({time.perf_counter() - started:.1f} s)", err=True)


@click.group("campuses")
def campuses_group() -> None:
    """Set up campuses."""


@campuses_group.command("create")
@click.argument("code")
@click.option("--name", required=True, help="The campus's name, such as Lincoln High.")
@click.option("--timezone", default="America/Los_Angeles", show_default=True, help="IANA time zone.")
@click.option("--day-ends", default="15:30", show_default=True, help="When the school day ends (HH:MM).")
@click.option("--loan-days", default=0, show_default=True, type=int, help="Days loaners are lent (0: for the day).")
@click.option("--audit-days", default=90, show_default=True, type=int, help="Rooms are due for audit after this.")
@with_appcontext
def create_campus(code: str, name: str, timezone: str, day_ends: str, loan_days: int, audit_days: int) -> None:
    """Add a campus (its code starts every room code: LHS-117)."""
    try:
        day_end = clock.fromisoformat(day_ends)
    except ValueError:
        raise click.BadParameter("use HH:MM, such as 15:30", param_hint="--day-ends") from None
    values = {
        "name": name,
        "timezone": timezone,
        "day_ends_at": day_end,
        "loan_days": loan_days,
        "audit_interval_days": audit_days,
    }
    try:
        campus = places.create_campus(code, values, by=None, via=Via.cli)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created campus {campus.code} ({campus.name})", err=True)


@click.group("rooms")
def rooms_group() -> None:
    """Set up rooms."""


@rooms_group.command("add")
@click.argument("campus")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"), default="-")
@with_appcontext
def add_rooms(campus: str, file) -> None:
    """Add rooms to CAMPUS from FILE (or standard input): one per line, `code, name, kind`; all or nothing."""
    place, _ = _campus_scope(campus)
    if place is None:
        raise click.ClickException("Name the campus by its code.")
    try:
        added = places.add_rooms(place, _room_lines(file.read()), by=None, via=Via.cli)
    except DomainError as exc:
        raise click.ClickException(exc.message + " Nothing was added.") from exc
    db.session.commit()
    click.echo(f"Added {len(added)} room(s) to {place.code}: {', '.join(r.code for r in added)}", err=True)


def _room_lines(text: str) -> list[places.RoomLine]:
    """Room lines from a file, each exactly `code, name, kind` (a tab between cells lets a name hold a comma): a
    script's file with a missing or extra cell is refused with its line number rather than guessed at."""
    lines = pasted_lines(
        text,
        field="lines",
        most=places.ROOM_LINES_MAX,
        empty="Give at least one room, one per line.",
        too_many=f"Add at most {places.ROOM_LINES_MAX} rooms at a time.",
    )
    for number, line, separator in lines:
        cells = [cell.strip() for cell in line.split(separator)]
        if len(cells) != 3 or not all(cells):
            raise Invalid(f"Line {number}: write code, name, kind (a name with a comma needs a tab), not {line!r}.")
    return places.parse_room_lines(text)


@click.group()
def tokens() -> None:
    """Manage API tokens."""


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for.")
@with_appcontext
def create_token(email: str, name: str) -> None:
    """Print a new API token for EMAIL (only the token, on stdout)."""
    try:
        user = user_service.user_by_email(email)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    raw = user_service.issue_token(user, name=name, by=None, via=Via.cli)
    db.session.commit()
    click.echo(raw)


@click.group("import")
def import_group() -> None:
    """Import people or devices from another system's CSV export."""


@import_group.command("oneroster")
@click.argument("source", metavar="DIR_OR_FILE", type=click.Path(exists=True))
@click.option("--campus", default=None, help="Import only this campus's people (campus code).")
@click.option("--dry-run", is_flag=True, help="Show what would change and every bad row; write nothing.")
@click.option(
    "--deactivate-missing",
    is_flag=True,
    help="A full roster (not a delta): deactivate the people it made who are not in it, on the campuses it covers.",
)
@with_appcontext
def import_oneroster(source: str, campus: str | None, dry_run: bool, deactivate_missing: bool) -> None:
    """Students, teachers and guardians from OneRoster 1.1 users.csv (orgs.csv maps schools to campuses)."""
    started = time.perf_counter()
    try:
        files = roster.files_from_path(source)
        with progress_bar("Reading people", count_rows(files.users)) as progress:
            report = roster.import_roster(
                files,
                by=None,
                via=Via.cli,
                campus_code=campus,
                dry_run=dry_run,
                deactivate_missing=deactivate_missing,
                progress=progress,
            )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if report.dry_run and report.ok:
        _echo_roster_changes(report)
    for note in report.notes:
        click.echo(note)
    for error in report.errors:
        click.echo(str(error), err=True)
    if not report.ok:
        db.session.rollback()
        raise click.ClickException(f"{len(report.errors)} bad row(s); nothing was imported.")
    db.session.commit()
    if not report.dry_run:
        refresh_statistics()
    click.echo(f"{report.summary()} ({time.perf_counter() - started:.1f} s)")


def _echo_roster_changes(report: roster.RosterReport) -> None:
    """A roster dry run's changes, people who leave, and the devices they hold."""
    for change in report.changes:
        fields = ", ".join(f"{k}: {old} → {new}" for k, (old, new) in change["fields"].items())
        where = "not in the file" if change.get("missing") else f"line {change['line']}"
        click.echo(f"{where}: {change['action']} {change['name']} ({change['external_id']}) {fields}")
    for held in report.leaving:
        click.echo(f"assigned to someone leaving: {held['asset_tag']} ({held['name']}, {held['external_id']})")
    if report.leaving_count > len(report.leaving):
        click.echo(f"… and {report.leaving_count - len(report.leaving)} more device(s) assigned to people leaving")


@click.group("export")
def export_group() -> None:
    """Export data as CSV."""


def _campus_scope(code: str | None):
    """The campus a --campus option names (and its id set), or (None, None) for the whole district."""
    if not code:
        return None, None
    campus = db.session.scalar(sa.select(Campus).where(sa.func.upper(Campus.code) == code.strip().upper()))
    if campus is None:
        raise click.ClickException(f"No campus with the code {code!r}.")
    return campus, {campus.id}


def _finish_import(report, dry_run: bool, started: float) -> None:
    """Print a report's notes and bad rows; commit only a clean, real run."""
    for note in report.notes:
        click.echo(note)
    for error in report.errors:
        click.echo(str(error), err=True)
    if not report.ok:
        db.session.rollback()
        raise click.ClickException(
            f"{report.bad_rows} bad row(s); nothing was imported. --skip-bad-rows imports the good ones."
        )
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
        refresh_statistics()
    click.echo(f"{report.summary()} ({time.perf_counter() - started:.1f} s)")


def _echo_changes(changes: list[dict], limit: int = 200) -> None:
    for change in changes[:limit]:
        fields = ", ".join(f"{k}: {old} → {new}" for k, (old, new) in change["fields"].items())
        click.echo(f"line {change['line']}: {change['asset_tag']} {fields}")
    if len(changes) > limit:
        click.echo(f"… and {len(changes) - limit} more change(s)")


@import_group.command("google-admin")
@click.argument("file", type=click.File("rb"))
@click.option("--campus", default=None, help="Update only this campus's devices (campus code).")
@click.option("--dry-run", is_flag=True, help="Show what would change and every bad row; write nothing.")
@file_options
@with_appcontext
def import_google_admin(file, campus: str | None, dry_run: bool, columns, skip_bad_rows: bool, rejected) -> None:
    """Chrome devices from a Google Admin console download or `gam print cros` CSV, matched by serial."""
    started = time.perf_counter()
    _, campus_ids = _campus_scope(campus)

    def importer(source, **kw):
        return google_admin.run(source, by=None, campus_ids=campus_ids, filename=file.name, **kw)

    report = run_file(
        importer,
        file.read(),
        kind=ImportKind.google_admin,
        aliases=google_admin.ALIASES,
        columns=columns,
        skip_bad_rows=skip_bad_rows,
        rejected=rejected,
        dry_run=dry_run,
    )
    if dry_run and report.ok:
        _echo_changes(report.changes)
    click.echo(
        f"In Google, not in Rollcall: {report.not_in_rollcall_count}; in Rollcall, not in Google: "
        f"{report.not_in_google_count}; recent user is not the assignee: {report.mismatch_count}"
        + (f"; on other campuses: {report.other_campus}" if report.other_campus else "")
    )
    _finish_import(report, dry_run, started)


@import_group.command("snipeit")
@click.argument("file", type=click.File("rb"))
@click.option("--campus", default=None, help="Campus for rows without a Location; limits the import to it.")
@click.option("--dry-run", is_flag=True, help="Show what would change and every bad row; write nothing.")
@file_options
@with_appcontext
def import_snipeit(file, campus: str | None, dry_run: bool, columns, skip_bad_rows: bool, rejected) -> None:
    """Assets from Snipe-IT's asset CSV (statuses mapped, warranty months to an end date, people matched)."""
    started = time.perf_counter()
    default_campus, campus_ids = _campus_scope(campus)

    def importer(source, **kw):
        return snipeit.run(
            source, by=None, campus_ids=campus_ids, default_campus=default_campus, filename=file.name, **kw
        )

    report = run_file(
        importer,
        file.read(),
        kind=ImportKind.snipeit,
        aliases=snipeit.ALIASES,
        columns=columns,
        skip_bad_rows=skip_bad_rows,
        rejected=rejected,
        dry_run=dry_run,
    )
    if dry_run and report.ok:
        _echo_changes(report.changes)
    if report.new_models:
        click.echo("New models: " + ", ".join(report.new_models))
    _finish_import(report, dry_run, started)


@export_group.command("assets")
@click.option(
    "-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="File to write (default: stdout)."
)
@click.option("--campus", default=None, help="Only this campus's devices (campus code).")
@with_appcontext
def export_assets(output, campus: str | None) -> None:
    """Every device as CSV in Snipe-IT's asset import format (formula-safe cells)."""
    _, campus_ids = _campus_scope(campus)
    for chunk in snipeit.export_csv(campus_ids):
        output.write(chunk)
