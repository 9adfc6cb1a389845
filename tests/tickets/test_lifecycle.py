"""The closed loop through the API: every action, the illegal moves, and who may act."""

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import row_count
from tests.tickets.conftest import Loop
from tickets import lifecycle


def test_the_whole_loop_to_closed(loop: Loop) -> None:
    ticket = loop.dispatch()
    assert ticket["status"] == "dispatched"
    assert ticket["lead_unit"] == "market_regulation" and ticket["assist_units"] == ["anting"]
    assert ticket["subdistrict"] == "anting"
    assert loop.act("acknowledge", loop.market)["status"] == "acknowledged"
    assert loop.act("contact", loop.market, {"note": "已联系"})["status"] == "contacted"
    replied = loop.act("reply", loop.market, {"content": "已办理"})
    assert replied["status"] == "replied" and replied["reply"] == "已办理"
    verified = loop.act("callback", loop.desk, {"satisfaction": "satisfied"})
    assert verified["status"] == "verified" and verified["satisfaction"] == "satisfied"
    closed = loop.act("close", loop.desk)
    assert closed["status"] == "closed" and closed["closed_at"]
    assert {a["state"] for a in closed["assignments"]} == {"done"}
    assert loop.events() == [
        "received",
        "dispatch",
        "acknowledge",
        "contact",
        "reply",
        "callback",
        "close",
    ]


def test_unsatisfied_callback_reopens(loop: Loop) -> None:
    loop.to_replied()
    reopened = loop.act("callback", loop.desk, {"satisfaction": "unsatisfied", "note": "没解决"})
    assert reopened["status"] == "reopened" and reopened["reopen_count"] == 1
    lead = next(a for a in reopened["assignments"] if a["role"] == "lead")
    assert lead["acknowledged_at"] is None and lead["replied_at"] is None
    loop.act("acknowledge", loop.market)
    loop.act("contact", loop.market, {"note": "再次联系"})
    loop.act("reply", loop.market, {"content": "重新办理完毕"})
    final = loop.act("callback", loop.desk, {"satisfaction": "basically_satisfied"})
    assert final["status"] == "verified" and final["reopen_count"] == 1


def test_return_goes_back_to_triage(loop: Loop) -> None:
    loop.dispatch()
    loop.act("acknowledge", loop.market)
    returned = loop.act("return", loop.market, {"reason": "属于劳动关系纠纷，非本局职权"})
    assert returned["status"] == "triage" and returned["lead_unit"] is None
    assert returned["return_count"] == 1 and returned["assist_units"] == []
    lead = next(a for a in returned["assignments"] if a["role"] == "lead")
    assert lead["state"] == "returned" and lead["return_reason"].startswith("属于劳动")
    again = loop.act("dispatch", loop.desk, {"lead_unit": "hrss"})
    assert again["lead_unit"] == "hrss" and again["status"] == "dispatched"
    # The unit that returned it no longer reads it, let alone acts (issue 16, finding 3).
    loop.act("acknowledge", loop.market, expect=404)
    assert loop.client.get(f"/api/v1/tickets/{loop.id}", headers=loop.market).status_code == 404


def test_extension_needs_a_supervisor(loop: Loop) -> None:
    loop.dispatch()
    loop.act("acknowledge", loop.market)
    asked = loop.act("request-extension", loop.market, {"days": 10, "reason": "需现场核查"})
    assert asked["extension_requested_days"] == 10
    loop.act("request-extension", loop.market, {"days": 3, "reason": "再延"}, expect=409)
    loop.act("approve-extension", loop.market, expect=403)
    approved = loop.act("approve-extension", loop.supervisor, {"note": "同意"})
    assert approved["extension_days"] == 10 and approved["extension_requested_days"] is None
    loop.act("approve-extension", loop.supervisor, expect=409)
    loop.act("request-extension", loop.market, {"days": 5, "reason": "仍需时间"})
    refused = loop.act("reject-extension", loop.supervisor, {"note": "不同意"})
    assert refused["extension_days"] == 10 and refused["extension_requested_days"] is None


ILLEGAL_MOVES = {
    # action: (steps that lead to a state where it is illegal, who tries it, its body)
    "acknowledge": (["dispatch", "acknowledge"], "market", None),
    "contact": (["dispatch"], "market", {"note": "x"}),
    "reply": (["dispatch"], "market", {"content": "x"}),
    "callback": (["dispatch", "acknowledge"], "desk", {"satisfaction": "satisfied"}),
    "return": (["replied"], "market", {"reason": "x"}),
    "close": (["dispatch"], "desk", None),
    "dispatch": (["dispatch"], "desk", {"lead_unit": "tax"}),
}


@pytest.mark.parametrize("action", ILLEGAL_MOVES)
def test_illegal_moves_are_409_and_write_nothing(loop: Loop, engine: Engine, action: str) -> None:
    steps, who, body = ILLEGAL_MOVES[action]
    for step in steps:
        {
            "dispatch": loop.dispatch,
            "acknowledge": lambda: loop.act("acknowledge", loop.market),
            "replied": loop.to_replied,
        }[step]()
    events = row_count(engine, "ticketevent")
    error = loop.act(action, getattr(loop, who), body, expect=409)
    assert error["code"] == "illegal_transition"
    verb = lifecycle.ACTION_NAMES[action]
    assert f"不能“{verb}”" in error["detail"] and "只适用于" in error["detail"]
    assert "请刷新页面" in error["detail"]
    assert row_count(engine, "ticketevent") == events


def test_reply_before_contact_is_refused(loop: Loop) -> None:
    loop.dispatch()
    loop.act("acknowledge", loop.market)
    error = loop.act("reply", loop.market, {"content": "x"}, expect=409)
    assert error["detail"] == (
        f"工单 {loop.id} 当前为“已签收”，不能“答复”：“答复”只适用于“已先行联系”的工单。"
        "请刷新页面查看工单的最新状态"
    )


def test_roles_act_only_within_their_rights(loop: Loop) -> None:
    # An undispatched ticket is nobody's yet: a unit cannot see it, let alone dispatch it.
    loop.act("dispatch", loop.market, {"lead_unit": "market_regulation"}, expect=404)
    loop.dispatch()
    loop.act("callback", loop.market, {"satisfaction": "satisfied"}, expect=403)
    loop.act("acknowledge", loop.hrss, expect=404)  # not its ticket: it cannot even see it
    loop.act("acknowledge", loop.anting, expect=403)  # assists, so it sees but does not lead
    loop.act("acknowledge", loop.desk, expect=403)
    loop.act("acknowledge", loop.market)


def test_dispatch_to_unknown_unit_names_the_field(loop: Loop, engine: Engine) -> None:
    events = row_count(engine, "ticketevent")
    error = loop.act("dispatch", loop.desk, {"lead_unit": "ministry_of_magic"}, expect=422)
    # The field is named; the input is not echoed (issue 16, finding 9).
    assert error["field"] == "lead_unit" and "ministry_of_magic" not in error["detail"]
    error = loop.act(
        "dispatch", loop.desk, {"lead_unit": "tax", "assist_units": ["nowhere"]}, expect=422
    )
    assert error["field"] == "assist_units"
    error = loop.act("dispatch", loop.desk, {"lead_unit": "tax", "subdistrict": "tax"}, expect=422)
    assert "不是街镇" in error["detail"] and error["code"] == "invalid_input"
    assert row_count(engine, "ticketevent") == events
    assert row_count(engine, "assignment") == 0


def test_stale_version_is_409(loop: Loop) -> None:
    ticket = loop.dispatch()
    loop.act("acknowledge", loop.market, {"version": ticket["version"]})
    error = loop.act("contact", loop.market, {"note": "x", "version": ticket["version"]}, 409)
    assert error["code"] == "stale_version" and "已被他人修改" in error["detail"]
    assert f"您看到的是第 {ticket['version']} 版" in error["detail"]


def test_events_record_who_what_before_after(loop: Loop) -> None:
    loop.dispatch()
    events = loop.client.get(f"/api/v1/tickets/{loop.id}/events", headers=loop.desk).json()
    received, dispatched = events
    assert received["before"] == {} and received["after"]["status"] == "triage"
    assert dispatched["before"]["status"] == "triage"
    assert dispatched["after"]["status"] == "dispatched"
    assert dispatched["after"]["lead_unit"] == "market_regulation"
    assert dispatched["after"]["assist_units"] == ["anting"]
    assert dispatched["actor"].startswith("operator")


def test_every_action_has_its_console_name() -> None:
    """A refusal names the action as the console does; an action without a name would be a 500."""
    assert set(lifecycle.TRANSITIONS) == set(lifecycle.ACTION_NAMES)
