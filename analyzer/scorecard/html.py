"""HTML reports from Jinja2 templates: a company's scorecard, the leaderboard, the
evidence pack sent to a company for its right of reply. Print CSS makes each a clean PDF."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analyzer.db.connection import now
from analyzer.scorecard.charts import (
    bars_svg,
    heatmap_svg,
    ranked,
    subsection_bars_svg,
    unreviewed_drafts,
)
from analyzer.scorecard.pages import anchor, page_images
from analyzer.scorecard.records import LEVEL_WORDS, breakdown_rows, structure
from analyzer.scorecard.scores import Scorecard

TEMPLATES = Path(__file__).resolve().parent / "templates"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["level_word"] = lambda n: LEVEL_WORDS.get(n, str(n))


def slug(name: str) -> str:
    """A file-name-safe form of a company name: 'Volkswagen AG (Group)' -> 'volkswagen-ag-group'."""
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in name)
    return "-".join(part for part in out.split("-") if part) or "company"


def _common(card: Scorecard) -> dict:
    return {
        "generated_at": now(),
        "criteria_version": card.criteria_set.version,
        "scoring_version": card.criteria_set.scoring.version,
        "rules_name": f"{card.criteria_set.title or card.criteria_set.name} "
        f"({card.criteria_set.name})",
        "rules_date": card.rules_date or "date not recorded",
        "section_names": card.criteria_set.scoring.section_names,
    }


def company_html(card: Scorecard) -> str:
    cset = card.criteria_set
    by_sub: dict[tuple[str, str], list] = {}
    for cs in card.criteria:
        by_sub.setdefault((cs.criterion.section, cs.criterion.subsection), []).append(cs)
    previous_rows = (
        {r["key"]: r for r in breakdown_rows(cset, card.previous.confirmed)}
        if card.previous
        else None
    )
    return _env.get_template("company.html.j2").render(
        card=card,
        rows=breakdown_rows(cset, card.draft),
        confirmed_rows={r["key"]: r for r in breakdown_rows(cset, card.confirmed)},
        previous_rows=previous_rows,
        sections=structure(cset),
        by_sub=by_sub,
        chart=subsection_bars_svg(card),
        **_common(card),
    )


def pack_html(card: Scorecard, drafts: bool = False, images: bool = True) -> str:
    """The company's evidence pack for its right of reply: confirmed evidence and scores;
    with ``drafts``, also the machine's drafts, each marked as an unreviewed machine draft.
    Each quote's citation links to its page image, inline in the file (``images``), so the
    pack stands alone; every cited page is rendered once."""
    shown = [
        e
        for cs in card.criteria
        for e in cs.evidence
        if e.status == "accepted" or (drafts and e.status == "draft")
    ]
    pictures = page_images(card, shown) if images else {}
    figures = [
        {"id": anchor(*key), "src": src, "evidence": e}
        for key, src in pictures.items()
        for e in [next(e for e in shown if (e.doc_id, e.pdf_page) == key)]
    ]
    return _env.get_template("pack.html.j2").render(
        card=card,
        drafts=drafts,
        rows=breakdown_rows(card.criteria_set, card.confirmed),
        draft_rows=breakdown_rows(card.criteria_set, card.draft),
        page_link={key: "#" + anchor(*key) for key in pictures},
        figures=figures,
        **_common(card),
    )


def company_file(company: str, season: str) -> str:
    """The file name a company's page is written under, which the leaderboard links to."""
    return f"{slug(company)}-{season}.html"


def leaderboard_html(
    cards: list[Scorecard],
    season: str,
    season_row: dict | None,
    company_link: Callable[[str], str] | None = None,
) -> str:
    """The leaderboard; ``company_link(company)`` gives each company's link (default: the
    file name ``analyzer report`` writes its page under)."""
    link = company_link or (lambda company: company_file(company, season))
    common: dict[str, Any] = _common(cards[0]) if cards else {"generated_at": now()}
    names = common.get("section_names", {})
    return _env.get_template("leaderboard.html.j2").render(
        cards=ranked(cards),
        on_drafts={c.company: unreviewed_drafts(c) for c in cards},
        season=season,
        season_row=season_row,
        sections=list(names.items()),
        links={c.company: link(c.company) for c in cards},
        bars=bars_svg(cards),
        heat_confirmed=heatmap_svg(cards, "confirmed"),
        heat_draft=heatmap_svg(cards, "draft"),
        **common,
    )
