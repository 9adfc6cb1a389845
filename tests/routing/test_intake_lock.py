"""Intake runs the encoder outside its transaction: other writes go on while the model runs."""

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from models import Role
from routing import model
from routing.model import ServingModel
from tests.conftest import MakeUser, row_count
from tests.routing.conftest import appeal

LICENCE = "我们公司两周前在网上提交了营业执照经营范围变更，到现在还显示审核中，请尽快办结变更登记。"
WAGES = "公司拖欠我们三个月工资，多次讨要没有结果，请人社部门处理。"
WAIT = 20.0  # seconds the encoder waits for the other write before it gives up


def test_an_acknowledge_is_not_queued_behind_an_intakes_encoder(
    routed: TestClient,
    operator: dict[str, str],
    make_user: MakeUser,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = routed.post("/api/v1/tickets", json=appeal(1, LICENCE), headers=operator).json()
    assert first["lead_unit"] == "market_regulation"
    handler = make_user(Role.UNIT_HANDLER, "market_regulation")
    running, written = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    served: ServingModel = routed.app.state.serving_model  # type: ignore[attr-defined]
    real = served.analyse

    def analyse_after_the_write(text: str) -> model.Analysis:
        # The real model runs; it only starts once the other write has committed, or after WAIT
        # seconds if that write is stuck behind this intake's transaction.
        running.set()
        seen["written_while_encoding"] = written.wait(WAIT)
        return real(text)

    monkeypatch.setattr(served, "analyse", analyse_after_the_write)
    result: dict[str, Any] = {}
    intake = threading.Thread(
        target=lambda: result.update(
            response=routed.post("/api/v1/tickets", json=appeal(2, WAGES), headers=operator)
        )
    )
    intake.start()
    assert running.wait(WAIT), "the intake never reached the encoder"
    began = time.monotonic()
    acknowledged = routed.post(f"/api/v1/tickets/{first['id']}/acknowledge", headers=handler)
    seconds = time.monotonic() - began
    written.set()
    intake.join(2 * WAIT)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    assert seen["written_while_encoding"] is True and seconds < WAIT / 2
    assert result["response"].status_code == 201, result["response"].text
    assert result["response"].json()["routing"]["model_version"] == "jiading-test"
    assert row_count(engine, "ticket") == 2


def test_a_preview_stores_nothing_and_holds_no_write_lock(
    routed: TestClient,
    operator: dict[str, str],
    make_user: MakeUser,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = routed.post("/api/v1/tickets", json=appeal(1, LICENCE), headers=operator).json()
    handler = make_user(Role.UNIT_HANDLER, "market_regulation")
    running, written = threading.Event(), threading.Event()
    seen: dict[str, Any] = {}
    served: ServingModel = routed.app.state.serving_model  # type: ignore[attr-defined]
    real = served.analyse

    def analyse_after_the_write(text: str) -> model.Analysis:
        running.set()
        seen["written_while_encoding"] = written.wait(WAIT)
        return real(text)

    monkeypatch.setattr(served, "analyse", analyse_after_the_write)
    result: dict[str, Any] = {}
    body = {"text": WAGES, "address": "嘉定区安亭镇墨玉路100号"}
    preview = threading.Thread(
        target=lambda: result.update(
            response=routed.post("/api/v1/routing/preview", json=body, headers=operator)
        )
    )
    decisions = row_count(engine, "routing_decision")
    preview.start()
    assert running.wait(WAIT)
    acknowledged = routed.post(f"/api/v1/tickets/{first['id']}/acknowledge", headers=handler)
    written.set()
    preview.join(2 * WAIT)
    assert acknowledged.status_code == 200 and seen["written_while_encoding"] is True
    assert result["response"].status_code == 200, result["response"].text
    assert result["response"].json()["routing"]["candidates"]
    assert row_count(engine, "routing_decision") == decisions
    assert row_count(engine, "ticket") == 1
