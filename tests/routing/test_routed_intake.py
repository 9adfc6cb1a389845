"""Intake with a trained model: routed, screened, linked to its history, judged by operators."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from app.cli import cli
from classifier.inference import Classifier
from core.config import Settings
from models import Role
from routing.model import ServingModel
from tests.conftest import MakeUser, row_count
from tests.routing.conftest import appeal

LICENCE = "我们公司两周前在网上提交了营业执照经营范围变更，到现在还显示审核中，请尽快办结变更登记。"
LICENCE_AGAIN = (
    "再次反映：我们公司在网上提交的营业执照经营范围变更，到现在还显示审核中，请尽快办结。"
)
VILLAGE = "村委会要求我们每年交一笔管理费，没有任何依据，请镇里核实。"
PUDDLE = "园区道路积水，请镇里协调排水。"


def post(client: TestClient, who: dict[str, str], body: dict[str, Any], expect: int = 201) -> Any:
    response = client.post("/api/v1/tickets", json=body, headers=who)
    assert response.status_code == expect, response.text
    return response.json()


def test_a_clear_appeal_is_dispatched_to_its_line_unit(
    routed: TestClient, operator: dict[str, str]
) -> None:
    ticket = post(routed, operator, appeal(1, LICENCE))
    assert (ticket["status"], ticket["lead_unit"], ticket["subdistrict"]) == (
        "dispatched",
        "market_regulation",
        "anting",
    )
    routing = ticket["routing"]
    assert routing["rule"] == "line unit" and routing["lead_unit"] == "market_regulation"
    assert routing["model_version"] == "jiading-test" and routing["locality_source"] == "name"
    assert routing["candidates"][0]["unit"] == "market_regulation"
    assert len(routing["candidates"]) == 3
    assert routing["confidence"] >= 0.6
    assert [d["stage"] for d in ticket["deadlines"]][:3] == ["acknowledge", "contact", "reply"]
    events = routed.get(f"/api/v1/tickets/{ticket['id']}/events", headers=operator).json()
    assert [e["action"] for e in events] == ["received", "dispatch"]
    assert events[1]["actor"] == "system" and ": line unit " in events[1]["note"]


def test_a_territorial_matter_goes_to_the_town_of_its_address(
    routed: TestClient, operator: dict[str, str]
) -> None:
    ticket = post(routed, operator, appeal(1, VILLAGE, address="嘉定区马陆镇大裕村500号"))
    assert (ticket["lead_unit"], ticket["routing"]["rule"]) == ("malu", "territorial")


def test_repeats_link_to_the_root_count_and_escalate(
    routed: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    first = post(routed, operator, appeal(1, LICENCE))
    again = appeal(1, LICENCE_AGAIN, external_id="JD-2", received_at="2026-11-20T02:00:00+00:00")
    second = post(routed, operator, again)
    assert (second["repeat_of"], second["repeat_count"]) == (first["id"], 1)
    assert "repeat" in second["routing"]["screened_by"]
    (match,) = second["routing"]["repeats"]
    assert (match["ticket_id"], match["root_id"]) == (first["id"], first["id"])
    assert match["similarity"] >= 0.4  # the pair scorer's probability, at its threshold
    assert second["escalation_level"] == 0
    third_body = appeal(
        1, LICENCE_AGAIN + "第三次了。", external_id="JD-3", received_at="2026-11-25T02:00:00+00:00"
    )
    third = post(routed, operator, third_body)
    assert (third["repeat_of"], third["repeat_count"], third["escalation_level"]) == (
        first["id"],
        2,
        1,
    )
    assert row_count(engine, "notification") == 1  # 督办: supervisors are told
    # The same text from another enterprise, phone and address is no candidate at all.
    stranger = appeal(
        2,
        LICENCE_AGAIN,
        address="嘉定区南翔镇德园路1200号",
        received_at="2026-11-26T02:00:00+00:00",
    )
    assert post(routed, operator, stranger)["repeat_of"] is None


def test_the_same_text_again_within_minutes_is_merged(
    routed: TestClient, operator: dict[str, str]
) -> None:
    first = post(routed, operator, appeal(1, LICENCE))
    again = appeal(1, LICENCE, external_id="JD-77")
    merged = post(routed, operator, again, expect=200)
    assert merged["id"] == first["id"] and merged["repeat_count"] == 0
    events = routed.get(f"/api/v1/tickets/{first['id']}/events", headers=operator).json()
    assert events[-1]["action"] == "merged" and "12345/JD-77" in events[-1]["note"]


def test_a_town_return_is_rerouted_without_territorial_and_a_second_goes_to_a_supervisor(
    routed: TestClient, operator: dict[str, str], make_user: MakeUser, engine: Engine
) -> None:
    ticket = post(routed, operator, appeal(1, PUDDLE, address="嘉定区马陆镇陈家山路58号"))
    assert (ticket["lead_unit"], ticket["routing"]["rule"]) == ("malu", "territorial")
    base = f"/api/v1/tickets/{ticket['id']}"
    malu = make_user(Role.SUBDISTRICT, "malu")
    reason = {"reason": "排水管网不属于镇职权"}
    returned = routed.post(f"{base}/return", json=reason, headers=malu).json()
    routing = returned["routing"]
    assert (routing["trigger"], routing["screened_by"]) == ("return", ["returned"])
    assert "territorial" not in [c["unit"] for c in routing["candidates"]]
    # This small model leaves no line unit plausible (each below 0.10), so a supervisor decides.
    assert (returned["status"], routing["rule"]) == ("triage", "supervisor"), routing
    assert row_count(engine, "notification") == 1
    events = routed.get(f"{base}/events", headers=operator).json()
    assert [e["action"] for e in events][-2:] == ["return", "to-supervisor"]
    queue = routed.get("/api/v1/triage?rule=supervisor", headers=operator).json()
    assert [t["id"] for t in queue["items"]] == [ticket["id"]]
    assert routed.get("/api/v1/triage?rule=triage", headers=operator).json()["count"] == 0
    routed.post(f"{base}/dispatch", json={"lead_unit": "water"}, headers=operator)
    water = make_user(Role.UNIT_HANDLER, "water")
    twice = routed.post(f"{base}/return", json={"reason": "不归我们"}, headers=water).json()
    assert (twice["status"], twice["return_count"], twice["routing"]["rule"]) == (
        "triage",
        2,
        "supervisor",
    )
    assert row_count(engine, "notification") == 2


def test_an_operators_correction_counts_against_the_model_and_is_exported(
    routed: TestClient,
    operator: dict[str, str],
    supervisor: dict[str, str],
    make_user: MakeUser,
    routed_settings: Settings,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    # An address outside Jiading keeps it in triage whatever the small model thinks of the text.
    vague = appeal(
        1, "有个事情想咨询一下，之前打过电话，请尽快回复我们。", address="上海市闵行区某路1号"
    )
    ticket = post(routed, operator, vague)
    assert ticket["status"] == "triage"
    proposed = ticket["routing"]["candidates"][0]["unit"]
    chosen = "hrss" if proposed != "hrss" else "tax"
    url = f"/api/v1/tickets/{ticket['id']}/dispatch"
    routed.post(url, json={"lead_unit": chosen}, headers=operator)
    right = post(routed, operator, appeal(2, LICENCE))  # routing dispatched it itself
    close_loop(routed, right["id"], operator, make_user)
    report = routed.get("/api/v1/routing/accuracy", headers=supervisor).json()
    (version,) = report["versions"]
    assert (version["model_version"], version["decisions"], version["judged"]) == (
        "jiading-test",
        2,
        2,
    )
    assert (version["correct"], version["dispatched_accuracy"]) == (1, 1.0)
    assert routed.get("/api/v1/routing/accuracy", headers=operator).status_code == 403

    monkeypatch.setenv("QISU_DATABASE_URL", routed_settings.database_url)
    monkeypatch.setenv("QISU_DATA_DIR", str(routed_settings.data_dir))
    from core.config import get_settings

    get_settings.cache_clear()
    out = tmp_path / "feedback.csv"
    result = CliRunner().invoke(cli, ["routing", "export-feedback", str(out)])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "wrote 1 corrected tickets" in result.output
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "ticket,title,text,label,proposed,model_version"
    assert lines[1].startswith(f"{ticket['id']},,有个事情想咨询一下")
    assert f",{chosen},{proposed},jiading-test" in lines[1]


def close_loop(
    client: TestClient, ticket_id: int, desk: dict[str, str], make_user: MakeUser
) -> None:
    """Run a dispatched ticket to 结案 as its lead unit and the desk would."""
    base = f"/api/v1/tickets/{ticket_id}"
    lead = client.get(base, headers=desk).json()["lead_unit"]
    handler = make_user(Role.UNIT_HANDLER, lead)
    steps = [
        (handler, "acknowledge", None),
        (handler, "contact", {"note": "已电话联系"}),
        (handler, "reply", {"content": "已办结"}),
        (desk, "callback", {"satisfaction": "satisfied"}),
        (desk, "close", None),
    ]
    for who, action, body in steps:
        response = client.post(f"{base}/{action}", json=body, headers=who)
        assert response.status_code == 200, response.text


def test_without_a_pair_scorer_repeats_fall_back_and_the_decision_says_why(
    settings: Settings, models_dir: Path, operator: dict[str, str]
) -> None:
    import shutil

    from app.main import create_app
    from tests.routing.conftest import VERSION

    shutil.copytree(models_dir, settings.data_dir / "models")
    (settings.data_dir / "models" / VERSION / "repeats.json").unlink()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        first = post(client, operator, appeal(1, LICENCE))
        again = appeal(
            1, LICENCE_AGAIN, external_id="JD-2", received_at="2026-11-20T02:00:00+00:00"
        )
        second = post(client, operator, again)
    method = second["routing"]["repeat_method"]
    assert method.startswith("blend (no pair scorer: ") and "repeats.json" in method
    assert second["repeat_of"] == first["id"]  # the blend still finds a near-copy
    assert first["routing"]["lead_unit"] == "market_regulation"  # routing itself is unaffected


def test_a_primed_text_is_analysed_once_however_often_it_comes(
    models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[int] = []
    analyse = Classifier.analyse

    def counted(self: Classifier, texts: list[str], batch: int = 32) -> Any:
        passes.append(len(texts))
        return analyse(self, texts, batch)

    monkeypatch.setattr(Classifier, "analyse", counted)
    serving = ServingModel(models_dir)
    try:
        assert serving.prime([LICENCE, VILLAGE, LICENCE]) == 2
        first = serving.analyse(LICENCE)
        again = serving.analyse(LICENCE)  # a follow-up in the same words, a re-route
        serving.analyse(VILLAGE)
        assert passes == [2] and first is again
        serving.forget_primed()
        serving.analyse(LICENCE)
        assert passes == [2, 1]
    finally:
        serving.forget_primed()
