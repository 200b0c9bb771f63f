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
