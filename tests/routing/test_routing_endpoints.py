"""Preview, similar cases, 一类事 clusters, and intake that degrades instead of failing."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.main import create_app
from core.config import Settings
from tests.conftest import MakeUser, credit_code, row_count
from tests.routing.conftest import VERSION, appeal
from tests.routing.test_routed_intake import LICENCE, LICENCE_AGAIN, close_loop, post


def test_preview_decides_and_finds_repeats_without_storing_anything(
    routed: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    first = post(routed, operator, appeal(1, LICENCE))
    before = {t: row_count(engine, t) for t in ("ticket", "routing_decision", "ticketevent")}
    body = {
        "text": LICENCE_AGAIN,
        "address": "嘉定区安亭镇墨玉路185号",
        "credit_code": credit_code(1),
        "received_at": "2026-11-20T02:00:00+00:00",
    }
    response = routed.post("/api/v1/routing/preview", json=body, headers=operator)
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["routing"]["lead_unit"] == "market_regulation"
    assert preview["routing"]["model_version"] == VERSION
    assert "repeat" in preview["routing"]["screened_by"]
    assert [r["ticket_id"] for r in preview["repeats"]] == [first["id"]]
    assert preview["repeats"][0]["text"] == LICENCE[:200]
    assert preview["repeats"][0]["status"] == first["status"]
    assert preview["similar"] == []  # nothing answered yet
    assert {t: row_count(engine, t) for t in before} == before
    assert (
        routed.post("/api/v1/routing/preview", json={"text": ""}, headers=operator).status_code
        == 422
    )


def test_similar_cases_show_how_earlier_tickets_were_answered(
    routed: TestClient, operator: dict[str, str], make_user: MakeUser
) -> None:
    solved = post(routed, operator, appeal(1, LICENCE))
    close_loop(routed, solved["id"], operator, make_user)
    later = appeal(2, LICENCE_AGAIN, received_at="2026-12-01T02:00:00+00:00")
    ticket = post(routed, operator, later)
    found = routed.get(f"/api/v1/tickets/{ticket['id']}/similar", headers=operator).json()
    assert [(s["ticket_id"], s["reply"], s["lead_unit"]) for s in found] == [
        (solved["id"], "已办结", "market_regulation")
    ]
    assert routed.get("/api/v1/tickets/999/similar", headers=operator).status_code == 404
    # The preview shows the same answered cases while the operator is still on the phone.
    body = {"text": LICENCE_AGAIN, "address": "嘉定区安亭镇墨玉路185号"}
    preview = routed.post("/api/v1/routing/preview", json=body, headers=operator).json()
    assert [(s["ticket_id"], s["reply"], s["lead_unit"]) for s in preview["similar"]] == [
        (solved["id"], "已办结", "market_regulation")
    ]
    assert preview["similar"][0]["text"] == found[0]["text"]


def test_clusters_gather_enterprises_raising_one_matter(
    routed: TestClient, operator: dict[str, str], supervisor: dict[str, str]
) -> None:
    for n, address in enumerate(["嘉定区安亭镇墨玉路1号", "南翔镇德园路2号", "马陆镇陈家山路3号"]):
        post(routed, operator, appeal(n + 1, LICENCE, address=address))
    post(routed, operator, appeal(9, "上个季度申报的出口退税到现在还没有到账，请加快审核。"))
    url = "/api/v1/clusters?from=2026-11-01T00:00:00%2B08:00&to=2026-12-01T00:00:00%2B08:00"
    clusters = routed.get(url, headers=supervisor).json()
    assert len(clusters) == 1
    (cluster,) = clusters
    assert (cluster["size"], cluster["lead_unit"], cluster["text"]) == (
        3,
        "market_regulation",
        LICENCE,
    )
    assert cluster["subdistricts"] == ["anting", "malu", "nanxiang"]
    assert cluster["enterprise_names"][0].startswith("上海测试企业")
    assert routed.get(url, headers=operator).status_code == 403
    assert routed.get(url + "&min_enterprises=4", headers=supervisor).json() == []


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        (
            {"text": "Our licence change has been pending for two weeks, please help!"},
            "unreadable text",
        ),
        ({"text": "？？？！！！###@@@ 123 ~~~"}, "unreadable text"),
        ({"address": "上海市闵行区七莘路100号"}, "outside Jiading"),
    ],
)
def test_bad_input_degrades_to_triage_with_the_reason(
    routed: TestClient, operator: dict[str, str], overrides: dict[str, str], rule: str
) -> None:
    body = appeal(1, LICENCE) | overrides
    ticket = post(routed, operator, body)
    assert (ticket["status"], ticket["routing"]["rule"]) == ("triage", rule)
    assert ticket["routing"]["reasons"]


def test_a_line_unit_matter_leads_without_a_town(
    routed: TestClient, operator: dict[str, str]
) -> None:
    # Changed on purpose (issue 13, item 4): it waited in triage under rule "no 街镇" before.
    ticket = post(routed, operator, appeal(1, LICENCE, address="不详"))
    assert (ticket["status"], ticket["lead_unit"], ticket["subdistrict"]) == (
        "dispatched",
        "market_regulation",
        None,
    )
    assert ticket["assist_units"] == []


@pytest.fixture
def broken(settings: Settings, models_dir: Path) -> Iterator[TestClient]:
    """An app whose active model folder is damaged."""
    models = settings.data_dir / "models"
    shutil.copytree(models_dir, models)
    # The graphs ONNX Runtime serves, fp32 and int8 (the torch weights are not read then).
    for graph in ("encoder.onnx", "encoder-int8.onnx"):
        (models / VERSION / "onnx" / graph).write_bytes(b"not an ONNX graph")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_a_model_that_fails_to_load_never_fails_intake(
    broken: TestClient, operator: dict[str, str], settings: Settings, models_dir: Path
) -> None:
    ticket = post(broken, operator, appeal(1, LICENCE))
    assert (ticket["status"], ticket["routing"]["rule"]) == ("triage", "model failed")
    assert "ONNX Runtime cannot load it" in ticket["routing"]["reasons"][0]
    assert post(broken, operator, appeal(2, LICENCE))["routing"]["rule"] == "model failed"
    # Activating a sound version recovers without a restart.
    models = settings.data_dir / "models"
    shutil.copytree(models_dir / VERSION, models / "sound")
    (models / "ACTIVE").write_text("sound\n", encoding="utf-8")
    recovered = post(broken, operator, appeal(3, LICENCE))
    assert (recovered["routing"]["rule"], recovered["routing"]["model_version"]) == (
        "line unit",
        "sound",
    )


def test_without_a_model_intake_routes_to_triage(
    client: TestClient, operator: dict[str, str]
) -> None:
    ticket = post(client, operator, appeal(1, LICENCE))
    assert (ticket["status"], ticket["routing"]["rule"]) == ("triage", "no model")
    assert ticket["subdistrict"] == "anting"  # locality needs no model
