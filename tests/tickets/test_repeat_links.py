"""Operators link a ticket to an earlier one as a repeat, or unlink it; the 街镇 learnt later."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app.cli import cli
from core.config import Settings
from models import RepeatLink, Role
from tests.conftest import MakeUser, ticket_payload


def intake(client: TestClient, who: dict[str, str], n: int, **overrides: Any) -> Any:
    body = ticket_payload(1, external_id=f"JD-{n}", **overrides)
    response = client.post("/api/v1/tickets", json=body, headers=who)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_operator_links_and_unlinks_a_repeat(
    client: TestClient, operator: dict[str, str], engine: Engine
) -> None:
    first = intake(client, operator, 1, received_at="2026-11-02T01:00:00+00:00")
    second = intake(
        client,
        operator,
        2,
        received_at="2026-11-20T01:00:00+00:00",
        text="上次反映的执照变更至今仍未办结。",
    )
    assert second["repeat_of"] is None  # no model here: routing found no repeat
    url = f"/api/v1/tickets/{second['id']}/repeat-of"
    linked = client.post(url, json={"ticket_id": first["id"]}, headers=operator)
    assert linked.status_code == 200, linked.text
    body = linked.json()
    assert (body["repeat_of"], body["repeat_count"], body["repeat_chain"]) == (
        first["id"],
        1,
        [first["id"], second["id"]],
    )
    shown = client.get(f"/api/v1/tickets/{first['id']}", headers=operator).json()
    assert shown["repeat_chain"] == [first["id"], second["id"]]
    events = client.get(f"/api/v1/tickets/{second['id']}/events", headers=operator).json()
    assert events[-1]["action"] == "repeat-of"
    assert events[-1]["after"] == {"repeat_of": first["id"], "repeat_count": 1}
    with Session(engine) as session:
        (link,) = session.exec(select(RepeatLink)).all()
        assert (link.ticket_id, link.earlier_id, link.linked, link.root_id) == (
            second["id"],
            first["id"],
            True,
            first["id"],
        )
        assert link.user_id and link.score is None and link.system_root is None
    # Linking the earlier ticket to the later one is refused, and nothing is written.
    back = client.post(
        f"/api/v1/tickets/{first['id']}/repeat-of",
        json={"ticket_id": second["id"]},
        headers=operator,
    )
    assert back.status_code == 422 and back.json()["field"] == "ticket_id"
    again = client.post(url, json={"ticket_id": first["id"]}, headers=operator)
    assert again.status_code == 409
    unlinked = client.delete(url, headers=operator)
    assert unlinked.status_code == 200, unlinked.text
    assert (unlinked.json()["repeat_of"], unlinked.json()["repeat_chain"]) == (None, [])
    assert client.delete(url, headers=operator).status_code == 409
    with Session(engine) as session:
        assert [
            r.linked for r in session.exec(select(RepeatLink).order_by(col(RepeatLink.id)))
        ] == [
            True,
            False,
        ]


def test_only_the_desk_corrects_repeats(
    client: TestClient, operator: dict[str, str], make_user: MakeUser
) -> None:
    first = intake(client, operator, 1, received_at="2026-11-02T01:00:00+00:00")
    second = intake(client, operator, 2, received_at="2026-11-03T01:00:00+00:00")
    handler = make_user(Role.UNIT_HANDLER, "tax")
    url = f"/api/v1/tickets/{second['id']}/repeat-of"
    assert client.post(url, json={"ticket_id": first["id"]}, headers=handler).status_code == 403
    assert client.post(url, json={"ticket_id": 99999}, headers=operator).status_code == 404
    assert client.post(url, json={"ticket_id": second["id"]}, headers=operator).status_code == 422


def test_settled_repeats_are_exported_for_the_pair_scorer(
    client: TestClient,
    operator: dict[str, str],
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = intake(client, operator, 1, received_at="2026-11-02T01:00:00+00:00")
    second = intake(
        client, operator, 2, received_at="2026-11-12T01:00:00+00:00", text="再次反映执照的事。"
    )
    url = f"/api/v1/tickets/{second['id']}/repeat-of"
    assert client.post(url, json={"ticket_id": first["id"]}, headers=operator).status_code == 200
    monkeypatch.setenv("QISU_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("QISU_DATA_DIR", str(settings.data_dir))
    from core.config import get_settings

    get_settings.cache_clear()
    out, pairs = tmp_path / "feedback.csv", tmp_path / "repeats.jsonl"
    result = CliRunner().invoke(
        cli, ["routing", "export-feedback", str(out), "--repeats", str(pairs)]
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "wrote 1 repeat pairs" in result.output
    import json

    (row,) = [json.loads(line) for line in pairs.read_text(encoding="utf-8").splitlines()]
    assert (row["ticket"], row["earlier"], row["repeat"], row["gap_days"]) == (
        second["id"],
        first["id"],
        True,
        10.0,
    )
    assert row["text"].endswith("再次反映执照的事。") and row["same_phone"] is True
    # The first had no answer when the second came in (what intake knew), however it ends.
    assert row["earlier_answered"] is False and row["same_address"] is True
    # What both texts may say whatever the matter: the scorer leaves it out of their contents.
    assert row["shared"] == [
        "上海测试企业1有限公司",
        "嘉定区安亭镇墨玉路185号",
        "嘉定区安亭镇墨玉路185号",
    ]


def test_a_town_learnt_later_joins_the_open_tickets_that_lacked_one(
    client: TestClient, operator: dict[str, str]
) -> None:
    # Dispatched to an on-site line unit while the enterprise's 街镇 was unknown (item 4).
    first = intake(client, operator, 1, address="上海市嘉定区某某路1号")
    assert first["subdistrict"] is None
    url = f"/api/v1/tickets/{first['id']}/dispatch"
    dispatched = client.post(url, json={"lead_unit": "urban_management"}, headers=operator)
    assert dispatched.json()["assist_units"] == []
    # A later appeal of the same enterprise names its 街镇: the registry learns it.
    intake(
        client, operator, 2, address="嘉定区安亭镇墨玉路185号", text="另一件事：厂门口的路灯坏了。"
    )
    now = client.get(f"/api/v1/tickets/{first['id']}", headers=operator).json()
    assert (now["subdistrict"], now["assist_units"]) == ("anting", ["anting"])
    events = client.get(f"/api/v1/tickets/{first['id']}/events", headers=operator).json()
    assert events[-1]["action"] == "locality" and events[-1]["actor"] == "system"


def test_the_desk_names_the_town_of_a_ticket_dispatched_without_one(
    client: TestClient, operator: dict[str, str], make_user: MakeUser
) -> None:
    ticket = intake(client, operator, 1, address="上海市嘉定区某某路1号")
    base = f"/api/v1/tickets/{ticket['id']}"
    client.post(f"{base}/dispatch", json={"lead_unit": "urban_management"}, headers=operator)
    handler = make_user(Role.UNIT_HANDLER, "urban_management")
    body = {"subdistrict": "malu"}
    assert client.post(f"{base}/locality", json=body, headers=handler).status_code == 403
    wrong = client.post(f"{base}/locality", json={"subdistrict": "tax"}, headers=operator)
    assert wrong.status_code == 422 and wrong.json()["field"] == "subdistrict"
    named = client.post(f"{base}/locality", json=body, headers=operator)
    assert named.status_code == 200, named.text
    assert (named.json()["subdistrict"], named.json()["assist_units"]) == ("malu", ["malu"])
    assert client.post(f"{base}/locality", json=body, headers=operator).status_code == 409
