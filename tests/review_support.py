"""Shared set-up for the review and web tests: one analysed database, copied per test.

Analysing even a small report costs seconds (the criteria are embedded into a fresh
database), so it is done once per session and each test gets its own copy of the file.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer
from tests.pdf_factory import folio_pdf

PASSWORD = "correct horse battery"
_template: dict[str, Path] = {}


def template_db(tmp_path_factory, embedder) -> Path:
    """A database holding one analysed 8-page report (company Acme, 2024)."""
    if "db" not in _template:
        folder = tmp_path_factory.mktemp("review-template")
        pdf = folio_pdf(folder / "acme-2024.pdf") and folder / "acme-2024.pdf"
        db = open_db(folder / "template.db")
        result = Analyzer(db, embedder=embedder).analyze(
            pdf, {"company": "Acme", "fiscal_year": "2024", "report_type": "sustainability"}
        )
        assert result.error is None and result.candidates
        db.close()
        _template.update(db=folder / "template.db", pdf=pdf)
    return _template["db"]


def template_pdf() -> Path:
    return _template["pdf"]


def copy_db(template: Path, folder: Path) -> Path:
    target = folder / "analyzer.db"
    shutil.copy(template, target)
    return target


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)
