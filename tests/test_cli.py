"""The `rollcall` command line: migrations, the demo district, users and tokens."""

from __future__ import annotations

import sys

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, Campus, Person, Role, Room, User
from app.models.users import hash_token
from app.services import demo
from tests.servers import free_port


def test_seed_demo_is_believable_and_repeatable(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--assets", "120", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "admin@mvusd.example" in result.output and demo.DEMO_PASSWORD in result.output
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # Planner statistics exist after a bulk load, so searches use the text index.
            assert db.session.scalar(sa.text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'assets'")) > 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Campus)) == 3
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Room)) == 60
        statuses = set(db.session.scalars(sa.select(Asset.status)))
        assert statuses == set(AssetStatus), "devices in every status"
        roles = set(db.session.scalars(sa.select(User.role)))
        assert roles == set(Role)
        for campus in db.session.scalars(sa.select(Campus)):
            loaners = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Asset)
                .where(Asset.campus_id == campus.id, Asset.status == AssetStatus.loaner)
            )
            assert loaners >= 2, f"a loaner pool on {campus.code}"
        deployed = db.session.scalar(
            sa.select(sa.func.count()).select_from(Asset).where(Asset.status == AssetStatus.deployed)
        )
        assigned = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Asset)
            .where(Asset.status == AssetStatus.deployed, Asset.assigned_to_id.is_not(None))
        )
        assert assigned > deployed / 2
        first = db.session.execute(sa.select(Asset.asset_tag, Asset.serial, Asset.tag_code).order_by(Asset.id)).all()
        people = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
    again = runner.invoke(args=["seed-demo"])
    assert "already holds" in again.output
    # Same seed → same district.
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    runner.invoke(args=["seed-demo", "--assets", "120", "--seed", "7"])
    with app.app_context():
        second = db.session.execute(sa.select(Asset.asset_tag, Asset.serial, Asset.tag_code).order_by(Asset.id)).all()
        assert [tuple(r) for r in second] == [tuple(r) for r in first]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == people


def test_users_and_tokens(app, district):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Lib@Example.org",
            "--role",
            "librarian",
            "--campus",
            "LHS",
            "--name",
            "Lib Rarian",
            "--password-stdin",
        ],
        input="long-enough-pass\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "lib@example.org"))
        assert user.check_password("long-enough-pass") and [c.code for c in user.campuses] == ["LHS"]
    token = runner.invoke(args=["tokens", "create", "lib@example.org"])
    assert token.exit_code == 0
    raw = token.stdout.strip()
    assert raw.startswith("rc_") and "\n" not in raw
    with app.app_context():
        from app.models import ApiToken

        assert db.session.scalar(sa.select(ApiToken.token_hash)) == hash_token(raw), "only the hash is stored"
    bad = runner.invoke(
        args=["users", "create", "x@example.org", "--role", "aide", "--password-stdin"], input="long-enough-pass\n"
    )
    assert bad.exit_code != 0 and "needs at least one campus" in bad.output
    unknown = runner.invoke(args=["tokens", "create", "nobody@example.org"])
    assert unknown.exit_code != 0


def test_production_without_a_secret_key_says_so_plainly(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ROLLCALL_ENV")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_campuses_and_rooms_from_the_command_line(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "campuses",
            "create",
            "oak",
            "--name",
            "Oak Elementary",
            "--timezone",
            "America/Denver",
            "--day-ends",
            "14:20",
        ]
    )
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["campuses", "create", "OAK", "--name", "Oak again"])
    assert again.exit_code == 1 and "Another campus already has this code." in again.output
    bad = runner.invoke(args=["campuses", "create", "ASH", "--name", "Ash", "--day-ends", "late"])
    assert bad.exit_code == 2 and "HH:MM" in bad.output

    result = runner.invoke(
        args=["rooms", "add", "oak", "-"], input="101, Kindergarten, classroom\nLIB\tLibrary, west wing\tlibrary\n"
    )
    assert result.exit_code == 0, result.output
    assert "Added 2 room(s) to OAK: OAK-101, OAK-LIB" in result.output
    bad = runner.invoke(args=["rooms", "add", "OAK"], input="102, Room 102, classroom\n101, Again, classroom\n")
    assert (
        bad.exit_code == 1 and "Line 2: a room with the code OAK-101 already exists. Nothing was added." in bad.output
    )
    assert runner.invoke(args=["rooms", "add", "ELM"], input="1\n").exit_code == 1
    with app.app_context():
        oak = db.session.scalar(sa.select(Campus).where(Campus.code == "OAK"))
        assert (oak.name, oak.timezone, oak.day_ends_at.strftime("%H:%M")) == (
            "Oak Elementary",
            "America/Denver",
            "14:20",
        )
        rooms = {r.code: (r.name, r.kind.value) for r in oak.rooms}
        assert rooms == {"OAK-101": ("Kindergarten", "classroom"), "OAK-LIB": ("Library, west wing", "library")}


def _production_env(tmp_path, **extra: str) -> dict[str, str]:
    """The environment of a production start with a good SECRET_KEY (FLASK_DEBUG and the like removed)."""
    import os
    import secrets

    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "ROLLCALL_", "TEST_DATABASE"))}
    env.update(
        {
            "ROLLCALL_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "ROLLCALL_BASE_URL": "https://rollcall.example.org",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
            **extra,
        }
    )
    return env


def _start(command: list[str], env: dict[str, str]):
    """Run a command that must refuse to start; a server that did start is stopped by the timeout (a failure)."""
    import subprocess

    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


ROLLCALL = [sys.executable, "-c", "from app.cli import main; main()"]


@pytest.mark.parametrize(
    ("args", "extra_env", "how"),
    [
        (["run", "--debug"], {}, "FLASK_DEBUG=1, --debug or DEBUG=True"),
        (["--debug", "run"], {}, "FLASK_DEBUG=1, --debug or DEBUG=True"),
        (["run"], {"FLASK_DEBUG": "1"}, "FLASK_DEBUG=1, --debug or DEBUG=True"),
        (["run", "--debugger"], {}, "--debugger"),
        (["serve"], {"FLASK_DEBUG": "1"}, "FLASK_DEBUG=1, --debug or DEBUG=True"),
    ],
)
def test_production_refuses_debug_from_the_command_line(tmp_path, args, extra_env, how):
    port = str(free_port())
    extra = ["--port", port] if "run" in args else ["--bind", f"127.0.0.1:{port}"]
    result = _start([*ROLLCALL, *args, *extra], _production_env(tmp_path, **extra_env))
    assert result.returncode != 0
    assert f"Error: Debug mode is on ({how}), which production refuses" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, "one line"


@pytest.mark.parametrize("flag", ["--debug", "--debugger"])
def test_plain_flask_run_is_refused_too(tmp_path, flag):
    result = _start(
        [sys.executable, "-m", "flask", "--app", "app:create_app", "run", flag, "--port", str(free_port())],
        _production_env(tmp_path),
    )
    assert result.returncode != 0
    assert "Debug mode is on" in result.stderr and "which production refuses" in result.stderr


def test_production_with_a_weak_secret_key_says_why(tmp_path):
    result = _start([*ROLLCALL, "db", "upgrade"], _production_env(tmp_path, SECRET_KEY="abcabcabcabcabcabc" * 2))
    assert result.returncode != 0
    assert result.stderr.startswith("Error: SECRET_KEY uses only 3 different characters (at least 10).")
    assert "Traceback" not in result.stderr
