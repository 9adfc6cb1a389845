"""Scorecards and rankings of line departments (评价晾晒, item 56).

Each figure is a share in 0..1 (evaluation averages map 1..5 onto it); the composite score is
100 times the weighted mean of the figures a department has, so a department is not punished
for a figure it had no occasion to earn, and the weights come from configuration.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, func, select

from deadlines.working_time import WorkingCalendar
from evaluations.service import MIN_SHOWN, TOO_FEW, get_period, span
from models import EVALUATED_KINDS, Evaluation, EvaluationPeriod, Stage, Unit
from tickets.kpis import led_by_unit, on_time_rates_by_unit

DEFAULT_WEIGHTS = Path(__file__).parent / "data" / "ranking-weights.yaml"
# Figures where lower is better enter the score as 1 - value.
LOWER_IS_BETTER = {"return_rate", "repeat_rate"}
FIGURES = (
    "timeliness",
    "effectiveness",
    "cooperation",
    "whistle_report_on_time_rate",
    "acknowledged_on_time_rate",
    "replied_on_time_rate",
    "satisfaction_rate",
    "return_rate",
    "repeat_rate",
)


def load_weights(path: Path | None = None) -> dict[str, float]:
    """The figure weights (the shipped defaults when no file is given)."""
    path = path or DEFAULT_WEIGHTS
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(raw) - set(FIGURES)
    if unknown:
        raise ValueError(f"{path}: unknown figures {', '.join(sorted(unknown))}")
    weights = {name: float(raw.get(name, 0.0)) for name in FIGURES}
    if any(w < 0 for w in weights.values()) or not sum(weights.values()):
        raise ValueError(f"{path}: weights must be non-negative and not all zero")
    return weights


@dataclass
class Scorecard:
    """One department's figures for a period, its score and rank."""

    unit: str
    name: str
    evaluations: int
    figures: dict[str, float | None]
    score: float | None = None
    rank: int | None = None
    previous_rank: int | None = None
    score_change: float | None = None
    averages: dict[str, float | None] = field(default_factory=dict)  # the 1..5 means
    counts: dict[str, int] = field(default_factory=dict)
    evaluation_note: str | None = None  # 评价数不足 below MIN_SHOWN evaluations


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _evaluation_averages(
    session: Session, period: EvaluationPeriod
) -> dict[str, tuple[int, dict[str, float | None]]]:
    """Per department, how many evaluations it has and their 1..5 means (one query)."""
    names = ("timeliness", "effectiveness", "cooperation")
    rows = session.execute(
        sa_select(
            col(Evaluation.unit),
            func.count(),
            *(func.avg(getattr(Evaluation, name)) for name in names),
        )
        .where(col(Evaluation.period) == period.period)
        .group_by(col(Evaluation.unit))
    ).all()
    out: dict[str, tuple[int, dict[str, float | None]]] = {}
    for unit, n, *means in rows:
        # Below MIN_SHOWN evaluations their averages would be one 街镇's own scores: left out.
        enough = n >= MIN_SHOWN
        out[unit] = (
            int(n),
            {k: round(float(m), 4) if enough else None for k, m in zip(names, means, strict=True)},
        )
    return out


def _scorecards(
    session: Session, units: list[Unit], period: EvaluationPeriod, *, rolled: bool
) -> list[Scorecard]:
    """Every department's scorecard for a period, from a handful of grouped queries in all."""
    start, end = span(period)
    evaluations = _evaluation_averages(session, period)
    tickets = on_time_rates_by_unit(
        session, start=start, end=end, stages=(Stage.ACKNOWLEDGE, Stage.REPLY), rolled=rolled
    )
    reports = on_time_rates_by_unit(
        session, start=start, end=end, stages=(Stage.REPORT,), whistles=True
    )
    led = led_by_unit(session, start=start, end=end, rolled=rolled)
    empty: dict[str, float | None] = dict.fromkeys(("timeliness", "effectiveness", "cooperation"))
    cards = []
    for unit in units:
        count, averages = evaluations.get(unit.code, (0, dict(empty)))
        work = led.get(unit.code, {})
        report_rate, report_count = reports.get((unit.code, Stage.REPORT), (None, 0))
        figures: dict[str, float | None] = {
            **{k: None if v is None else round((v - 1) / 4, 4) for k, v in averages.items()},
            "whistle_report_on_time_rate": report_rate,
            "acknowledged_on_time_rate": tickets.get((unit.code, Stage.ACKNOWLEDGE), (None, 0))[0],
            "replied_on_time_rate": tickets.get((unit.code, Stage.REPLY), (None, 0))[0],
            "satisfaction_rate": _share(work.get("satisfied", 0), work.get("rated", 0)),
            "return_rate": _share(work.get("returned", 0), work.get("led", 0)),
            "repeat_rate": _share(work.get("repeats", 0), work.get("tickets", 0)),
        }
        card = Scorecard(unit=unit.code, name=unit.short_name, evaluations=count, figures=figures)
        card.evaluation_note = None if count >= MIN_SHOWN else TOO_FEW
        card.averages = averages
        card.counts = {
            "led": work.get("led", 0),
            "rated": work.get("rated", 0),
            "whistle_reports": report_count,
        }
        cards.append(card)
    return cards


def _score(figures: dict[str, float | None], weights: dict[str, float]) -> float | None:
    present = {k: v for k, v in figures.items() if v is not None and weights.get(k)}
    total = sum(weights[k] for k in present)
    if not total:
        return None
    value = sum(weights[k] * (1 - v if k in LOWER_IS_BETTER else v) for k, v in present.items())
    return round(100 * value / total, 2)


def rank(
    session: Session,
    *,
    period: str,
    weights: dict[str, float],
    calendar: WorkingCalendar,
    rolled: bool = True,
) -> list[Scorecard]:
    """Every active line department's scorecard, best first; unscored ones last, unranked.

    The ticket figures come from the daily roll-up unless `rolled` is false (the same, live).
    """
    current = get_period(session, period)
    cards = _ranked(session, current, weights, rolled=rolled)
    previous = session.exec(
        select(EvaluationPeriod)
        .where(col(EvaluationPeriod.ends) < current.starts)
        .order_by(col(EvaluationPeriod.ends).desc())
    ).first()
    if previous is not None:
        before = {c.unit: c for c in _ranked(session, previous, weights, rolled=rolled)}
        for card in cards:
            old = before.get(card.unit)
            if old is not None:
                card.previous_rank = old.rank
                if card.score is not None and old.score is not None:
                    card.score_change = round(card.score - old.score, 2)
    return cards


def _ranked(
    session: Session, period: EvaluationPeriod, weights: dict[str, float], *, rolled: bool
) -> list[Scorecard]:
    units = session.exec(
        select(Unit).where(col(Unit.kind).in_(EVALUATED_KINDS), Unit.active == True)  # noqa: E712
    ).all()
    cards = _scorecards(session, list(units), period, rolled=rolled)
    for card in cards:
        card.score = _score(card.figures, weights)
    scored = sorted(
        (c for c in cards if c.score is not None), key=lambda c: (-(c.score or 0), c.unit)
    )
    previous_score, previous_rank = None, 0
    for position, card in enumerate(scored, start=1):
        # Equal scores share a rank (1, 2, 2, 4).
        card.rank = previous_rank if card.score == previous_score else position
        previous_score, previous_rank = card.score, card.rank
    unscored = sorted((c for c in cards if c.score is None), key=lambda c: c.unit)
    return scored + unscored
