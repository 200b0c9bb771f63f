"""One entry point for every report: ``render_report`` gives (bytes, mimetype, file name),
which the CLI writes to reports/ and the web app can send as a download."""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from analyzer.criteria.sets import CriteriaSet
from analyzer.scorecard import export, html
from analyzer.scorecard.scores import Scorecard, build_scorecards
from analyzer.scorecard.seasons import (
    SeasonError,
    companies,
    get_season,
    normalise_season,
    resolve_company,
)

FORMATS = ("html", "pack", "csv", "xlsx", "json")
MIMETYPES = {
    "html": "text/html; charset=utf-8",
    "pack": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


class ReportError(Exception):
    """A report that cannot be made (unknown format, season or company); says why."""


def scorecards_for(
    db: Database, season: str, company: str | None = None, cset: CriteriaSet | None = None
) -> tuple[str, str | None, list[Scorecard]]:
    """(season, resolved company or None, scorecards); raises ReportError when empty."""
    name = normalise_season(season)
    if not name:
        raise ReportError("give a season, e.g. 2025")
    try:
        resolved = resolve_company(db, name, company) if company else None
    except SeasonError as exc:
        raise ReportError(str(exc)) from None
    if not companies(db, name):
        raise ReportError(
            f"no documents with a company in season {name} (set them with "
            "analyzer document set DOC --company NAME --season SEASON)"
        )
    return name, resolved, build_scorecards(db, name, resolved, cset)


def file_name(season: str, company: str | None, fmt: str, drafts: bool = False) -> str:
    """The report's file name; a pack with machine drafts has its own, so it never
    overwrites the confirmed-only pack a company is sent."""
    ext = "html" if fmt == "pack" else fmt
    if fmt == "pack":
        kind = "evidence-pack-with-drafts" if drafts else "evidence-pack"
        return f"{html.slug(company or 'company')}-{season}-{kind}.{ext}"
    if fmt == "html":
        return f"{html.slug(company)}-{season}.{ext}" if company else f"leaderboard-{season}.html"
    return f"scorecards-{season}{'-' + html.slug(company) if company else ''}.{ext}"


def render_cards(
    cards: list[Scorecard],
    season: str,
    company: str | None,
    fmt: str,
    season_row: dict | None,
    company_link: Callable[[str], str] | None = None,
    drafts: bool = False,
) -> bytes:
    """Bytes of one report from built scorecards (the CLI builds them once for many files)."""
    if fmt == "html" and company:
        return html.company_html(cards[0]).encode("utf-8")
    if fmt == "html":
        return html.leaderboard_html(cards, season, season_row, company_link).encode("utf-8")
    if fmt == "pack":
        return html.pack_html(cards[0], drafts).encode("utf-8")
    if fmt == "csv":
        return export.to_csv(cards)
    if fmt == "xlsx":
        return export.to_xlsx(cards)
    return export.to_json(cards, season)


def render_report(
    db: Database,
    season: str,
    company: str | None = None,
    fmt: str = "html",
    company_link: Callable[[str], str] | None = None,
    drafts: bool = False,
) -> tuple[bytes, str, str]:
    """A report as (content, mimetype, file name).

    html: a company's scorecard, or the leaderboard when no company is given (a web app
    passes ``company_link`` to point its rows at its own URLs); pack: a company's evidence
    pack (confirmed evidence only unless ``drafts``, then machine drafts marked as such);
    csv, xlsx, json: scores and evidence of one or all companies.
    """
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "pack" and not company:
        raise ReportError("an evidence pack is per company: give the company")
    name, resolved, cards = scorecards_for(db, season, company)
    content = render_cards(cards, name, resolved, fmt, get_season(db, name), company_link, drafts)
    return content, MIMETYPES[fmt], file_name(name, resolved, fmt, drafts)
