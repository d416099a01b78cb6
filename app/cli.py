"""The `rollcall` command line: a Flask CLI group that builds the app, whose commands live in `app.commands`."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from app import InsecureConfiguration, create_app


def _create_app():
    try:
        return create_app()
    except InsecureConfiguration as exc:
        # A plain message, not a traceback: this is a setting to fix, not a bug.
        raise click.ClickException(str(exc)) from exc


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Rollcall: device tracking for school districts."""
