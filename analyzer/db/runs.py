"""The runs table: one row per analysis of a file, with its settings and outcome."""

from __future__ import annotations

import json

from sqlite_utils import Database

from analyzer.db.connection import inserted_id, now


def start_run(db: Database, file: str, command: str, settings: dict) -> int:
    return inserted_id(
        db.table("runs").insert(
            {
                "file": file,
                "command": command,
                "status": "running",
                "settings": json.dumps(settings),
                "started_at": now(),
            }
        )
    )


def finish_run(
    db: Database,
    run_id: int,
    status: str,
    doc_id: int | None,
    stats: dict,
    error: str | None = None,
) -> None:
    db.table("runs").update(
        run_id,
        {
            "status": status,
            "document_id": doc_id,
            "stats": json.dumps(stats),
            "error": error,
            "finished_at": now(),
        },
    )
