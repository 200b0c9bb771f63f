"""Suggest an evidence level for a quote, following the analysts' decision rules.

0 = not evidence, 1 = commitment or policy only (or hedged), 2 = dated and quantified,
binding on suppliers, or implemented (past-tense results with numbers). The rules are the
leaderboard's own (../shared/reference/ltc-methodology.md): hedged verbs are at most
partial, "suppliers must" beats "we expect", the automaker's own operations earn nothing.
The cue words found are returned, so a reviewer sees why a level was suggested.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

_CUES: dict[str, str] = {
    "hedged": r"\b(aim(?:s|ing)? to|strive|striving|explor\w*|encourag\w*|consider\w*"
    r"|seek(?:s|ing)? to|where possible|intend(?:s|ed)? to|ambition|aspire\w*|hope to"
    r"|may|might|could)\b",
    "binding": r"\b(must|shall|are required|is required|contractual\w*|binding|mandatory"
    r"|condition (?:of|for)|offtake|signed|purchase agreement|supply agreement|obliged)\b",
    "commitment": r"\b(commit\w*|pledge\w*|policy|policies|we will|target\w*|goal|code of conduct"
    r"|expect\w*|principle)\b",
    "implemented": r"\b(audited|assessed|certified|verified|conducted|completed|achieved|received"
    r"|reduced|sourced|purchased|delivered|remediated|trained|published)\b",
    "dated": r"\b(?:by|from|since|until|in|before|as of)\s+"
    r"(?:(?:the end of|fiscal|FY)\s+)?(?:19|20)\d\d\b",
    "quantified": r"\d[\d,.]*\s*(?:%|percent|per cent|t\b|kt\b|mt\b|tonnes?|tons?|t co2e?"
    r"|million|billion|gwh|mwh|suppliers|smelters|refiners|audits|cases|sites)",
    "own operations": r"\b(our (?:own )?(?:plants|factories|sites|production sites|operations"
    r"|employees|workforce)|own operations|scope 1|scope 2)\b",
    "supply chain": r"\b(suppliers?|supply chains?|sub-?suppliers|tier|purchased|procure\w*"
    r"|sourcing|smelters?|refiners?|mines?|mining)\b",
}
_PATTERNS = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _CUES.items()}

LEVEL_NAMES = {
    0: "not evidence",
    1: "commitment or policy only",
    2: "dated, quantified, binding or implemented",
}


@dataclass
class LevelSuggestion:
    level: int
    cues: dict[str, list[str]] = field(default_factory=dict)  # cue kind -> words found
    reason: str = ""


def find_cues(text: str) -> dict[str, list[str]]:
    """The cue words of each kind found in text, in order, without repeats."""
    found: dict[str, list[str]] = {}
    for name, pattern in _PATTERNS.items():
        words = list(dict.fromkeys(m.group(0).lower() for m in pattern.finditer(text)))
        if words:
            found[name] = words
    return found


def suggest_level(text: str, relevant: bool = True) -> LevelSuggestion:
    """Level for a quote already judged on topic (`relevant`); 0 when it is not."""
    cues = find_cues(text)
    if not relevant:
        return LevelSuggestion(0, cues, "not on the criterion's topic")
    has = cues.__contains__
    if has("own operations") and not has("supply chain"):
        return LevelSuggestion(0, cues, "own operations only, not the supply chain")
    strong = has("binding") or (has("dated") and has("quantified"))
    strong = strong or (has("implemented") and has("quantified"))
    if has("hedged") and not has("binding"):
        return LevelSuggestion(1, cues, "hedged wording is at most partial")
    if strong:
        return LevelSuggestion(
            2, cues, "binding, dated and quantified, or implemented with numbers"
        )
    if has("commitment") or has("implemented") or has("dated") or has("quantified"):
        return LevelSuggestion(1, cues, "a commitment or policy without date, number or obligation")
    return LevelSuggestion(1, cues, "on topic, but no commitment or result stated")


def candidate_level(row: dict) -> LevelSuggestion:
    """A stored candidate's suggested level; worked out from its quote for rows stored
    before levels were kept with the candidate (the one fallback, used everywhere)."""
    if row.get("level") is None:
        return suggest_level(row.get("quote") or "")
    cues = row.get("cues")
    if isinstance(cues, str):
        cues = json.loads(cues or "{}")
    return LevelSuggestion(int(row["level"]), cues or {}, row.get("level_reason") or "")


def effective_level(
    action: str, level: int | None, quote: str | None, candidate: dict | None
) -> int:
    """The level a reviewer's standing verdict gives, for exports and scorecards alike.

    A reject is 0. A level the reviewer set wins. An accept without a level is evidence, so
    at least 1: the candidate's suggested level when the quote is the candidate's own, else
    the suggestion for the quote the reviewer chose (an edited quote is judged afresh).
    """
    if action == "reject":
        return 0
    if level is not None:
        return int(level)
    if candidate is not None and candidate.get("quote") == quote:
        return max(1, candidate_level(candidate).level)
    return max(1, suggest_level(quote or "").level)
