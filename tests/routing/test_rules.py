"""Item 52 as a pure decision: every rule, with its reasons, on hand-made probabilities."""

import pytest

from routing.locality import Locality
from routing.rules import Inputs, decide
from routing.screening import LEGACY, RETURNED
from routing.settings import RoutingSettings

# The rules at fixed thresholds (the defaults are chosen on the dev set and may move).
SETTINGS = RoutingSettings(lead_threshold=0.55, screened_threshold=0.35, territorial_threshold=0.55)
LINE = frozenset({"market_regulation", "tax", "urban_management", "hrss"})
ANTING = Locality("anting", "name", "安亭镇")


def inputs(probabilities: dict[str, float] | None = None, **overrides: object) -> Inputs:
    fields: dict[str, object] = {
        "probabilities": probabilities,
        "locality": ANTING,
        "line_units": LINE,
        "on_site_units": frozenset({"urban_management"}),
    }
    return Inputs(**(fields | overrides))  # type: ignore[arg-type]


def test_a_confident_line_unit_leads_and_the_town_assists_on_site_matters() -> None:
    office = decide(inputs({"tax": 0.9, "territorial": 0.05, "hrss": 0.05}), SETTINGS)
    assert (office.rule, office.lead_unit, office.assist_units) == ("line unit", "tax", [])
    assert [c.unit for c in office.candidates] == ["tax", "territorial", "hrss"]
    street = decide(inputs({"urban_management": 0.8, "territorial": 0.2}), SETTINGS)
    assert (street.lead_unit, street.assist_units) == ("urban_management", ["anting"])


def test_line_units_lead_even_when_territorial_is_close() -> None:
    # Item 52: where a line department's authority is involved, it leads, not the 街镇.
    decision = decide(inputs({"market_regulation": 0.56, "territorial": 0.44}), SETTINGS)
    assert decision.lead_unit == "market_regulation"


def test_a_screened_ticket_goes_to_its_best_line_unit_at_the_lower_threshold() -> None:
    unsure = {"hrss": 0.40, "tax": 0.35, "territorial": 0.25}
    assert decide(inputs(unsure), SETTINGS).rule == "triage"
    screened = decide(inputs(unsure, screened_by=(LEGACY,)), SETTINGS)
    assert (screened.rule, screened.lead_unit, screened.screened_by) == (
        "screened",
        "hrss",
        [LEGACY],
    )


def test_a_territorial_matter_goes_to_the_town_of_its_address() -> None:
    decision = decide(inputs({"territorial": 0.8, "tax": 0.2}), SETTINGS)
    assert (decision.rule, decision.lead_unit, decision.subdistrict) == (
        "territorial",
        "anting",
        "anting",
    )


def test_triage_names_the_top_three_and_why() -> None:
    decision = decide(inputs({"tax": 0.3, "hrss": 0.3, "territorial": 0.2, "x": 0.2}), SETTINGS)
    assert decision.lead_unit is None and decision.rule == "triage"
    assert [c.unit for c in decision.candidates] == ["tax", "hrss", "territorial"]  # x is unknown
    assert "below 0.55" in decision.reasons[0]


def test_a_return_by_the_town_excludes_territorial() -> None:
    probabilities = {"territorial": 0.6, "urban_management": 0.3, "tax": 0.1}
    returned = inputs(probabilities, exclude_territorial=True, screened_by=(RETURNED,), returns=1)
    decision = decide(returned, SETTINGS)
    # What is left is renormalised: urban_management holds 0.3 of the 0.4 the line units had.
    assert (decision.lead_unit, decision.confidence) == ("urban_management", 0.75)
    assert decision.screened_by == [RETURNED]
    assert "territorial" not in [c.unit for c in decision.candidates]


def test_no_plausible_line_unit_after_a_return_or_a_second_return_goes_to_a_supervisor() -> None:
    nothing = inputs({"territorial": 0.95, "tax": 0.05}, exclude_territorial=True, returns=1)
    assert decide(nothing, SETTINGS).rule == "supervisor"
    twice = decide(inputs({"tax": 0.99}, returns=2), SETTINGS)
    assert (twice.rule, twice.lead_unit) == ("supervisor", None)


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"probabilities": None}, "no model"),
        ({"probabilities": None, "failure": "OSError: gone"}, "model failed"),
        ({"readable": False}, "unreadable text"),
        ({"locality": Locality(None, "outside Jiading", "闵行区")}, "outside Jiading"),
        (
            {"locality": Locality(None, "unknown"), "probabilities": {"territorial": 0.9}},
            "no 街镇",
        ),
    ],
)
def test_what_routing_cannot_settle_waits_in_triage_with_its_reason(
    overrides: dict[str, object], rule: str
) -> None:
    fields = {"probabilities": {"tax": 0.99}} | overrides
    decision = decide(inputs(**fields), SETTINGS)  # type: ignore[arg-type]
    assert (decision.rule, decision.lead_unit) == (rule, None)
    assert decision.reasons and all(decision.reasons)


def test_a_confident_line_unit_leads_without_a_town_and_nobody_assists_yet() -> None:
    # Item 52 without a 街镇 (issue 13, item 4): the line unit's authority does not depend on it.
    nowhere = Locality(None, "unknown")
    decision = decide(
        inputs({"urban_management": 0.9, "territorial": 0.1}, locality=nowhere), SETTINGS
    )
    assert (decision.rule, decision.lead_unit, decision.assist_units, decision.subdistrict) == (
        "line unit",
        "urban_management",
        [],
        None,
    )
    screened = inputs({"hrss": 0.4, "territorial": 0.3}, locality=nowhere, screened_by=(LEGACY,))
    assert decide(screened, SETTINGS).lead_unit == "hrss"
    unsure = decide(inputs({"hrss": 0.4, "territorial": 0.3}, locality=nowhere), SETTINGS)
    assert (unsure.rule, unsure.lead_unit) == ("triage", None)


def test_a_unit_the_returning_town_names_leads_the_reroute() -> None:
    probabilities = {"territorial": 0.6, "urban_management": 0.3, "tax": 0.05, "hrss": 0.05}
    returned = inputs(
        probabilities, exclude_territorial=True, screened_by=(RETURNED,), returns=1, named=("hrss",)
    )
    decision = decide(returned, SETTINGS)
    assert (decision.rule, decision.lead_unit) == ("named by return", "hrss")
    assert decision.reasons == ["the return names hrss"]
    # A name the registry does not hold as a line unit changes nothing.
    other = decide(
        inputs(probabilities, exclude_territorial=True, returns=1, named=("x",)), SETTINGS
    )
    assert (other.rule, other.lead_unit) == ("line unit", "urban_management")
    strict = SETTINGS.model_copy(update={"named_threshold": 0.5})
    assert decide(returned, strict).lead_unit == "urban_management"
