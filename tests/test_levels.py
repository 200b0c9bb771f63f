"""Level suggestions follow the analysts' decision rules on hand-written sentences."""

from __future__ import annotations

import pytest

from analyzer.levels import find_cues, suggest_level


@pytest.mark.parametrize(
    "text, level",
    [
        (
            "We signed a binding offtake for 200,000 tonnes of fossil-free steel from 2026.",
            2,
        ),
        ("All battery suppliers must source cobalt from RMAP-audited refiners.", 2),
        ("In 2024 we audited 286 suppliers and remediated 41 cases of excessive working hours.", 2),
        ("We aim to explore the use of low-carbon aluminium with our suppliers.", 1),
        ("Our Supplier Code of Conduct sets out our expectations on human rights.", 1),
        ("We commit to respecting the rights of Indigenous Peoples in our supply chain.", 1),
        ("Our own plants have used 100% renewable electricity since 2020.", 0),
    ],
)
def test_decision_rules(text, level):
    assert suggest_level(text).level == level, suggest_level(text)


def test_off_topic_is_zero_and_cues_are_shown():
    suggestion = suggest_level("Suppliers must respect the Code.", relevant=False)
    assert suggestion.level == 0 and suggestion.cues["binding"] == ["must"]
    cues = find_cues("We aim to reduce emissions by 30% by 2030.")
    assert cues["hedged"] == ["aim to"] and cues["dated"] == ["by 2030"]
    assert cues["quantified"] == ["30%"]
