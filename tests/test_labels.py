"""The shipped seed labels are well formed and refer to real criteria."""

from __future__ import annotations

import json

from analyzer.criteria.sets import REPO_ROOT, load_criteria

SEED = REPO_ROOT / "labels" / "ltc" / "seed.jsonl"


def load_seed() -> list[dict]:
    return [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line]


def test_seed_labels_are_well_formed():
    ids = {c.id for c in load_criteria("ltc").criteria}
    labels = load_seed()
    assert len(labels) >= 100
    for x in labels:
        assert x["criterion"] in ids
        assert x["label"] in ("evidence", "not_evidence")
        assert x["level"] in (0, 1, 2) and (x["label"] == "not_evidence") == (x["level"] == 0)
        assert 0 < len(x["text"]) <= 300, "quotes stay short: the reports are not ours"
        assert len(x["source"]["document_sha256"]) == 64 and x["source"]["pdf_page"] >= 1
        assert x["labelled_by"]
    positives = {x["criterion"] for x in labels if x["label"] == "evidence"}
    assert len(positives) >= 30


def test_repoint_labels_moves_stale_hashes_to_the_passage_holding_the_quote(
    db, db_path, embedder, sample_pdf, tmp_path
):
    from analyzer.pipeline import Analyzer, Settings
    from tests.conftest import invoke

    result = Analyzer(db, Settings(), embedder=embedder).analyze(sample_pdf)
    passages = list(db["passages"].rows_where("document_id = ?", [result.doc_id]))
    target = passages[3]
    sentence = target["text"].split(". ")[0].strip() + "."
    sha = db["documents"].get(result.doc_id)["sha256"]

    def label(text: str) -> str:
        source = {"document_sha256": sha, "pdf_page": target["first_page"],
                  "passage_content_hash": "stale"}  # fmt: skip
        record = {"criterion": "FF-ST-01", "label": "evidence", "level": 1, "text": text,
                  "source": source, "labelled_by": "test"}  # fmt: skip
        return json.dumps(record)

    path = tmp_path / "labels.jsonl"
    path.write_text(label(sentence) + "\n" + label("A quote that no report holds.") + "\n")
    outcome = invoke("repoint-labels", str(path), db=db_path)
    assert outcome.returncode == 0, outcome.stderr
    assert "1 label(s) moved" in outcome.stdout and "1 left without one" in outcome.stdout
    assert f"{path}:2" in outcome.stderr
    first, second = (json.loads(x) for x in path.read_text().splitlines())
    moved = first["source"]["passage_content_hash"]
    holder = next(p for p in passages if p["content_hash"] == moved)
    assert " ".join(sentence.split()) in " ".join(holder["text"].split())
    assert second["source"]["passage_content_hash"] is None

    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"criterion": "FF-ST-01"\n')
    outcome = invoke("repoint-labels", str(broken), db=db_path)
    assert outcome.returncode == 1 and "not JSON" in outcome.stderr
    assert broken.read_text() == '{"criterion": "FF-ST-01"\n', "a broken file is left as it was"
