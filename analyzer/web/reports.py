"""Scorecard reports in the web app: a page listing seasons and companies, and downloads
made by the same ``render_report`` the CLI uses, so both give the same files."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlite_utils import Database

from analyzer.scorecard.render import FORMATS, ReportError, render_report
from analyzer.scorecard.seasons import (
    SeasonError,
    companies,
    current_documents,
    document_season,
    list_seasons,
    normalise_season,
    resolve_company,
)
from analyzer.web.common import error, get_db

bp = Blueprint("reports", __name__)

# Reports are standalone pages with their own inline <style> (so a saved file prints
# cleanly); they may use it here, but no script of any kind may run.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)
INLINE = ("html", "pack")


def known_seasons(db: Database) -> list[dict]:
    """Seasons with a cut-off or with documents, newest first, each with its companies."""
    cutoffs = {row["season"]: row for row in list_seasons(db)}
    names = set(cutoffs) | {s for d in current_documents(db) if (s := document_season(d))}
    return [
        {"season": name, "cutoff": cutoffs.get(name), "companies": companies(db, name)}
        for name in sorted(names, reverse=True)
    ]


@bp.get("/reports")
def page() -> ResponseReturnValue:
    return render_template("reports.html", seasons=known_seasons(get_db()))


def _check(db: Database, season: str, company: str | None, fmt: str) -> ResponseReturnValue | None:
    """An error page for a request that cannot give a report, else None."""
    if fmt not in FORMATS:
        return error(400, f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if not season:
        return error(400, "choose a season (season=2025)")
    if fmt == "pack" and not company:
        return error(400, "an evidence pack is per company: choose the company")
    if not companies(db, season):
        listing = ", ".join(s["season"] for s in known_seasons(db) if s["companies"]) or "none"
        return error(404, f"no documents with a company in season {season} (seasons: {listing})")
    return None


@bp.get("/reports/download")
def download() -> ResponseReturnValue:
    db = get_db()
    season = normalise_season(request.args.get("season")) or ""
    company = (request.args.get("company") or "").strip() or None
    fmt = request.args.get("format", "html")
    refused = _check(db, season, company, fmt)
    if refused is not None:
        return refused
    try:
        company = resolve_company(db, season, company) if company else None
    except SeasonError as exc:
        return error(404, str(exc))

    def company_link(name: str) -> str:
        return url_for("reports.download", season=season, company=name, format="html")

    try:
        drafts = request.args.get("drafts") == "1"  # packs: machine drafts only when asked
        content, mimetype, name = render_report(db, season, company, fmt, company_link, drafts)
    except ReportError as exc:
        return error(400, str(exc))
    response = Response(content, content_type=mimetype)
    response.headers.set(
        "Content-Disposition", "inline" if fmt in INLINE else "attachment", filename=name
    )
    if fmt in INLINE:
        response.headers["Content-Security-Policy"] = REPORT_CSP
    return response
