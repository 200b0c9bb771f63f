"""Criteria sets: what the analysts score, loaded from YAML files under labels/criteria/.

A set's version is a hash of its content, so every candidate and score records exactly
which wording of the criteria it was made against; editing a query gives a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CRITERIA_DIR = REPO_ROOT / "labels" / "criteria"
DEFAULT_SET = "ltc"


class CriteriaError(Exception):
    """A criteria file is missing or malformed; the message says where."""


@dataclass(frozen=True)
class Criterion:
    id: str
    name: str
    section: str
    subsection: str
    definition: str
    queries: tuple[str, ...]
    examples: tuple[str, ...] = ()
    lookalikes: tuple[str, ...] = ()
    levels: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CriteriaSet:
    name: str
    title: str
    version: str
    criteria: tuple[Criterion, ...]
    source: str

    def get(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id.lower() == criterion_id.lower():
                return criterion
        raise KeyError(criterion_id)


def criteria_path(name_or_path: str | Path | None = None) -> Path:
    """Resolve a set name ("ltc") or a file path to the YAML file."""
    if name_or_path is None:
        name_or_path = DEFAULT_SET
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return path
    return CRITERIA_DIR / f"{name_or_path}.yaml"


def load_criteria(name_or_path: str | Path | None = None) -> CriteriaSet:
    """Load and check a criteria set; raises CriteriaError with a clear reason."""
    path = criteria_path(name_or_path)
    if not path.exists():
        raise CriteriaError(f"{path}: criteria file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CriteriaError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("criteria"), list):
        raise CriteriaError(f"{path}: expected a mapping with a 'criteria' list")
    criteria = []
    seen: set[str] = set()
    for i, item in enumerate(data["criteria"]):
        missing = [k for k in ("id", "name", "definition") if not item.get(k)]
        if missing:
            raise CriteriaError(f"{path}: criterion {i + 1} lacks {', '.join(missing)}")
        if item["id"] in seen:
            raise CriteriaError(f"{path}: criterion id {item['id']} appears twice")
        seen.add(item["id"])
        criteria.append(
            Criterion(
                id=str(item["id"]),
                name=str(item["name"]).strip(),
                section=str(item.get("section", "")),
                subsection=str(item.get("subsection", "")),
                definition=" ".join(str(item["definition"]).split()),
                queries=tuple(str(q) for q in item.get("queries") or [item["name"]]),
                examples=tuple(str(q) for q in item.get("examples") or []),
                lookalikes=tuple(str(q) for q in item.get("lookalikes") or []),
                levels={int(k): str(v) for k, v in (item.get("levels") or {}).items()},
            )
        )
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    version = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
    return CriteriaSet(
        name=str(data.get("name") or path.stem),
        title=str(data.get("title") or path.stem),
        version=version,
        criteria=tuple(criteria),
        source=str(path),
    )
