"""Routing on a labelled set of Jiading appeals: each one taken in through intake, in order.

Runs bench/data/routing-eval.yaml (or --cases FILE of the same form, e.g. the dev or test part
of bench/data/routing-eval-v2) through `tickets.service` on a fresh SQLite database with the
active model, returns the 街镇-returned cases as the 街镇 would (with the case's return_reason),
and prints lead accuracy and coverage, top-1/top-3, 街镇 accuracy, repeat precision, recall and
the near misses flagged, the same per kind of appeal (plain, returned, ambiguous, legacy,
multi-issue, no_town), and with --sweep accuracy against coverage at other thresholds (each
case's final decision re-decided from its recorded inputs) and repeats at other thresholds
(from each decision's scored candidates). Choose thresholds on a dev part only. With --latency
it also takes the set in with routing off, and prints intake's p50 both ways. Exits 1 when a
goal is missed (lead ≥ 0.90 at coverage ≥ 0.80, top-3 ≥ 0.98, 街镇 ≥ 0.97 where the address or
the registry can know it, repeats precision ≥ 0.90, recall ≥ 0.85, near misses flagged ≤ 5 %).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from accounts import service as accounts_service
from app.migrate import upgrade
from core.db import make_engine, session_scope
from deadlines.policy import load_policy
from models import Enterprise, Role, Ticket, User
from routing import rules
from routing import service as routing_service
from routing.model import ServingModel
from routing.settings import RoutingSettings
from tickets import connectors, service
from tickets.credit_code import check_character
from tickets.schemas import TicketCreate
from units import service as units_service

CASES = Path(__file__).parent / "data" / "routing-eval.yaml"
# The cases' days count back from here: a set longer than this would reach past now, and
# intake refuses appeals received more than a day ahead.
START = (datetime.now(UTC) - timedelta(days=400)).replace(
    hour=1, minute=30, second=0, microsecond=0
)
RETURN_REASON = "不属于街镇职权，应由条线部门处理"  # when a case gives none
POLICY = load_policy()  # the shipped SLA policy: routing is measured, not the deadlines
TAGS = ("plain", "returned", "ambiguous", "legacy", "multi_issue", "no_town", "repeat")


def credit_code(key: str) -> str:
    """A valid credit code for an enterprise key like E07."""
    first17 = f"91310114MA1{int(key[1:]):06d}"
    return first17 + check_character(first17)


@dataclass
class Outcome:
    """What routing finally decided for one case."""

    case: dict[str, Any]
    rule: str
    lead: str | None  # the decided label: a unit, or territorial
    subdistrict: str | None
    candidates: list[str]
    repeat_root: int | None
    seconds: float
    inputs: rules.Inputs | None = None  # what the final decision was made from
    scored: list[dict[str, Any]] = field(default_factory=list)  # repeat candidates, scored
    final_subdistrict: str | None = None  # the ticket's 街镇 once the whole set is in


@dataclass
class Run:
    """One pass over the set."""

    outcomes: list[Outcome] = field(default_factory=list)
    ticket_of_case: dict[int, int] = field(default_factory=dict)


def _payload(case: dict[str, Any], names: dict[str, str], index: int) -> TicketCreate:
    at = START + timedelta(days=case["day"], minutes=index)
    return TicketCreate.model_validate(
        {
            "source": "bench",
            "external_id": f"R-{case['id']}",
            "channel": "hotline",
            "received_at": at.isoformat(),
            "enterprise": {"credit_code": credit_code(case["ent"]), "name": names[case["ent"]]},
            "contact": {"name": "来电人", "phone": case["phone"]},
            "address": case["address"],
            "text": case["text"],
            "appeal_type": "complaint",
        }
    )


def _user(session: Any, role: Role, unit: str | None = None) -> User:
    user, _ = accounts_service.create_user(
        session, name=f"bench-{role}-{unit or ''}", role=role, unit_code=unit
    )
    return user


def run(
    data: dict[str, Any], *, database: Path, routing: RoutingSettings, serving: ServingModel
) -> Run:
    """Take every case in, in order, on a fresh database; return what routing decided."""
    recorded: list[rules.Inputs] = []
    original = routing_service.decide

    def recording(inputs: rules.Inputs, settings: RoutingSettings) -> rules.Decision:
        recorded.append(inputs)
        return original(inputs, settings)

    routing_service.decide = recording
    try:
        return _run(data, database=database, recorded=recorded, settings=routing, serving=serving)
    finally:
        routing_service.decide = original


def _run(
    data: dict[str, Any],
    *,
    database: Path,
    recorded: list[rules.Inputs],
    settings: RoutingSettings,
    serving: ServingModel,
) -> Run:
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    enterprises = data["enterprises"]
    with session_scope(engine, write=True) as session:
        units_service.load_registry(session)
        for key, entry in enterprises.items():
            session.add(
                Enterprise(
                    credit_code=credit_code(key),
                    name=entry["name"],
                    subdistrict=entry.get("registered"),
                )
            )
        desk = _user(session, Role.OPERATOR)
        returning = {case["returned_by"] for case in data["cases"] if case.get("returned_by")}
        towns = {code: _user(session, Role.SUBDISTRICT, code) for code in sorted(returning)}
    names = {key: entry["name"] for key, entry in enterprises.items()}
    result = Run()
    for index, case in enumerate(data["cases"]):
        started = time.perf_counter()
        with session_scope(engine, write=True) as session:
            ticket, _ = service.intake(
                session,
                serving=serving,
                connectors=connectors.NONE,
                data=_payload(case, names, index),
                user=desk,
                policy=POLICY,
                routing=settings,
            )
            ticket_id = ticket.id or 0
        seconds = time.perf_counter() - started
        result.ticket_of_case[case["id"]] = ticket_id
        town = case.get("returned_by")
        if town:
            reason = case.get("return_reason") or RETURN_REASON
            _return_by(
                engine,
                ticket_id=ticket_id,
                desk=desk,
                town=towns[town],
                code=town,
                reason=reason,
                settings=settings,
                serving=serving,
            )
        with session_scope(engine) as session:
            stored = session.get(Ticket, ticket_id)
            decision = routing_service.latest_decisions(session, ticket_ids=[ticket_id]).get(
                ticket_id
            )
            assert stored is not None and decision is not None
            lead = "territorial" if decision.rule == "territorial" else decision.lead_unit
            result.outcomes.append(
                Outcome(
                    case=case,
                    rule=decision.rule,
                    lead=lead,
                    subdistrict=decision.subdistrict,
                    candidates=[c["unit"] for c in decision.candidates],
                    repeat_root=stored.repeat_of,
                    seconds=seconds,
                    inputs=recorded[-1] if recorded else None,
                    scored=decision.repeat_scores or [],
                )
            )
    with session_scope(engine) as session:  # the registry may have learnt a 街镇 since
        for o in result.outcomes:
            stored = session.get(Ticket, result.ticket_of_case[o.case["id"]])
            o.final_subdistrict = stored.subdistrict if stored else None
    engine.dispose()
    return result


def _return_by(
    engine: Any,
    *,
    ticket_id: int,
    desk: User,
    town: User,
    code: str,
    reason: str,
    settings: RoutingSettings,
    serving: ServingModel,
) -> None:
    """The 街镇 is sent the ticket (by routing or the desk) and returns it as not its own."""
    with session_scope(engine, write=True) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        if ticket.lead_unit not in (None, code):
            return  # routing sent it to a line unit at once: nothing for the 街镇 to return
        if ticket.lead_unit is None:
            service.dispatch(
                session,
                connectors=connectors.NONE,
                ticket_id=ticket_id,
                user=desk,
                lead_unit=code,
                assist_units=[],
                policy=POLICY,
            )
    with session_scope(engine, write=True) as session:
        service.return_ticket(
            session,
            serving=serving,
            connectors=connectors.NONE,
            ticket_id=ticket_id,
            user=town,
            reason=reason,
            policy=POLICY,
            routing=settings,
        )


def _share(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def tags_of(case: dict[str, Any]) -> set[str]:
    """The kinds of appeal a case belongs to (plain: none of the others)."""
    tags = set(case.get("tags") or [])
    if case.get("returned_by"):
        tags.add("returned")
    if case.get("repeat_of"):
        tags.add("repeat")
    known = {"returned", "ambiguous", "legacy", "multi_issue", "no_town", "repeat"}
    return tags & known or {"plain"}


def _right(o: Outcome) -> bool:
    return o.lead == o.case["lead"]


def _alts(case: dict[str, Any]) -> set[str]:
    """The lead and, for an ambiguous case, the unit that shares the duty (`alt`)."""
    alt = case.get("alt") or []
    return {case["lead"], *([alt] if isinstance(alt, str) else alt)}


def _knowable(o: Outcome, registered: dict[str, str | None]) -> bool:
    """Whether the address names the 街镇 or the registry holds the enterprise's."""
    return bool(o.case.get("named")) or registered.get(o.case["ent"]) == o.case["town"]


def routed_figures(outcomes: list[Outcome]) -> dict[str, float]:
    """Coverage, lead accuracy and top-1/top-3 of some outcomes."""
    routed = [o for o in outcomes if o.lead is not None]
    ranked = [o for o in outcomes if o.candidates]
    return {
        "cases": len(outcomes),
        "coverage": _share(len(routed), len(outcomes)),
        "lead_accuracy": _share(sum(map(_right, routed)), len(routed)),
        "lead_accuracy_alt": _share(sum(o.lead in _alts(o.case) for o in routed), len(routed)),
        "top1": _share(sum(o.candidates[0] == o.case["lead"] for o in ranked), len(ranked)),
        "top3": _share(sum(o.case["lead"] in o.candidates for o in ranked), len(ranked)),
    }


def _truth_roots(result: Run) -> dict[int, int]:
    """Each case's chain root as a ticket id (itself when it repeats nothing)."""
    roots: dict[int, int] = {}
    for o in result.outcomes:
        root = o.case.get("repeat_of")
        ticket = result.ticket_of_case[o.case["id"]]
        roots[o.case["id"]] = roots.get(root, ticket) if root else ticket
    return roots


def score(result: Run, registered: dict[str, str | None] | None = None) -> dict[str, float]:
    """The figures the issue asks for."""
    outcomes = result.outcomes
    registered = registered or {}
    chain_root = _truth_roots(result)
    flagged = [o for o in outcomes if o.repeat_root is not None]
    truly = [o for o in outcomes if o.case.get("repeat_of")]
    near = [o for o in outcomes if o.case.get("near_miss")]
    correct = [
        o for o in flagged if o.case.get("repeat_of") and o.repeat_root == chain_root[o.case["id"]]
    ]
    named = [o for o in outcomes if o.case.get("named")]
    knowable = [o for o in outcomes if _knowable(o, registered)]

    def town_share(cases: list[Outcome]) -> float:
        return _share(sum(o.final_subdistrict == o.case["town"] for o in cases), len(cases))

    return {
        **routed_figures(outcomes),
        "subdistrict_knowable": town_share(knowable),
        "subdistrict_named": town_share(named),
        "subdistrict_all": town_share(outcomes),
        "repeat_precision": _share(len(correct), len(flagged)),
        "repeat_recall": _share(len(correct), len(truly)),
        "near_miss_flagged": _share(sum(o.repeat_root is not None for o in near), len(near)),
        "repeats_true": len(truly),
        "near_misses": len(near),
        "p50_ms": _p50(result),
        "p99_ms": _p99(result),
    }


def by_tag(result: Run) -> dict[str, dict[str, float]]:
    """Coverage, accuracy and top-3 per kind of appeal."""
    groups: dict[str, list[Outcome]] = {tag: [] for tag in TAGS}
    for o in result.outcomes:
        for tag in tags_of(o.case):
            groups[tag].append(o)
    return {tag: routed_figures(cases) for tag, cases in groups.items() if cases}


def sweep(result: Run, base: RoutingSettings) -> list[tuple[float, float, float, float]]:
    """(lead threshold, screened threshold, coverage, accuracy), each case re-decided."""
    rows = []
    for lead in (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
        for screened in sorted({round(lead - 0.2, 2), round(lead - 0.1, 2), lead}):
            settings = base.model_copy(
                update={
                    "lead_threshold": lead,
                    "territorial_threshold": lead,
                    "screened_threshold": max(screened, 0.05),
                }
            )
            routed = right = 0
            for o in result.outcomes:
                if o.inputs is None:
                    continue
                decision = rules.decide(o.inputs, settings)
                label = "territorial" if decision.rule == rules.TERRITORIAL_RULE else None
                lead_unit = label or decision.lead_unit
                if lead_unit is not None:
                    routed += 1
                    right += lead_unit == o.case["lead"]
            n = len(result.outcomes)
            rows.append((lead, max(screened, 0.05), routed / n, _share(right, routed)))
    return rows


def repeat_sweep(result: Run) -> list[tuple[float, float, float, float]]:
    """(threshold, precision, recall, near misses flagged) from the decisions' scored candidates."""
    chain_root = _truth_roots(result)
    root_of_ticket = {result.ticket_of_case[cid]: root for cid, root in chain_root.items()}
    rows = []
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        flagged = correct = near_flagged = 0
        for o in result.outcomes:
            best = o.scored[0] if o.scored else None
            if best is None or best["score"] < threshold:
                continue
            flagged += 1
            truth = chain_root[o.case["id"]]
            if o.case.get("repeat_of") and root_of_ticket.get(best["ticket_id"]) == truth:
                correct += 1
            near_flagged += bool(o.case.get("near_miss"))
        truly = sum(bool(o.case.get("repeat_of")) for o in result.outcomes)
        near = sum(bool(o.case.get("near_miss")) for o in result.outcomes)
        rows.append(
            (
                threshold,
                _share(correct, flagged),
                _share(correct, truly),
                _share(near_flagged, near),
            )
        )
    return rows


def repeat_mistakes(result: Run) -> list[str]:
    """Each repeat missed or linked to the wrong chain, and each false link: the scored
    candidates (up to five, `*` marks the case's own chain), as case ids."""
    chain_root = _truth_roots(result)
    case_of = {ticket: case for case, ticket in result.ticket_of_case.items()}
    lines = []
    for o in result.outcomes:
        cid, repeat = o.case["id"], bool(o.case.get("repeat_of"))
        right = repeat and o.repeat_root == chain_root[cid]
        if right or not (repeat or o.repeat_root is not None):
            continue
        kind = "missed" if o.repeat_root is None else "wrong chain" if repeat else "false link"
        earlier = [(case_of[s["ticket_id"]], s["score"]) for s in o.scored]
        scored = ", ".join(
            f"{'*' if repeat and chain_root[e] == chain_root[cid] else ''}{e} {score:.3f}"
            for e, score in earlier
        )
        linked = case_of.get(o.repeat_root) if o.repeat_root is not None else None
        lines.append(
            f"  case {cid} {kind}: repeats {o.case.get('repeat_of')}, linked to {linked};"
            f" scored {scored or 'none'}"
        )
    return lines


def _p99(result: Run) -> float:
    return statistics.quantiles([o.seconds for o in result.outcomes], n=100)[98] * 1000


def _p50(result: Run) -> float:
    return statistics.median(o.seconds for o in result.outcomes) * 1000


GOALS = {
    "lead_accuracy": 0.90,
    "coverage": 0.80,
    "top3": 0.98,
    "subdistrict_knowable": 0.97,
    "repeat_precision": 0.90,
    "repeat_recall": 0.85,
}
CEILINGS = {"near_miss_flagged": 0.05}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES, help="A labelled set (YAML).")
    parser.add_argument(
        "--models", type=Path, default=Path("var/models"), help="The model registry folder."
    )
    parser.add_argument("--latency", action="store_true", help="Also time intake without routing.")
    parser.add_argument(
        "--quantized",
        action=argparse.BooleanOptionalAction,
        default=RoutingSettings().quantized,
        help="Serve the int8 encoder (the serving default) or, with --no-quantized, fp32.",
    )
    parser.add_argument(
        "--runtime", choices=["auto", "onnx", "torch"], default="auto", help="Who runs it."
    )
    parser.add_argument("--mistakes", action="store_true", help="List every wrong decision.")
    parser.add_argument(
        "--repeat-mistakes",
        action="store_true",
        help="List every repeat missed or linked wrongly, with its scored candidates.",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="Accuracy against coverage at other thresholds."
    )
    args = parser.parse_args()
    data = yaml.safe_load(args.cases.read_text(encoding="utf-8"))
    serving = ServingModel(args.models, quantized=args.quantized, runtime=args.runtime)
    version = serving.warm()
    if version is None:
        print(f"no active model under {args.models}; run `qisu model build-default`")
        return 1
    runtime = f"{args.runtime} runtime, {'int8' if args.quantized else 'fp32'}"
    print(f"model {version} ({runtime}), {len(data['cases'])} appeals from {args.cases}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        settings = RoutingSettings()
        result = run(data, database=Path(folder) / "routing.db", routing=settings, serving=serving)
        registered = {k: e.get("registered") for k, e in data["enterprises"].items()}
        figures = score(result, registered)
        if args.latency:
            bare = run(
                data,
                database=Path(folder) / "bare.db",
                routing=settings.model_copy(update={"enabled": False}),
                serving=serving,
            )
            figures["p50_ms_without_routing"] = (
                statistics.median(o.seconds for o in bare.outcomes) * 1000
            )
            figures["p99_ms_without_routing"] = _p99(bare)
            figures["p50_ratio"] = figures["p50_ms"] / figures["p50_ms_without_routing"]
    if args.mistakes:
        for o in result.outcomes:
            wrong_lead = o.lead is not None and o.lead != o.case["lead"]
            if wrong_lead or o.final_subdistrict != o.case["town"]:
                print(
                    f"  case {o.case['id']}: {o.rule} -> {o.lead} / {o.final_subdistrict}; "
                    f"want {o.case['lead']} / {o.case['town']}; top {o.candidates}"
                )
    if args.repeat_mistakes:
        print("\n".join(repeat_mistakes(result)))
    for name, value in figures.items():
        goal, ceiling = GOALS.get(name), CEILINGS.get(name)
        mark = ""
        if goal is not None:
            mark = "  ok" if value >= goal else f"  MISSED (goal {goal})"
        elif ceiling is not None:
            mark = "  ok" if value <= ceiling else f"  MISSED (goal <= {ceiling})"
        print(
            f"{name:>24}: {value:.3f}{mark}" if isinstance(value, float) else f"{name:>24}: {value}"
        )
    print(f"{'by kind':>12} {'cases':>6} {'coverage':>9} {'accuracy':>9} {'top1':>6} {'top3':>6}")
    for tag, f in by_tag(result).items():
        print(
            f"{tag:>12} {f['cases']:>6} {f['coverage']:>9.3f} {f['lead_accuracy']:>9.3f}"
            f" {f['top1']:>6.3f} {f['top3']:>6.3f}"
        )
    if args.sweep:
        print("thresholds (lead = territorial, screened): coverage, accuracy of the dispatched")
        for lead, screened, coverage, accuracy in sweep(result, settings):
            print(f"  lead {lead:.2f} screened {screened:.2f}: {coverage:.3f} {accuracy:.3f}")
        print("repeat threshold: precision, recall, near misses flagged")
        for threshold, precision, recall, near in repeat_sweep(result):
            print(f"  {threshold:.2f}: {precision:.3f} {recall:.3f} {near:.3f}")
    met = all(figures[name] >= goal for name, goal in GOALS.items())
    met = met and all(figures[name] <= ceiling for name, ceiling in CEILINGS.items())
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
