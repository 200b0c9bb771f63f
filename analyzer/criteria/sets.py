"""Criteria sets: what the analysts score, loaded from YAML files under labels/criteria/.

A set's version is a hash of its content, so every candidate and score records exactly
which wording of the criteria it was made against; editing a query gives a new version.
The optional ``scoring`` section (and a criterion's ``points`` and ``weight``) says how
levels become points and how points are weighed. It has its own version, so re-weighting
a section never orphans the candidates and trained models made for the same wording.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CRITERIA_DIR = REPO_ROOT / "labels" / "criteria"
DEFAULT_SET = "ltc"
DEFAULT_POINTS = {0: 0.0, 1: 1.0, 2: 2.0}  # met not at all, partly, fully
SCORING_KEYS = ("points", "weight")  # a criterion's scoring keys, outside its version


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
    points: dict[int, float] = field(default_factory=lambda: dict(DEFAULT_POINTS))
    weight: float = 1.0


@dataclass(frozen=True)
class Scoring:
    """Section names and weights; a criterion's own points and weight sit on the criterion."""

    section_names: dict[str, str] = field(default_factory=dict)
    section_weights: dict[str, float] = field(default_factory=dict)
    subsection_weights: dict[str, float] = field(default_factory=dict)  # "A/Steel" -> 2.0
    version: str = ""  # hash of the scoring rules alone

    def weight_of(self, criterion: Criterion) -> float:
        """The criterion's weight times its subsection's and its section's."""
        key = f"{criterion.section}/{criterion.subsection}"
        return (
            criterion.weight
            * self.subsection_weights.get(key, 1.0)
            * self.section_weights.get(criterion.section, 1.0)
        )


@dataclass(frozen=True)
class CriteriaSet:
    name: str
    title: str
    version: str
    criteria: tuple[Criterion, ...]
    source: str
    scoring: Scoring = field(default_factory=Scoring)

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
    scoring_data = data.get("scoring") or {}
    if not isinstance(scoring_data, dict):
        raise CriteriaError(f"{path}: 'scoring' must be a mapping")
    default_points = _points(path, "scoring.points", scoring_data.get("points", DEFAULT_POINTS))
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
                points=_points(path, f"{item['id']}.points", item.get("points", default_points)),
                weight=_weight(path, f"{item['id']}.weight", item.get("weight", 1)),
            )
        )
    scoring = _scoring(path, scoring_data, criteria)
    wording = {k: v for k, v in data.items() if k != "scoring"}
    wording["criteria"] = [
        {k: v for k, v in item.items() if k not in SCORING_KEYS} for item in data["criteria"]
    ]
    version = _hash(wording)
    rules = {
        "scoring": scoring_data,
        "criteria": {item["id"]: {k: item[k] for k in SCORING_KEYS if k in item}
                     for item in data["criteria"]},
    }  # fmt: skip
    scoring = replace(scoring, version=_hash(rules))
    return CriteriaSet(
        name=str(data.get("name") or path.stem),
        title=str(data.get("title") or path.stem),
        version=version,
        criteria=tuple(criteria),
        source=str(path),
        scoring=scoring,
    )


def _hash(data: object) -> str:
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def _points(path: Path, where: str, value: object) -> dict[int, float]:
    """A level -> points map for levels 0, 1 and 2, never falling as the level rises."""
    if not isinstance(value, dict):
        raise CriteriaError(f"{path}: {where} must map levels 0, 1, 2 to points")
    try:
        points = {int(k): float(v) for k, v in value.items()}
    except (TypeError, ValueError):
        raise CriteriaError(f"{path}: {where} must map levels 0, 1, 2 to numbers") from None
    if set(points) != {0, 1, 2}:
        raise CriteriaError(f"{path}: {where} must give points for exactly levels 0, 1 and 2")
    if not points[0] <= points[1] <= points[2] or points[2] <= 0:
        raise CriteriaError(f"{path}: {where} must rise with the level and top out above 0")
    return points


def _weight(path: Path, where: str, value: object) -> float:
    try:
        weight = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CriteriaError(f"{path}: {where} must be a number") from None
    if weight < 0:
        raise CriteriaError(f"{path}: {where} must not be negative")
    return weight


def _scoring(path: Path, data: dict, criteria: list[Criterion]) -> Scoring:
    sections = data.get("sections") or {}
    if not isinstance(sections, dict):
        raise CriteriaError(f"{path}: scoring.sections must be a mapping")
    names, weights = {}, {}
    for key, spec in sections.items():
        spec = spec if isinstance(spec, dict) else {"name": spec}
        names[str(key)] = str(spec.get("name") or key)
        weights[str(key)] = _weight(path, f"scoring.sections.{key}.weight", spec.get("weight", 1))
    known = {c.section for c in criteria}
    if sections and known - set(names):
        missing = ", ".join(sorted(known - set(names)))
        raise CriteriaError(f"{path}: scoring.sections lacks section(s) {missing}")
    subsections = data.get("subsection_weights") or {}
    if not isinstance(subsections, dict):
        raise CriteriaError(f"{path}: scoring.subsection_weights must be a mapping")
    pairs = {f"{c.section}/{c.subsection}" for c in criteria}
    sub_weights = {}
    for key, value in subsections.items():
        if key not in pairs:
            raise CriteriaError(
                f"{path}: scoring.subsection_weights: no subsection {key!r} "
                "(write it as section/subsection, e.g. A/Steel)"
            )
        sub_weights[str(key)] = _weight(path, f"scoring.subsection_weights.{key}", value)
    return Scoring(names, weights, sub_weights)
