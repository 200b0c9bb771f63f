"""Shared set-up for the search API and search browser tests: the bundled sample report,
analysed once per session (its pages hold several passages each, so a search finds pages
with more than one match), plus a reviewer account."""

from __future__ import annotations

from pathlib import Path

from analyzer import accounts
from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer
from tests.review_support import PASSWORD

_template: dict[str, Path] = {}

# A query whose top pages hold several matching passages in the sample report.
MULTI_MATCH_QUERY = "cobalt refiners audited"


def sample_search_db(tmp_path_factory, embedder, sample_pdf: Path) -> Path:
    """A database holding the analysed sample report (Northwind Motors, 2025) and the
    reviewer ``rev`` (password PASSWORD)."""
    if "db" not in _template:
        folder = tmp_path_factory.mktemp("search-template")
        db = open_db(folder / "template.db")
        result = Analyzer(db, embedder=embedder).analyze(
            sample_pdf,
            {"company": "Northwind Motors", "fiscal_year": "2025", "report_type": "sustainability"},
        )
        assert result.error is None and result.candidates
        accounts.add_user(db, "rev", PASSWORD, "reviewer")
        db.close()
        _template["db"] = folder / "template.db"
    return _template["db"]
