"""Schema of the analyzer database, created and upgraded by sqlite-utils migrations.

Never edit a migration that has shipped; add a new one below it, numbered one higher:
they are applied in the order they are declared, which must be the order of their numbers
(a test checks this, and that a fresh database equals one upgraded step by step).
"""

from __future__ import annotations

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from analyzer.candidates.quotes import line_boxes_of, locate_quote
from analyzer.db.fts import create_passage_fts, rebuild_passage_fts

migrations = Migrations("analyzer")


@migrations()
def m001_initial(db: Database) -> None:
    db.table("documents").create(
        {
            "id": int,
            "sha256": str,
            "file_name": str,
            "path": str,
            "company": str,
            "fiscal_year": str,
            "report_type": str,
            "page_count": int,
            "flags": str,  # JSON: {"no_text": [5, 6], ...}
            "parser_version": str,
            "passage_size": int,  # settings the stored passages were cut with
            "passage_overlap": int,
            "previous_version_id": int,  # an earlier document with the same file name
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"sha256", "file_name", "page_count"},
        foreign_keys=[("previous_version_id", "documents", "id")],
    )
    db.table("documents").create_index(["sha256"], unique=True)
    db.table("documents").create_index(["file_name"])

    db.table("pages").create(
        {
            "document_id": int,
            "pdf_page": int,
            "label": str,
            "width": float,
            "height": float,
            "text": str,
            "lines": str,  # JSON list of [start, end, x0, top, x1, bottom] in reading order
            "flags": str,  # JSON list
            "label_regions": str,  # JSON list of [label, x0, x1] for spreads
        },
        pk=("document_id", "pdf_page"),
        foreign_keys=[("document_id", "documents", "id")],
    )

    db.table("passages").create(
        {
            "id": int,
            "document_id": int,
            "seq": int,
            "text": str,
            "content_hash": str,
            "first_page": int,
            "last_page": int,
            "page_labels": str,  # JSON list, same order as the pages of `parts`
            "parts": str,  # JSON list of {pdf_page, label, start, end, boxes}
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db.table("passages").create_index(["document_id", "seq"], unique=True)
    db.table("passages").create_index(["content_hash"])

    db.table("embeddings").create(
        {"content_hash": str, "model": str, "dimension": int, "vector": bytes, "created_at": str},
        pk=("content_hash", "model"),
    )

    db.table("criteria_sets").create(
        {
            "version": str,
            "name": str,
            "title": str,
            "source": str,
            "content": str,  # JSON of the criteria as loaded
            "created_at": str,
        },
        pk="version",
    )

    db.table("runs").create(
        {
            "id": int,
            "document_id": int,
            "file": str,
            "command": str,
            "status": str,  # running, ok, failed
            "error": str,
            "settings": str,  # JSON: model, passage size, criteria version, top-k
            "stats": str,  # JSON: pages, passages, embedded, seconds per stage
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )

    db.table("candidates").create(
        {
            "id": int,
            "document_id": int,
            "run_id": int,
            "criteria_version": str,
            "criterion_id": str,
            "passage_id": int,
            "rank": int,
            "score": float,
            "scorer": str,
            "quote": str,
            "pdf_page": int,
            "page_label": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[
            ("document_id", "documents", "id"),
            ("run_id", "runs", "id"),
            ("criteria_version", "criteria_sets", "version"),
            ("passage_id", "passages", "id"),
        ],
    )
    db.table("candidates").create_index(
        ["document_id", "criteria_version", "criterion_id", "rank"], unique=True
    )


@migrations()
def m002_decisions(db: Database) -> None:
    """Reviewer decisions on candidates: who decided what, when, under which criteria."""
    db.table("decisions").create(
        {
            "id": int,
            # Candidates and passages are rebuilt when a report is re-analysed, so a decision
            # keeps its own copy of what it was about (no foreign keys to them).
            "candidate_id": int,  # null when a reviewer adds a passage the model missed
            "document_id": int,
            "passage_id": int,
            "passage_hash": str,
            "passage_text": str,
            "pdf_page": int,
            "page_label": str,
            "criterion_id": str,  # the criterion the decision is about (after any correction)
            "criteria_version": str,
            "action": str,  # accept, reject, correct
            "level": int,  # the level the reviewer set, where known
            "original_criterion_id": str,  # set when the reviewer moved it to another criterion
            "quote": str,  # the exact supporting sentence, where the reviewer edited it
            "comment": str,
            "reviewer": str,
            "created_at": str,
        },
        pk="id",
        not_null={"document_id", "passage_id", "criterion_id", "action", "reviewer"},
        foreign_keys=[("document_id", "documents", "id")],
    )
    db.table("decisions").create_index(["document_id", "criterion_id"])


@migrations()
def m003_candidate_probability(db: Database) -> None:
    """Trained classifiers give each candidate a calibrated probability and a verdict."""
    db.table("candidates").add_column("probability", float)  # null when no trained model scored it
    db.table("candidates").add_column("threshold", float)  # the model's evidence threshold
    db.table("candidates").add_column("level", int)  # suggested level 0/1/2 (decision rules)
    db.table("candidates").add_column("level_reason", str)
    db.table("candidates").add_column("cues", str)  # JSON list of the cue words behind the level


@migrations()
def m004_accounts_and_review(db: Database) -> None:
    """Accounts, settings, uploads and the review audit trail (undo, before-state, adjudication)."""
    db.table("users").create(
        {
            "id": int,
            "username": str,
            "password_hash": str,  # argon2
            "role": str,  # analyst, reviewer, admin
            "created_at": str,
            "disabled": int,  # 1 = may not log in; users are never deleted
        },
        pk="id",
        not_null={"username", "password_hash", "role"},
    )
    db.table("users").create_index(["username"], unique=True)
    # Key-value settings: the session secret, four-eyes per criteria version ("four_eyes:<v>").
    db.table("settings").create({"key": str, "value": str, "updated_at": str}, pk="key")
    db.table("uploads").create(
        {
            "id": int,
            "sha256": str,  # also the stored file's name: the client's name is never a path
            "file_name": str,  # the client's name, for display only
            "stored_path": str,
            "size": int,
            "company": str,
            "fiscal_year": str,
            "report_type": str,
            "status": str,  # queued, running, done, failed
            "stage": str,
            "done": int,
            "total": int,
            "pages": int,
            "passages": int,
            "embedded": int,
            "candidates": int,
            "document_id": int,
            "error": str,
            "uploaded_by": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
    )
    db.table("uploads").create_index(["sha256"])
    # undo is a new row pointing at the decision it reverts; `previous_state` is the candidate's
    # state (criterion, level, quote) just before the decision; adjudication settles a dispute.
    db.table("decisions").add_column("reverts_id", int)
    db.table("decisions").add_column("previous_state", str)
    db.table("decisions").add_column("adjudication", int)
    db.table("decisions").create_index(["candidate_id"])
    db.table("decisions").create_index(["passage_hash"])


@migrations()
def m005_seasons_and_eligibility(db: Database) -> None:
    """Scorecards count evidence per season, only from documents eligible for it."""
    db.table("documents").add_column("publication_date", str)  # ISO date; null when not recorded
    db.table("documents").add_column("subsidiary_only", int)  # 1: about a subsidiary, not the group
    db.table("documents").add_column("season", str)  # the season it counts for; null: fiscal year
    db.table("seasons").create(
        {
            "season": str,
            "cutoff": str,  # ISO date: documents published later count next season
            "window_start": str,  # ISO date: documents published earlier are too old
            "note": str,
            "created_at": str,
        },
        pk="season",
    )


@migrations()
def m006_quote_provenance(db: Database) -> None:
    """A quote's provenance is stored when it is written, never re-derived when it is read:
    its character span in the passage and on its page, and the boxes of the lines it is
    printed on. Rows stored before this migration get theirs here, once."""
    for table in ("candidates", "decisions"):
        for column in ("quote_start", "quote_end", "quote_page_start", "quote_page_end"):
            db.table(table).add_column(column, int)
        db.table(table).add_column("quote_boxes", str)  # JSON list of [x0, top, x1, bottom]
    _backfill_quote_provenance(db)


def _backfill_quote_provenance(db: Database) -> None:
    lines: dict[tuple[int, int], list] = {}
    sql = {
        "candidates": "select t.id, t.quote, p.text, p.parts, t.document_id from candidates t "
        "join passages p on p.id = t.passage_id",
        "decisions": "select t.id, t.quote, t.passage_text, p.parts, t.document_id "
        "from decisions t left join passages p on p.id = t.passage_id",
    }
    for table, query in sql.items():
        for row_id, quote, text, parts, doc_id in db.execute(query).fetchall():
            if not quote or not text or not parts:
                continue
            found = locate_quote(text, json.loads(parts), quote)
            if found is None:
                continue
            if found.page_start is None or found.page_end is None:
                raise ValueError(f"locate_quote gave no page span for {table} row {row_id}")
            key = (doc_id, found.pdf_page)
            if key not in lines:
                page = db.execute(
                    "select lines from pages where document_id = ? and pdf_page = ?", list(key)
                ).fetchone()
                lines[key] = json.loads(page[0] or "[]") if page else []
            boxes = line_boxes_of(lines[key], found.page_start, found.page_end)
            db.table(table).update(
                row_id,
                {
                    "quote_start": found.start,
                    "quote_end": found.end,
                    "quote_page_start": found.page_start,
                    "quote_page_end": found.page_end,
                    "quote_boxes": json.dumps(boxes),
                },
            )


@migrations()
def m007_drafts(db: Database) -> None:
    """The pre-score's verdict and level for every criterion of a report (its draft)."""
    db.table("drafts").create(
        {
            "document_id": int,
            "criteria_version": str,
            "criterion_id": str,
            "run_id": int,
            "level": int,  # 0, 1, 2: the draft level; above 0 exactly when evidence was found
            "p_evidence": float,  # P(level >= 1)
            "p_full": float,  # P(level >= 2)
            "model": str,  # the pre-score model folder
            "created_at": str,
        },
        pk=("document_id", "criteria_version", "criterion_id"),
        foreign_keys=[("document_id", "documents", "id")],
    )


@migrations()
def m008_passage_fts(db: Database) -> None:
    """Keyword search (FTS5, BM25) beside the meaning search; passages stored before this
    migration are indexed here, from the database, without analysing anything again."""
    create_passage_fts(db)
    rebuild_passage_fts(db)


@migrations()
def m009_sessions_and_login_throttle(db: Database) -> None:
    """Server-side sessions (so logout, a password change, disabling or a role change ends
    them), failed-login counters that survive a restart, and the addresses each user logged
    in from (a throttled name still opens from one of them). The session-signing key moves
    to a 0600 file beside the database: a copy of the database no longer forges cookies."""
    db.table("sessions").create(
        {
            "id": str,  # sha256 of the random token in the cookie; the token itself is not stored
            "user_id": int,
            "created_at": str,
            "expires_at": float,  # epoch seconds
            "address": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
    )
    db.table("sessions").create_index(["user_id"])
    db.table("login_throttle").create(
        {
            "key": str,  # "user:<lower name>" or "addr:<client address>"
            "failures": int,
            "last_failure": float,  # epoch seconds
            "blocked_until": float,
        },
        pk="key",
    )
    db.table("login_addresses").create(
        {"user_id": int, "address": str, "last_login": float},
        pk=("user_id", "address"),
        foreign_keys=[("user_id", "users", "id")],
    )
    db.execute("delete from settings where key = 'secret_key'")


@migrations()
def m010_season_runs(db: Database) -> None:
    """A season's run: every report registered for it, and how its analysis went."""
    db.table("season_runs").create(
        {
            "season": str,
            "sha256": str,
            "file_name": str,
            "path": str,
            "company": str,
            "fiscal_year": str,
            "report_type": str,
            "status": str,  # pending, done, failed
            "document_id": int,
            "pages": int,
            "passages": int,
            "flags": str,  # JSON {"no_text": [5, 6], ...}
            "seconds": float,
            "error": str,
            "updated_at": str,
        },
        pk=("season", "sha256"),
    )


@migrations()
def m011_splitter_version(db: Database) -> None:
    """Which splitter cut a document's passages: a new one means the passages are re-cut
    (and re-embedded) on the next analysis instead of reused. Older rows stay NULL (v1)."""
    db.table("documents").add_column("splitter_version", str)


@migrations()
def m012_draft_reasons(db: Database) -> None:
    """One story per criterion: a draft keeps its reason in words ("level 2 (full: binding,
    dated), p. 47: '...'") and the candidates it rests on (a JSON list of passage ids)."""
    db.table("drafts").add_column("reason", str)
    db.table("drafts").add_column("evidence", str)


@migrations()
def m013_criterion_decisions(db: Database) -> None:
    """Review at the analyst's unit of work: the level of a criterion for a report, with the
    passages it rests on. Appended like the decisions table (undo is a row too), so four
    eyes, history and the gold export read the same rows."""
    db.table("criterion_decisions").create(
        {
            "id": int,
            "document_id": int,
            "criteria_version": str,
            "criterion_id": str,
            "action": str,  # accept (level above 0), reject (level 0), undo
            "level": int,
            "evidence": str,  # JSON [{passage_id, passage_hash, quote, pdf_page, page_label}]
            "draft_level": int,  # the machine's draft when the decision was taken
            "comment": str,
            "reviewer": str,
            "adjudication": int,
            "reverts_id": int,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
    )
    db.table("criterion_decisions").create_index(["document_id", "criterion_id"])
