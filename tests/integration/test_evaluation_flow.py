"""The 吹哨、报到、反向评价、晾晒 flow over real HTTP against a server process."""

from typing import Any

import httpx

from core.timezone import SHANGHAI
from models import Role, utcnow
from tests.conftest import MakeUser, ticket_payload
from tests.integration.conftest import LiveServer


def test_whistle_evaluate_close_and_rank(live_server: LiveServer, make_user: MakeUser) -> None:
    anting = make_user(Role.SUBDISTRICT, "anting")
    market = make_user(Role.UNIT_HANDLER, "market_regulation")
    desk = make_user(Role.OPERATOR)
    boss = make_user(Role.SUPERVISOR)
    month = utcnow().astimezone(SHANGHAI).strftime("%Y-%m")
    with httpx.Client(base_url=f"{live_server.url}/api/v1", timeout=30) as http:

        def post(path: str, who: dict[str, str], body: Any = None, expect: int = 200) -> Any:
            response = http.post(path, json=body, headers=who)
            assert response.status_code == expect, response.text
            return response.json()

        ticket = post("/tickets", desk, ticket_payload(), expect=201)
        post(f"/tickets/{ticket['id']}/dispatch", desk, {"lead_unit": "market_regulation"})
        post(f"/tickets/{ticket['id']}/acknowledge", market)
        body = {
            "units": ["market_regulation"],
            "text": "企业诉求需现场会商",
            "ticket_ids": [ticket["id"]],
        }
        whistle = post("/whistles", anting, body, expect=201)
        post(f"/whistles/{whistle['id']}/report", market, {"contact": "王科长", "plan": "明日到场"})
        post(f"/whistles/{whistle['id']}/outcome", market, {"content": "已现场会商解决"})
        assert post(f"/whistles/{whistle['id']}/confirm", anting)["status"] == "confirmed"

        post("/evaluation-periods", boss, {"period": month}, expect=201)
        todo = http.get(f"/evaluations/todo?period={month}", headers=anting).json()
        # The ticket lies in 安亭 (its address names the town), so it is shared work too.
        assert todo == [
            {
                "unit": "market_regulation",
                "ticket_ids": [ticket["id"]],
                "whistle_ids": [whistle["id"]],
                "evaluation_id": None,
            }
        ]
        scores = {"timeliness": 5, "effectiveness": 4, "cooperation": 5}
        evaluation = {"period": month, "unit": "market_regulation", **scores}
        made = post("/evaluations", anting, {**evaluation, "whistle_ids": [whistle["id"]]}, 201)
        edited = http.patch(f"/evaluations/{made['id']}", json={"effectiveness": 5}, headers=anting)
        assert edited.status_code == 200
        post(f"/evaluation-periods/{month}/close", boss)
        frozen = http.patch(f"/evaluations/{made['id']}", json={"timeliness": 1}, headers=anting)
        assert frozen.status_code == 409

        ranking = http.get(f"/rankings?period={month}", headers=boss).json()
        first = ranking[0]
        assert first["unit"] == "market_regulation" and first["rank"] == 1
        # One evaluation would be anting's own scores: too few to show (评价数不足).
        assert first["timeliness"] is None and first["evaluation_note"] == "评价数不足"
        assert first["evaluations"] == 1
        assert first["whistle_report_on_time_rate"] == 1.0
        assert first["acknowledged_on_time_rate"] == 1.0
        own = http.get(f"/rankings?period={month}", headers=market).json()
        assert [row["unit"] for row in own] == ["market_regulation"]
        comments = http.get(f"/evaluations?period={month}", headers=market).json()
        assert comments == []  # a department reads them from three on
        exported = http.get(f"/rankings/export?period={month}&format=xlsx", headers=boss)
        assert exported.status_code == 200 and exported.content[:2] == b"PK"
