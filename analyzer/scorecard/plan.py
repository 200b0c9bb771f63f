"""Which report files a season's scorecards make, and writing them to a folder.

One leaderboard plus a page per company for html with no company named; an evidence pack
per company for pack; otherwise one file (one company's page or pack, or the csv, xlsx or
json of the scorecards asked for). The scorecards are built once for all files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from analyzer.scorecard.render import file_name, render_cards, scorecards_for
from analyzer.scorecard.scores import Scorecard
from analyzer.scorecard.seasons import get_season


@dataclass
class ReportFile:
    """One file to write: where, and the scorecards it shows (company None: all of them)."""

    path: Path
    cards: list[Scorecard]
    company: str | None


@dataclass
class ReportPlan:
    season: str  # the season's normalised name
    season_row: dict | None  # its cut-off dates; None when none is recorded
    fmt: str
    files: list[ReportFile]
    drafts: bool = False  # evidence packs show machine drafts too (marked as such)


def plan_files(
    cards: list[Scorecard],
    season: str,
    company: str | None,
    fmt: str,
    out_dir: str | Path,
    drafts: bool = False,
) -> list[ReportFile]:
    """The files for built scorecards; ``company`` is the resolved company or None."""
    out_dir = Path(out_dir)
    groups: list[tuple[list[Scorecard], str | None]] = []
    if fmt in ("html", "pack") and company is None:
        groups += [([card], card.company) for card in cards]
        if fmt == "html":
            groups.insert(0, (cards, None))
    else:
        groups.append((cards, company))
    return [
        ReportFile(out_dir / file_name(season, who, fmt, drafts), group, who)
        for group, who in groups
    ]


def plan_reports(
    db: Database,
    season: str,
    company: str | None,
    fmt: str,
    out_dir: str | Path,
    drafts: bool = False,
) -> ReportPlan:
    """Build the season's scorecards and plan their files; raises ReportError when empty."""
    name, resolved, cards = scorecards_for(db, season, company)
    return ReportPlan(
        name,
        get_season(db, name),
        fmt,
        plan_files(cards, name, resolved, fmt, out_dir, drafts),
        drafts,
    )


def write_file(plan: ReportPlan, item: ReportFile) -> Path:
    """Render one planned file and write it (creating its folder); returns its path."""
    item.path.parent.mkdir(parents=True, exist_ok=True)
    item.path.write_bytes(
        render_cards(
            item.cards, plan.season, item.company, plan.fmt, plan.season_row, None, plan.drafts
        )
    )
    return item.path
