"""What the `rollcall import` commands for device files share: `--map`, `--skip-bad-rows` and `--rejected`, and
running a file through an importer with them (a dry run first when bad rows are to be skipped)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from app.extensions import db
from app.jobs.console import progress_bar
from app.jobs.progress import count_rows
from app.models import ImportKind
from app.services import importing
from app.services.csvio import HeaderError, label_of, mapped
from app.services.errors import Invalid

# Runs an importer: (source, dry_run=…, approved=…, progress=…) → its report.
Importer = Callable[..., Any]


def file_options(command: Callable) -> Callable:
    """The options every device-file import takes."""
    for option in reversed(
        (
            click.option(
                "--map",
                "columns",
                multiple=True,
                metavar="COLUMN=HEADER",
                help="Read your file's HEADER as COLUMN (e.g. --map 'Asset Tag=Tag ID'); repeat for each one.",
            ),
            click.option(
                "--skip-bad-rows",
                is_flag=True,
                help="Import the good rows and leave the bad ones out (default: any bad row stops the import).",
            ),
            click.option(
                "--rejected",
                type=click.Path(dir_okay=False, writable=True),
                default=None,
                help="Write the bad rows to this CSV: your columns plus an error column, to fix and import again.",
            ),
        )
    ):
        command = option(command)
    return command


def header_problem(exc: HeaderError, aliases: Mapping[str, Sequence[str]]) -> click.ClickException:
    """A file missing columns, told with the file's own headers and how to name them."""
    if not exc.missing:
        return click.ClickException(str(exc))
    name = next(iter(exc.missing))
    example = f"--map '{label_of(name, aliases)}={exc.headers[0] if exc.headers else 'YOUR HEADER'}'"
    return click.ClickException(f"{exc} Say which of them to use with {example}.")


def run_file(
    importer: Importer,
    data: bytes,
    *,
    kind: ImportKind,
    aliases: Mapping[str, Sequence[str]],
    columns: Sequence[str],
    skip_bad_rows: bool,
    rejected: str | None,
    dry_run: bool,
) -> Any:
    """Run a file through an importer with the remembered and the given column names. Skipping bad rows, it is
    checked first and only its good rows are then run (a bad row's line is left blank, so the others keep
    theirs); the bad rows go to `rejected` when given."""
    try:
        given = importing.parse_cli_mapping(columns, aliases)
    except Invalid as exc:
        raise click.BadParameter(exc.message, param_hint="--map") from exc
    names = {**importing.mapping_for(kind), **given}

    def once(source: Any, *, dry: bool, approved: bytes | None = None) -> Any:
        with progress_bar("Reading rows", count_rows(source)) as progress:
            return importer(mapped(source, names), dry_run=dry, approved=approved, progress=progress)

    try:
        report = once(data, dry=dry_run and not skip_bad_rows) if not skip_bad_rows else once(data, dry=True)
    except HeaderError as exc:
        raise header_problem(exc, aliases) from exc
    bad = importing.bad_lines(report)
    if rejected is not None and bad:
        with open(rejected, "w", encoding="utf-8", newline="") as out:
            out.writelines(importing.rejected_csv(data, bad))
    if not skip_bad_rows:
        return report
    db.session.rollback()
    if report.ok and dry_run:
        return report
    if report.ok:
        return once(data, dry=False, approved=report.plan.to_bytes())
    for error in report.errors:
        click.echo(f"left out: {error}", err=True)
    good, approved = importing.good_rows_only(data, report.plan.to_bytes())
    final = once(good, dry=dry_run, approved=approved)
    final.notes.append(f"{report.bad_rows} bad row(s) left out.")
    return final
