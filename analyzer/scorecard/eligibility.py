"""Whether a document's evidence counts for a season, and if not, why.

Evidence from a document outside the season's window, or about a subsidiary only, is still
shown in the scorecard but earns no points (the leaderboard's decision rules 5 and 6).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Eligibility:
    counts: bool
    reason: str | None = None  # why it does not count, or a caveat when it does


def check(doc: dict, season: dict | None) -> Eligibility:
    """Decide for one document against one season row (None: no cut-off recorded)."""
    if doc.get("subsidiary_only"):
        return Eligibility(False, "about a subsidiary only, not the group assessed")
    published = doc.get("publication_date")
    if season is None:
        return Eligibility(True, "no cut-off recorded for this season; counted")
    if not published:
        return Eligibility(True, "publication date not recorded; counted")
    if published > season["cutoff"]:
        return Eligibility(
            False, f"published {published}, after the season's cut-off {season['cutoff']}"
        )
    if season.get("window_start") and published < season["window_start"]:
        return Eligibility(
            False,
            f"published {published}, before the season's window opens {season['window_start']}",
        )
    return Eligibility(True)
