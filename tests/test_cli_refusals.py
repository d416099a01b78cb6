"""What the command line refuses rather than guesses: a login with no way to give it a password, a rooms file whose
lines are not `code, name, kind`."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from app.commands import NO_PASSWORD
from app.extensions import db
from app.models import Activity, Room, User
from tests import factories
from tests.servers import ROOT


def test_users_create_without_a_terminal_or_password_stdin_creates_nothing(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "admin2@example.org", "--role", "admin"], input="")
    assert result.exit_code == 1
    assert result.output == f"Error: {NO_PASSWORD}\n"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_the_real_command_refuses_when_its_stdin_is_not_a_terminal(app, tmp_path):
    """The console script itself, its standard input a pipe as from cron or a provisioning script."""
    env = {
        "ROLLCALL_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "HOME": str(tmp_path),
    }
    command = [sys.executable, "-c", "from app.cli import main; main()", "users", "create", "a@example.org"]
    result = subprocess.run(
        [*command, "--role", "admin"], cwd=ROOT, env=env, input="", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr == f"Error: {NO_PASSWORD}\n"


def test_password_stdin_still_has_to_be_a_real_password(app):
    runner = app.test_cli_runner()
    args = ["users", "create", "admin2@example.org", "--role", "admin", "--password-stdin"]
    assert runner.invoke(args=args, input="\n").exit_code == 1
    ok = runner.invoke(args=args, input="correct horse battery staple\n")
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        assert db.session.scalar(sa.select(User)).check_password("correct horse battery staple")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("101, Kindergarten, classroom\n102, Room 102\n", 2),
        ("101\n", 1),
        ("101, Kindergarten, classroom\n\n103, Lab, storage, spare\n", 3),
        ("101, , classroom\n", 1),
        ("101 Kindergarten classroom\n", 1),
    ],
)
def test_rooms_add_refuses_a_line_that_is_not_code_name_kind(app, text, line):
    with app.app_context():
        factories.make_campus("OAK", "Oak Elementary")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["rooms", "add", "OAK"], input=text)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Line {line}: write code, name, kind")
    assert result.output.rstrip().endswith("Nothing was added.")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Room)) == 0


def test_rooms_add_names_the_line_of_an_unknown_kind(app):
    with app.app_context():
        factories.make_campus("OAK", "Oak Elementary")
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["rooms", "add", "OAK"], input="code, name, kind\n101, K, classroom\n")
    assert result.exit_code == 1 and "Line 1: 'kind' is not a kind of room" in result.output
    ok = app.test_cli_runner().invoke(
        args=["rooms", "add", "OAK"], input="101, K, classroom\r\n102\tStore, west\tstorage\n"
    )
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        rooms = db.session.execute(sa.select(Room.code, Room.name, Room.kind).order_by(Room.code)).all()
        assert [(c, n, k.value) for c, n, k in rooms] == [
            ("OAK-101", "K", "classroom"),
            ("OAK-102", "Store, west", "storage"),
        ]
