"""Item 52 as one pure function: from the classifier's probabilities, the 街镇 and the
screening flags to a lead unit, its assistants, or the triage queue, naming the rule."""

from dataclasses import dataclass, field

from routing.locality import Locality
from routing.settings import RoutingSettings

TERRITORIAL = "territorial"  # the classifier's class for 属地 matters no line unit holds

# The rules, in the order they are tried.
NO_MODEL = "no model"
MODEL_FAILED = "model failed"
UNREADABLE = "unreadable text"
OUTSIDE = "outside Jiading"
NO_LOCALITY = "no 街镇"
SUPERVISOR = "supervisor"
NAMED = "named by return"  # a returning 街镇's reason names the unit it belongs to
LINE = "line unit"
SCREENED = "screened"
TERRITORIAL_RULE = "territorial"
TRIAGE = "triage"


def supervisor_decides(returns: int) -> bool:
    """A ticket returned a second time is no longer routing's to place: a supervisor decides."""
    return returns >= 2


@dataclass(frozen=True)
class Candidate:
    """A possible lead and the classifier's probability for it."""

    unit: str
    probability: float


@dataclass(frozen=True)
class Inputs:
    """Everything a decision is made from."""

    probabilities: dict[str, float] | None  # None: no model, or it failed (see `failure`)
    locality: Locality
    screened_by: tuple[str, ...] = ()
    line_units: frozenset[str] = frozenset()  # active line units and utilities
    on_site_units: frozenset[str] = frozenset()  # whose matters the 街镇 helps with on site
    exclude_territorial: bool = False  # a 街镇 returned it: a line unit must lead (item 52)
    returns: int = 0
    failure: str | None = None
    readable: bool = True
    named: tuple[str, ...] = ()  # units the returning 街镇's reason names (市监局, 人社局 …)


@dataclass(frozen=True)
class Decision:
    """Who leads (None: the triage queue), who assists, and why."""

    rule: str
    lead_unit: str | None
    assist_units: list[str]
    subdistrict: str | None
    confidence: float | None
    candidates: list[Candidate]
    screened_by: list[str]
    reasons: list[str] = field(default_factory=list)


def decide(inputs: Inputs, settings: RoutingSettings) -> Decision:
    """The decision for one ticket; anything routing cannot settle goes to triage, with reasons."""
    where = inputs.locality.subdistrict
    screened = list(inputs.screened_by)
    ranked = _ranked(inputs)
    top3 = ranked[:3]

    def triage(rule: str, *reasons: str) -> Decision:
        best = top3[0].probability if top3 else None
        return Decision(rule, None, [], where, best, top3, screened, list(reasons))

    if supervisor_decides(inputs.returns):
        return triage(SUPERVISOR, f"returned {inputs.returns} times; a supervisor decides")
    if not inputs.readable:
        return triage(UNREADABLE, "the text holds too little Chinese to classify")
    if inputs.probabilities is None:
        if inputs.failure:
            return triage(MODEL_FAILED, f"the classifier failed: {inputs.failure}")
        return triage(NO_MODEL, "no classifier is active; `qisu model build-default` trains one")
    if not ranked:
        return triage(NO_MODEL, "the active model knows none of the registry's units")
    line = [c for c in ranked if c.unit in inputs.line_units]
    best_line = line[0] if line else None
    raw = inputs.probabilities
    if inputs.exclude_territorial:
        chosen = _named(inputs, line, settings)
        if chosen is not None:
            return _lead(chosen, NAMED, inputs, top3, screened, f"the return names {chosen.unit}")
    if inputs.exclude_territorial and (
        best_line is None or raw.get(best_line.unit, 0.0) < settings.plausible_threshold
    ):
        return triage(SUPERVISOR, "a 街镇 returned it and no line unit is plausible")
    if inputs.locality.source == "outside Jiading":
        return triage(OUTSIDE, f"the address lies outside Jiading ({inputs.locality.matched})")
    # A line unit's authority does not depend on where: it leads without a 街镇 (item 52), and
    # the 街镇 assists once the locality is known (a later address, the registry, the desk).
    if best_line and best_line.probability >= settings.lead_threshold:
        return _lead(best_line, LINE, inputs, top3, screened)
    if screened and best_line and best_line.probability >= settings.screened_threshold:
        return _lead(best_line, SCREENED, inputs, top3, screened)
    territorial = raw.get(TERRITORIAL, 0.0)
    if not inputs.exclude_territorial and territorial >= settings.territorial_threshold:
        if where is None:  # only a territorial matter needs its 街镇 to lead
            return triage(
                NO_LOCALITY,
                "a territorial matter, but the address names no 街镇 and the enterprise has none",
            )
        return Decision(
            TERRITORIAL_RULE, where, [], where, round(territorial, 6), top3, screened, []
        )
    best = top3[0]
    threshold = settings.screened_threshold if screened else settings.lead_threshold
    return triage(
        TRIAGE, f"the best candidate {best.unit} ({best.probability:.2f}) is below {threshold}"
    )


def _ranked(inputs: Inputs) -> list[Candidate]:
    """The registry's units (and territorial, unless excluded) by probability, best first."""
    known = inputs.line_units | ({TERRITORIAL} if not inputs.exclude_territorial else set())
    scores = {unit: p for unit, p in (inputs.probabilities or {}).items() if unit in known}
    # Without territorial, what is left is renormalised: the odds among the line units.
    total = sum(scores.values()) if inputs.exclude_territorial else 1.0
    return sorted(
        (Candidate(unit, round(p / total, 6)) for unit, p in scores.items() if total > 0),
        key=lambda c: -c.probability,
    )


def _named(inputs: Inputs, line: list[Candidate], settings: RoutingSettings) -> Candidate | None:
    """The first unit the return's reason names that may lead, if the model finds it plausible."""
    odds = {c.unit: c for c in line}
    for unit in inputs.named:
        candidate = odds.get(unit)
        if candidate is not None and candidate.probability >= settings.named_threshold:
            return candidate
    return None


def _lead(
    best: Candidate,
    rule: str,
    inputs: Inputs,
    top3: list[Candidate],
    screened: list[str],
    *reasons: str,
) -> Decision:
    where = inputs.locality.subdistrict
    assist = [where] if where and best.unit in inputs.on_site_units else []
    return Decision(rule, best.unit, assist, where, best.probability, top3, screened, list(reasons))
