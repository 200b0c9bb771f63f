"""Inline SVG charts for the leaderboard: a heatmap of subsection scores and ranked bars.

Inline SVG needs no image files or plotting library, prints sharply and can be checked in
the browser like the rest of the page. Every cell and bar also carries its number as text.
"""

from __future__ import annotations

from html import escape

from analyzer.scorecard.records import structure
from analyzer.scorecard.scores import Scorecard


def cell_colour(percent: float | None) -> str:
    """Red (0%) through yellow to green (100%); grey when nothing could be scored."""
    if percent is None:
        return "#e5e5e5"
    hue = round(1.2 * max(0.0, min(100.0, percent)))
    return f"hsl({hue}, 65%, 72%)"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def ranked(cards: list[Scorecard]) -> list[Scorecard]:
    """Best first: by confirmed total, then by draft total, then by name."""
    return sorted(
        cards,
        key=lambda c: (-(c.confirmed.total.percent or 0), -(c.draft.total.percent or 0), c.company),
    )


def unreviewed_drafts(card: Scorecard) -> list[str]:
    """Criteria whose machine draft finds evidence that no reviewer has decided on yet:
    where they exist, the company's rank rests partly on drafts."""
    return [
        cs.criterion.id for cs in card.criteria if (cs.draft_level or 0) > 0 and not cs.reviewed
    ]


def heatmap_svg(cards: list[Scorecard], which: str = "confirmed") -> str:
    """Companies down, subsections across, each cell its percentage (draft or confirmed)."""
    if not cards:
        return ""
    cols = [(s, sub) for s, subs in structure(cards[0].criteria_set) for sub in subs]
    left, top, w, h = 210, 175, 74, 30
    width, height = left + w * (len(cols) + 1) + 10, top + h * len(cards) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="heatmap" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{which} subsection scores by company">'
    ]
    for j, (section, sub) in enumerate([*cols, ("", "Total")]):
        x = left + j * w + w / 2
        label = f"{section} · {sub}" if section else sub
        out.append(
            f'<text x="{x}" y="{top - 8}" transform="rotate(-40 {x} {top - 8})" '
            f'font-size="11">{escape(label)}</text>'
        )
    for i, card in enumerate(ranked(cards)):
        breakdown = getattr(card, which)
        y = top + i * h
        out.append(
            f'<text x="{left - 8}" y="{y + h / 2 + 4}" text-anchor="end" '
            f'font-size="12">{escape(card.company)}</text>'
        )
        values = [breakdown.subsections[c].percent for c in cols] + [breakdown.total.percent]
        done = [card.subsection_reviewed(c) for c in cols]
        done.append((card.reviewed_count, len(card.criteria)))
        for j, value in enumerate(values):
            x = left + j * w
            settled, of = done[j]
            # Nobody reviewed it: a confirmed 0% there would be a verdict nobody gave.
            blank = which == "confirmed" and settled == 0
            label = "not reviewed" if blank else _pct(value)
            note = f" ({settled} of {of} criteria reviewed)" if which == "confirmed" else ""
            mark = "*" if which == "confirmed" and 0 < settled < of else ""
            out.append(
                f'<rect x="{x}" y="{y}" width="{w - 2}" height="{h - 2}" '
                f'fill="{cell_colour(None if blank else value)}"><title>{escape(card.company)}: '
                f"{label}{note}</title></rect>"
                f'<text x="{x + w / 2 - 1}" y="{y + h / 2 + 3}" text-anchor="middle" '
                f'font-size="{9 if blank else 11}">{"n/r" if blank else _pct(value)}{mark}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def bars_svg(cards: list[Scorecard]) -> str:
    """Ranked total scores: confirmed as a solid bar over the draft as a pale one."""
    if not cards:
        return ""
    left, top, scale, h = 210, 24, 4.0, 30
    width, height = left + 100 * scale + 300, top + h * len(cards) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="ranked total scores">',
        f'<text x="{left}" y="14" font-size="11">pale: draft (before review) · '
        "solid: confirmed (accepted evidence)</text>",
    ]
    for i, card in enumerate(ranked(cards)):
        y = top + i * h
        draft = card.draft.total.percent or 0
        confirmed = card.confirmed.total.percent or 0
        out.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="12">'
            f"{i + 1}. {escape(card.company)}</text>"
            f'<rect x="{left}" y="{y + 2}" width="{draft * scale:.1f}" height="{h - 6}" '
            f'fill="#b9d3ee"/>'
            f'<rect x="{left}" y="{y + 8}" width="{confirmed * scale:.1f}" height="{h - 18}" '
            f'fill="#1f5f99"/>'
            f'<text x="{left + max(draft, confirmed) * scale + 6}" y="{y + 17}" font-size="11">'
            f"draft {draft:.1f}% · confirmed {confirmed:.1f}% "
            f"({card.reviewed_count} of {len(card.criteria)} reviewed)</text>"
        )
    out.append("</svg>")
    return "".join(out)


def subsection_bars_svg(card: Scorecard) -> str:
    """A company's subsection scores: draft as a pale bar, confirmed as a solid one, and
    how many of the subsection's criteria review has settled (unreviewed is not 0%)."""
    rows = [(s, sub) for s, subs in structure(card.criteria_set) for sub in subs]
    left, top, scale, h = 230, 24, 3.2, 26
    width, height = left + 100 * scale + 250, top + h * len(rows) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="subsection-bars" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="subsection scores of {escape(card.company)}">',
        f'<text x="{left}" y="14" font-size="11">pale: draft · solid: confirmed · '
        "n/r: no criterion reviewed</text>",
    ]
    for i, key in enumerate(rows):
        y = top + i * h
        draft = card.draft.subsections[key].percent or 0
        confirmed = card.confirmed.subsections[key].percent or 0
        settled, of = card.subsection_reviewed(key)
        shown = "n/r" if settled == 0 else f"{confirmed:.0f}%"
        out.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="11">'
            f"{escape(key[0])} · {escape(key[1])}</text>"
            f'<rect x="{left}" y="{y + 2}" width="{draft * scale:.1f}" height="{h - 6}" '
            f'fill="#b9d3ee"/>'
            f'<rect x="{left}" y="{y + 8}" width="{confirmed * scale:.1f}" height="{h - 18}" '
            f'fill="#1f5f99"/>'
            f'<text x="{left + max(draft, confirmed) * scale + 6}" y="{y + 16}" font-size="11">'
            f"draft {draft:.0f}% · confirmed {shown} ({settled}/{of} reviewed)</text>"
        )
    out.append("</svg>")
    return "".join(out)
