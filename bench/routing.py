"""Routing on a labelled set of Jiading appeals: each one taken in through intake, in order.

Runs bench/data/routing-eval.yaml (or --cases FILE of the same form) through `tickets.service`
on a fresh SQLite database with the active model, returns the 街镇-returned cases as the 街镇
would, and prints lead accuracy and coverage, top-1/top-3, 街镇 accuracy and repeat precision and
recall. With --latency it also takes the set in with routing off, and prints intake's p50 both
ways. Exits 1 when a goal is missed (lead ≥ 0.90 at coverage ≥ 0.80, 街镇 ≥ 0.95 where the
address names it, repeats precision ≥ 0.90 and recall ≥ 0.85).
"""

import argparse
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
from models import Enterprise, Role, Ticket, User
from routing import model as routing_model
from routing import service as routing_service
from routing.settings import get_routing_settings
from tickets import service
from tickets.credit_code import check_character
from tickets.schemas import TicketCreate
from units import service as units_service

CASES = Path(__file__).parent / "data" / "routing-eval.yaml"
START = datetime(2026, 9, 1, 1, 30, tzinfo=UTC)


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


def run(data: dict[str, Any], *, database: Path) -> Run:
    """Take every case in, in order, on a fresh database; return what routing decided."""
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
            ticket, _ = service.intake(session, data=_payload(case, names, index), user=desk)
            ticket_id = ticket.id or 0
        seconds = time.perf_counter() - started
        result.ticket_of_case[case["id"]] = ticket_id
        town = case.get("returned_by")
        if town:
            _return_by(engine, ticket_id=ticket_id, desk=desk, town=towns[town], code=town)
        with session_scope(engine) as session:
            stored = session.get(Ticket, ticket_id)
            decision = routing_service.latest(session, ticket_id=ticket_id)
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
                )
            )
    engine.dispose()
    return result


def _return_by(engine: Any, *, ticket_id: int, desk: User, town: User, code: str) -> None:
    """The 街镇 is sent the ticket (by routing or the desk) and returns it as not its own."""
    with session_scope(engine, write=True) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        if ticket.lead_unit not in (None, code):
            return  # routing sent it to a line unit at once: nothing for the 街镇 to return
        if ticket.lead_unit is None:
            service.dispatch(
                session, ticket_id=ticket_id, user=desk, lead_unit=code, assist_units=[]
            )
    with session_scope(engine, write=True) as session:
        service.return_ticket(
            session, ticket_id=ticket_id, user=town, reason="不属于街镇职权，应由条线部门处理"
        )


def _share(hits: int, total: int) -> float:
    return hits / total if total else float("nan")


def score(result: Run) -> dict[str, float]:
    """The figures the issue asks for."""
    outcomes = result.outcomes
    routed = [o for o in outcomes if o.lead is not None]
    right = [o for o in routed if o.lead == o.case["lead"]]
    named = [o for o in outcomes if o.case.get("named")]
    chain_root: dict[int, int] = {}
    for o in outcomes:  # the truth: each case's chain root, as a ticket id
        root = o.case.get("repeat_of")
        ticket = result.ticket_of_case[o.case["id"]]
        chain_root[o.case["id"]] = chain_root.get(root, ticket) if root else ticket
    flagged = [o for o in outcomes if o.repeat_root is not None]
    truly = [o for o in outcomes if o.case.get("repeat_of")]
    correct = [
        o for o in flagged if o.case.get("repeat_of") and o.repeat_root == chain_root[o.case["id"]]
    ]
    ranked = [o for o in outcomes if o.candidates]

    def town_share(cases: list[Outcome]) -> float:
        return _share(sum(o.subdistrict == o.case["town"] for o in cases), len(cases))

    return {
        "cases": len(outcomes),
        "coverage": _share(len(routed), len(outcomes)),
        "lead_accuracy": _share(len(right), len(routed)),
        "top1": _share(sum(o.candidates[0] == o.case["lead"] for o in ranked), len(ranked)),
        "top3": _share(sum(o.case["lead"] in o.candidates for o in ranked), len(ranked)),
        "subdistrict_named": _share(
            sum(o.subdistrict == o.case["town"] for o in named), len(named)
        ),
        "subdistrict_all": _share(
            sum(o.subdistrict == o.case["town"] for o in outcomes), len(outcomes)
        ),
        "repeat_precision": _share(len(correct), len(flagged)),
        "repeat_recall": _share(len(correct), len(truly)),
        "near_miss_flagged": sum(1 for o in flagged if o.case.get("near_miss")),
        "p50_ms": _p50(result),
    }


def _p50(result: Run) -> float:
    return statistics.median(o.seconds for o in result.outcomes) * 1000


GOALS = {
    "lead_accuracy": 0.90,
    "coverage": 0.80,
    "subdistrict_named": 0.95,
    "repeat_precision": 0.90,
    "repeat_recall": 0.85,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES, help="A labelled set (YAML).")
    parser.add_argument(
        "--models", type=Path, default=Path("var/models"), help="The model registry folder."
    )
    parser.add_argument("--latency", action="store_true", help="Also time intake without routing.")
    parser.add_argument("--quantized", action="store_true", help="Serve the int8 encoder.")
    parser.add_argument("--mistakes", action="store_true", help="List every wrong decision.")
    args = parser.parse_args()
    data = yaml.safe_load(args.cases.read_text(encoding="utf-8"))
    routing_model.use(args.models, quantized=args.quantized)
    version = routing_model.warm()
    if version is None:
        print(f"no active model under {args.models}; run `qisu model build-default`")
        return 1
    print(f"model {version}, {len(data['cases'])} appeals from {args.cases}")
    with tempfile.TemporaryDirectory() as folder:
        result = run(data, database=Path(folder) / "routing.db")
        figures = score(result)
        if args.latency:
            get_routing_settings().enabled = False
            bare = run(data, database=Path(folder) / "bare.db")
            get_routing_settings().enabled = True
            figures["p50_ms_without_routing"] = (
                statistics.median(o.seconds for o in bare.outcomes) * 1000
            )
            figures["p50_ratio"] = figures["p50_ms"] / figures["p50_ms_without_routing"]
    if args.mistakes:
        for o in result.outcomes:
            if (o.lead is not None and o.lead != o.case["lead"]) or o.subdistrict != o.case["town"]:
                print(
                    f"  case {o.case['id']}: {o.rule} -> {o.lead} / {o.subdistrict}; "
                    f"want {o.case['lead']} / {o.case['town']}; top {o.candidates}"
                )
    for name, value in figures.items():
        goal = GOALS.get(name)
        mark = "" if goal is None else ("  ok" if value >= goal else f"  MISSED (goal {goal})")
        print(
            f"{name:>24}: {value:.3f}{mark}" if isinstance(value, float) else f"{name:>24}: {value}"
        )
    return 0 if all(figures[name] >= goal for name, goal in GOALS.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
