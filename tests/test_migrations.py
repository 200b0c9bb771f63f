"""Migrations: numbered, declared in the order of their numbers, and a database upgraded
step by step from the first migration ends with the same schema as a fresh one."""

from __future__ import annotations

import re

from analyzer.db.connection import connect, open_db
from analyzer.db.migrations import migrations


def names() -> list[str]:
    return [m.name for m in migrations.pending(connect(":memory:"))]


def schema(db) -> list[tuple]:
    rows = db.execute(
        "select type, name, tbl_name, sql from sqlite_master "
        "where name not like 'sqlite_%' and name != '_sqlite_migrations' order by type, name"
    ).fetchall()
    columns = {
        table: db.execute(f"pragma table_info([{table}])").fetchall()
        for _, table, *_ in rows
        if _ == "table"
    }
    return [rows, sorted(columns.items())]


def test_migrations_are_numbered_and_declared_in_order():
    found = names()
    numbers = [int(re.match(r"m(\d{3})_", n).group(1)) for n in found]
    assert numbers == list(range(1, len(found) + 1)), found


def test_a_database_upgraded_step_by_step_equals_a_fresh_one(tmp_path):
    fresh = open_db(tmp_path / "fresh.db")
    stepped = connect(tmp_path / "stepped.db")
    order = names()
    for i in range(1, len(order) + 1):
        stop = order[i] if i < len(order) else None
        migrations.apply(stepped, stop_before=stop)
        applied = [m.name for m in migrations.applied(stepped)]
        assert applied == order[:i], "one more migration each step, in order"
    assert schema(stepped) == schema(fresh)
    again = open_db(tmp_path / "stepped.db")  # opening an up-to-date file changes nothing
    assert schema(again) == schema(fresh)
