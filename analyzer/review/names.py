"""Company names as a person types them: any case, the start of the name, or a unique part;
otherwise a clear "did you mean" instead of an empty answer."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CompanyError(LookupError):
    """No stored company, or several, fit what was typed; the message says which exist."""


def match_company(known: Iterable[str], wanted: str, where: str = "") -> str:
    """The stored name meant by ``wanted``: exact (any case), else the one name it starts,
    else the one name containing it; raises CompanyError naming the candidates."""
    names = sorted({k for k in known if k})
    typed = " ".join(wanted.split()).lower()
    if not typed:
        raise CompanyError("give a company name")
    for test in (
        lambda n: n.lower() == typed,
        lambda n: n.lower().startswith(typed),
        lambda n: typed in n.lower(),
    ):
        hits = [n for n in names if test(n)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise CompanyError(f"company {wanted!r} matches several: {', '.join(hits)}")
    close = difflib.get_close_matches(typed, [n.lower() for n in names], n=3, cutoff=0.5)
    lower = {n.lower(): n for n in names}
    suffix = f" in {where}" if where else ""
    if close:
        hint = "did you mean " + " or ".join(repr(lower[c]) for c in close) + "?"
    else:
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        hint = f"companies: {', '.join(names[:10]) or 'none'}{more}"
    raise CompanyError(f"no company {wanted!r}{suffix}; {hint}")
