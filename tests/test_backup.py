"""`rollcall backup` and `rollcall restore`: every record comes back, from SQLite into this suite's database
(PostgreSQL when TEST_DATABASE_URL is set), and damaged or mismatched backups are refused with nothing changed."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Asset, Campus, FeeReason, Role, TicketCategory, User, Via
from app.services import sync, tickets
from app.services.assets import AssetFilters, search_assets
from app.services.photos import CleanPhoto
from tests.servers import fresh_database


def _app(url: str):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    with app.app_context():
        upgrade()
    return app


def _contents(app) -> dict[str, list[tuple]]:
    """Every row of every table, in key order."""
    with app.app_context():
        return {
            t.name: [tuple(r) for r in db.session.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in db.metadata.sorted_tables
        }


@pytest.fixture(scope="module")
def district_backup(tmp_path_factory) -> tuple[Path, dict[str, list[tuple]]]:
    """A demo district on a SQLite file, with a photo, a fee schedule, campus times and sync events; its backup
    and what it held."""
    folder = tmp_path_factory.mktemp("backup")
    source = _app(f"sqlite:///{folder / 'source.sqlite3'}")
    runner = source.test_cli_runner()
    assert runner.invoke(args=["seed-demo", "--assets", "60", "--seed", "3"]).exit_code == 0
    with source.app_context():
        tech = db.session.scalar(sa.select(User).where(User.role == Role.tech))
        asset = db.session.scalar(sa.select(Asset).where(Asset.campus_id.in_(tech.campus_ids)).order_by(Asset.id))
        photo = CleanPhoto(content=bytes(range(256)) * 8, width=64, height=32)
        tickets.open_ticket(
            asset,
            category=TicketCategory.cracked_screen,
            description="Corner hit",
            by=tech,
            via=Via.web,
            photos=[photo],
        )
        db.session.add(FeeReason(position=1, reason="Cracked screen, large", amount=Decimal("42.50")))
        db.session.scalar(sa.select(Campus)).day_ends_at = time(14, 5)
        room = asset.home_room.code
        events = [
            {
                "id": "5f0c1f9e-4f43-4d5e-9a55-2a1c33f0a001",
                "type": "scan",
                "at": "2026-11-02T10:00:00Z",
                "data": {"tag": asset.asset_tag, "room": room, "condition": "damaged"},
            },
            {
                "id": "5f0c1f9e-4f43-4d5e-9a55-2a1c33f0a002",
                "type": "scan",
                "at": "2026-11-02T10:01:00Z",
                "data": {"tag": "NO-SUCH-TAG", "room": room},
            },
            {
                "id": "5f0c1f9e-4f43-4d5e-9a55-2a1c33f0a003",
                "type": "scan",
                "at": "2026-11-02T10:02:00Z",
                "data": {"tag": asset.asset_tag, "room": "NOWHERE"},
            },
        ]
        answers = sync.apply_batch(events, user=tech, client_id="phone")
        assert [a.status for a in answers] == ["applied", "applied", "rejected"]
        db.session.commit()
    path = folder / "district.rollcall.gz"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output and not (folder / "district.rollcall.gz.partial").exists()
    held = _contents(source)
    with source.app_context():
        db.engine.dispose()
    assert held["ticket_photos"] and held["fee_reasons"] and held["sync_events"] and held["observations"]
    return path, held


def test_a_backup_restores_every_record_into_an_empty_database(tmp_path, district_backup):
    path, held = district_backup
    with fresh_database(tmp_path, "restored") as url:
        target = _app(url)
        runner = target.test_cli_runner()
        result = runner.invoke(args=["restore", str(path)])
        assert result.exit_code == 0, result.output
        assert _contents(target) == held
        with target.app_context():
            # The search index follows the restored devices, and new records get fresh ids after the restored ones.
            admin = db.session.scalar(sa.select(User).where(User.role == Role.admin, ~User.campuses.any()))
            serial = held["assets"][7][2]
            found = db.session.scalars(search_assets(admin, AssetFilters(q=serial.lower()))).all()
            assert [a.serial for a in found] == [serial]
            campus = Campus(code="NEW", name="New campus")
            db.session.add(campus)
            db.session.flush()
            assert campus.id == max(row[0] for row in held["campuses"]) + 1
            db.session.rollback()

        # A database that holds data is left alone, unless told to replace it.
        refused = runner.invoke(args=["restore", str(path)])
        assert refused.exit_code == 1 and "already holds data" in refused.output
        again = runner.invoke(args=["restore", "--replace", str(path)])
        assert again.exit_code == 0, again.output
        assert _contents(target) == held
        # And back: this database's own backup (PostgreSQL's, in that run) restores to the same records.
        second = tmp_path / "second.rollcall.gz"
        assert runner.invoke(args=["backup", str(second)]).exit_code == 0
        assert runner.invoke(args=["restore", "--replace", str(second)]).exit_code == 0
        assert _contents(target) == held
        with target.app_context():
            db.engine.dispose()


def _rewrite(source: Path, target: Path, change) -> Path:
    with gzip.open(source, "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()
    with gzip.open(target, "wt", encoding="utf-8") as f:
        f.write("\n".join(change(lines)) + "\n")
    return target


def _older(lines: list[str]) -> list[str]:
    header = json.loads(lines[0])
    header["revision"] = "0007"
    return [json.dumps(header), *lines[1:]]


@pytest.mark.parametrize(
    "damage,message",
    [
        (lambda lines: lines[:-1], "ends early"),  # cut off before the trailer
        (lambda lines: [ln for ln in lines if "Corner hit" not in ln], "rows could not be stored"),
        (lambda lines: [*lines[:-1], lines[-1].replace('"fee_reasons": 1', '"fee_reasons": 2')], "do not add up"),
        (_older, "schema revision 0007"),
        (lambda lines: [lines[0], *lines[1:40], "{not json", *lines[40:]], "Line 41 of the backup is damaged"),
        (lambda lines: ['{"format": "other"}', *lines[1:]], "not a Rollcall backup"),
        (lambda lines: [lines[0], *lines[1:40], "42", *lines[40:]], "not rows or tables"),
    ],
)
def test_a_damaged_or_mismatched_backup_changes_nothing(tmp_path, district_backup, damage, message):
    path, _held = district_backup
    bad = _rewrite(path, tmp_path / "bad.gz", damage)
    with fresh_database(tmp_path, "damaged") as url:
        target = _app(url)
        result = target.test_cli_runner().invoke(args=["restore", str(bad)])
        assert result.exit_code == 1 and message in result.output, result.output
        assert not any(_contents(target).values())
        not_gzip = tmp_path / "plain.txt"
        not_gzip.write_text("hello")
        result = target.test_cli_runner().invoke(args=["restore", str(not_gzip)])
        assert result.exit_code == 1 and "not a complete Rollcall backup" in result.output
        with target.app_context():
            db.engine.dispose()


def test_backup_times_keep_their_zone(district_backup):
    path, held = district_backup
    with gzip.open(path, "rt", encoding="utf-8") as f:
        header = json.loads(f.readline())
    assert header["format"] == "rollcall-backup" and header["revision"]
    assert datetime.fromisoformat(header["created_at"]).tzinfo == UTC


def test_a_backup_reads_one_snapshot_and_keeps_no_writer_waiting(tmp_path):
    from app.services.backup import snapshot

    with fresh_database(tmp_path, "live") as url:
        app = _app(url)
        count = sa.select(sa.func.count()).select_from(Campus)
        with app.app_context():
            db.session.add(Campus(code="LHS", name="Lincoln High"))
            db.session.commit()
            with snapshot() as reader:
                assert reader.scalar(count) == 1
                # A write lock held by the reader would keep this commit waiting, then fail it.
                db.session.add(Campus(code="JMS", name="Jefferson Middle"))
                db.session.commit()
                assert reader.scalar(count) == 1  # still the database as it was when the backup began
            assert db.session.scalar(count) == 2
            db.session.remove()
            db.engine.dispose()
