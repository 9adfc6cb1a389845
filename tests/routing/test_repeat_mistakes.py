"""bench/routing.py lists the repeats it missed or linked wrongly, with their candidates."""

from bench.routing import Outcome, Run, repeat_mistakes


def _outcome(case: dict, root: int | None, scored: list[tuple[int, float]]) -> Outcome:
    return Outcome(
        case=case,
        rule="line",
        lead=None,
        subdistrict=None,
        candidates=[],
        repeat_root=root,
        seconds=0.0,
        scored=[{"ticket_id": t, "score": s} for t, s in scored],
    )


def test_a_missed_follow_up_and_the_wrong_chain_it_leads_to_are_listed() -> None:
    # 2 repeats 1 and is missed; 3 repeats 2 and is linked to 2 (its own root, not 1's);
    # 4 is another matter linked to 1. Tickets are the case ids times ten.
    run = Run(
        outcomes=[
            _outcome({"id": 1}, None, []),
            _outcome({"id": 2, "repeat_of": 1}, None, [(10, 0.4)]),
            _outcome({"id": 3, "repeat_of": 2}, 20, [(20, 0.99), (10, 0.58)]),
            _outcome({"id": 4}, 10, [(10, 0.7)]),
        ],
        ticket_of_case={1: 10, 2: 20, 3: 30, 4: 40},
    )
    assert repeat_mistakes(run) == [
        "  case 2 missed: repeats 1, linked to None; scored *1 0.400",
        "  case 3 wrong chain: repeats 2, linked to 2; scored *2 0.990, *1 0.580",
        "  case 4 false link: repeats None, linked to 1; scored 1 0.700",
    ]
