"""The `analyzer` command, run in-process (Typer's CliRunner) on real files and databases.

``invoke`` (conftest) runs a command in this process; an exception that escapes a command
fails the test: a user would have seen a traceback.
The few end-to-end runs through the installed entry point are in test_cli_entry_point.py.
"""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from tests import pdf_factory
from tests.conftest import invoke


@pytest.fixture(scope="module")
def analysed(tmp_path_factory, sample_pdf):
    """A database holding the sample report, analysed through the CLI."""
    db = tmp_path_factory.mktemp("cli") / "cli.db"
    proc = invoke(
        "analyze", str(sample_pdf), "--company", "Northwind Motors", "--year", "2025",
        "--type", "sustainability", db=db,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Analysed 1 report(s)" in proc.stdout
    return db, sample_pdf


@pytest.mark.slow
def test_documents_json(analysed):
    db, sample = analysed
    proc = invoke("documents", "--format", "json", db=db)
    assert proc.returncode == 0, proc.stderr
    (doc,) = json.loads(proc.stdout)
    assert doc["file_name"] == sample.name
    assert doc["company"] == "Northwind Motors" and doc["fiscal_year"] == "2025"
    assert doc["pages"] == 32 and doc["flags"] == {}
    assert len(doc["sha256"]) == 64 and doc["doc_id"] == 1
    table = invoke("documents", db=db)
    assert (
        table.returncode == 0 and "Northwind" in table.stdout and doc["sha256"][:12] in table.stdout
    )


@pytest.mark.slow
def test_candidates_json_by_path_and_by_id(analysed):
    db, sample = analysed
    by_path = json.loads(invoke("candidates", str(sample), "--format", "json", db=db).stdout)
    by_id = json.loads(invoke("candidates", "1", "--format", "json", db=db).stdout)
    assert by_path == by_id
    assert len(by_id) == 200
    first = by_id[0]
    for key in (
        "doc_id",
        "passage_id",
        "text",
        "pdf_pages",
        "page_labels",
        "criterion",
        "rank",
        "score",
    ):
        assert key in first
    assert {c["criterion"] for c in by_id} >= {"FF-ST-01", "HR-IP-01"}
    assert all(c["level"] in (0, 1, 2) and isinstance(c["cues"], dict) for c in by_id)
    assert {c["level"] for c in by_id} >= {1, 2}, "the sample has both commitments and results"


@pytest.mark.slow
def test_candidates_for_one_criterion_cite_printed_and_pdf_page(analysed):
    db, _ = analysed
    proc = invoke("candidates", "1", "--criterion", "FF-ST-01", "--format", "json", db=db)
    rows = json.loads(proc.stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    top = rows[0]
    assert "steel" in top["text"].lower()
    page, label = top["quote_pdf_page"], top["quote_page_label"]
    assert label == str(page + 1)
    assert top["citation"] == f"p. {label} (PDF p. {page})"
    table = invoke("candidates", "1", "--criterion", "FF-ST-01", db=db)
    assert table.returncode == 0 and "(PDF p." in table.stdout
    best = json.loads(invoke("candidates", "1", "--top", "1", "-f", "json", db=db).stdout)
    assert len(best) == 40 and {r["rank"] for r in best} == {1}
    by_score = json.loads(invoke("candidates", "1", "--order", "score", "-f", "json", db=db).stdout)
    scores = [r["score"] for r in by_score]
    assert len(by_score) == 200 and scores == sorted(scores, reverse=True)
    informative = invoke("candidates", "1", "--order", "informative", "-f", "json", db=db)
    assert informative.returncode == 0, informative.stderr
    rows = json.loads(informative.stdout)
    assert sorted(r["candidate_id"] for r in rows) == sorted(r["candidate_id"] for r in by_score)
    assert {"probability", "level", "scorer", "criterion_verdict", "cues"} <= set(rows[0])
    proc = invoke("candidates", "1", "--top", "0", db=db)
    assert proc.returncode == 1 and "--top must be at least 1" in proc.stderr


@pytest.mark.slow
def test_candidates_csv(analysed):
    db, _ = analysed
    proc = invoke("candidates", "1", "--criterion", "HR-IP-01", "--format", "csv", db=db)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 5 and rows[0]["criterion"] == "HR-IP-01"
    assert rows[0]["quote"] and rows[0]["citation"].startswith("p. ")
    assert rows[0]["criterion_verdict"]


@pytest.mark.slow
def test_passages_jsonl(analysed):
    db, _ = analysed
    proc = invoke("passages", "1", "--format", "jsonl", db=db)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) > 50
    for p in lines:
        assert p["doc_id"] == 1 and p["text"]
        assert len(p["pdf_pages"]) == len(p["page_labels"]) >= 1
    assert any(len(p["pdf_pages"]) == 2 for p in lines), "a passage crosses a page break"
    text = invoke("passages", "1", db=db)
    assert text.returncode == 0 and f"#{lines[0]['passage_id']} " in text.stdout


@pytest.mark.slow
def test_search_ranks_by_meaning(analysed):
    db, _ = analysed
    proc = invoke("search", "contract to buy steel made without fossil fuels", "--limit", "3",
                  "--format", "json", db=db)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert len(hits) == 3 and hits[0]["score"] >= hits[-1]["score"]
    assert "steel" in hits[0]["text"].lower()
    for args, message in [
        (("search", "  "), "the search text is empty"),
        (("search", "steel", "--limit", "0"), "--limit must be at least 1"),
    ]:
        proc = invoke(*args, db=db)
        assert proc.returncode == 1 and message in proc.stderr


@pytest.mark.slow
def test_unknown_document_and_criterion_are_clear_errors(analysed):
    db, _ = analysed
    proc = invoke("candidates", "99", db=db)
    assert proc.returncode == 1 and "99: no such document" in proc.stderr
    proc = invoke("candidates", "1", "--criterion", "XX-99", db=db)
    assert proc.returncode == 1 and "XX-99" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = invoke("passages", "99", db=db)
    assert proc.returncode == 1 and "99: no such document" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "maker, reason",
    [
        (pdf_factory.not_a_pdf, "not a PDF"),
        (pdf_factory.empty_pdf, "empty file"),
        (pdf_factory.truncated_pdf, "damaged or truncated PDF"),
        (pdf_factory.encrypted_pdf, "encrypted PDF"),
    ],
)
def test_bad_input_one_line_nonzero_exit_nothing_lost(analysed, tmp_path, maker, reason):
    db, _ = analysed
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    before = json.loads(invoke("documents", "--format", "json", db=copy).stdout)
    bad = tmp_path / "bad-report.pdf"
    maker(bad)
    proc = invoke("analyze", str(bad), db=copy)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad}: {reason}")
    assert "Traceback" not in proc.stderr + proc.stdout
    assert json.loads(invoke("documents", "--format", "json", db=copy).stdout) == before
    assert len(json.loads(invoke("candidates", "1", "--format", "json", db=copy).stdout)) == 200


def test_missing_path(tmp_path):
    proc = invoke("analyze", str(tmp_path / "nowhere.pdf"), db=tmp_path / "x.db")
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {tmp_path / 'nowhere.pdf'}: no such file or folder"


def test_analyze_settings_are_checked_before_anything_is_loaded(tmp_path):
    path = tmp_path / "report.pdf"
    pdf_factory.folio_pdf(path)
    db = tmp_path / "x.db"
    proc = invoke("analyze", str(path), "--top-k", "0", db=db)
    assert proc.returncode == 1 and "need --top-k >= 1" in proc.stderr
    proc = invoke("analyze", str(path), "--classifier", str(tmp_path), db=db)
    assert proc.returncode == 1 and "not a trained model folder (no card.json)" in proc.stderr
    assert not db.exists()


@pytest.mark.slow
def test_folder_with_a_bad_file_completes_the_rest(tmp_path):
    folder = tmp_path / "season"
    pdf_factory.folio_pdf(folder / "acme-2024.pdf")
    pdf_factory.truncated_pdf(folder / "broken.pdf")
    pdf_factory.labelled_pdf(folder / "labels.pdf")
    db = tmp_path / "season.db"
    proc = invoke("analyze", str(folder), db=db)
    assert proc.returncode == 1
    assert "broken.pdf: damaged or truncated PDF" in proc.stderr
    assert "Analysed 2 report(s)" in proc.stdout and "1 failed" in proc.stdout
    docs = json.loads(invoke("documents", "--format", "json", db=db).stdout)
    assert sorted(d["file_name"] for d in docs) == ["acme-2024.pdf", "labels.pdf"]


@pytest.mark.slow
def test_db_flag_and_env_var_pick_the_file(tmp_path):
    path = tmp_path / "report.pdf"
    pdf_factory.folio_pdf(path)
    flag_db = tmp_path / "flag.db"
    proc = invoke("analyze", str(path), "--db", str(flag_db), db=tmp_path / "env.db")
    assert proc.returncode == 0, proc.stderr
    assert flag_db.exists()
    assert json.loads(invoke("documents", "-f", "json", db=flag_db).stdout)
    # The env var's file was never created: a read-only command says so instead of making it.
    proc = invoke("documents", "-f", "json", db=tmp_path / "env.db")
    assert proc.returncode == 1 and "no such database" in proc.stderr
    assert not (tmp_path / "env.db").exists()


def test_not_a_database_is_refused(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello")
    proc = invoke("documents", db=bogus)
    assert proc.returncode == 1 and "not an SQLite database" in proc.stderr
    assert bogus.read_text() == "hello"


def test_criteria_set_is_listed_with_its_version():
    proc = invoke("criteria", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["name"] == "ltc" and len(data["version"]) == 12
    assert len(data["criteria"]) == 40
    assert all(c["queries"] and c["levels"] for c in data["criteria"])
    table = invoke("criteria")
    assert table.returncode == 0 and data["version"] in table.stdout
    bad = invoke("criteria", "--criteria", "nope.yaml")
    assert bad.returncode == 1 and "nope.yaml: criteria file not found" in bad.stderr


def test_sample_writes_the_report_and_refuses_a_file(tmp_path):
    proc = invoke("sample", str(tmp_path / "corpus"))
    assert proc.returncode == 0 and "wrote" in proc.stdout
    (pdf,) = (tmp_path / "corpus").glob("*.pdf")
    proc = invoke("sample", str(pdf))
    assert proc.returncode == 1 and "not a folder" in proc.stderr


def test_error_text_is_printed_as_it_is_not_as_markup(tmp_path):
    odd = tmp_path / "[red]report[/red].pdf"
    proc = invoke("analyze", str(odd), db=tmp_path / "x.db")
    assert proc.returncode == 1 and f"error: {odd}: no such file or folder" in proc.stderr


def test_decisions_and_exports_need_an_existing_database(tmp_path):
    missing = tmp_path / "none.db"
    for args in (
        ("decide", "1", "accept", "--by", "ana"),
        ("export-labels", str(tmp_path / "labels.jsonl")),
        ("export-evidence", "1"),
        ("undo", "1", "--by", "ana"),
    ):
        proc = invoke(*args, db=missing)
        assert proc.returncode == 1 and "no such database" in proc.stderr, args
    assert not missing.exists()


def test_export_evidence_wants_a_document_or_a_company(tmp_path):
    proc = invoke("export-evidence", db=tmp_path / "x.db")
    assert proc.returncode == 1 and "give either a document or --company" in proc.stderr
    proc = invoke("export-evidence", "1", "--company", "Acme", db=tmp_path / "x.db")
    assert proc.returncode == 1 and "give either a document or --company" in proc.stderr


def test_export_labels_into_a_folder_is_a_clear_error(tmp_path):
    db = tmp_path / "x.db"
    invoke("season", "add", "2025", "--cutoff", "2025-07-01", db=db)  # creates the database
    proc = invoke("export-labels", str(tmp_path), db=db)
    assert proc.returncode == 1 and "is a folder" in proc.stderr
    proc = invoke("export-labels", str(tmp_path / "out" / "labels.jsonl"), db=db)
    assert proc.returncode == 0 and "wrote 0 label(s)" in proc.stdout


def test_train_and_evaluate_refuse_bad_input_in_one_line(tmp_path):
    proc = invoke("train", "--csv", str(tmp_path / "none.csv"), "--text-column", "t",
                  "--group-column", "g", "--out", str(tmp_path / "m"))  # fmt: skip
    assert proc.returncode == 1 and "none.csv: no such file" in proc.stderr
    sheet = tmp_path / "s.csv"
    sheet.write_text("t,g,a\nx,1,0\n")
    proc = invoke("train", "--csv", str(sheet))
    assert proc.returncode == 1
    assert "training on a CSV needs --text-column, --group-column, --out" in proc.stderr
    proc = invoke("evaluate", "--csv", str(sheet), "--model", str(tmp_path))
    assert proc.returncode == 1 and "not a model folder (no card.json)" in proc.stderr
    proc = invoke("train", "--labels", str(tmp_path / "nope.jsonl"), "--no-evaluate",
                  cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr == f"error: {tmp_path / 'nope.jsonl'}: no such label file\n"
