"""Every role against every endpoint, from the app's own routes: a route without a rule fails."""

from itertools import count
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from core.timezone import SHANGHAI
from models import Role, utcnow
from tests.conftest import MakeUser, credit_code, ticket_payload
from units.service import DEFAULT_REGISTRY

MONTH = utcnow().astimezone(SHANGHAI).strftime("%Y-%m")
ALL = {"operator", "unit", "subdistrict", "supervisor", "admin"}
DESK = {"operator", "supervisor", "admin"}
LEAD = {"unit", "admin"}  # the fixture ticket's lead unit is the unit handler's
BOSS = {"supervisor", "admin"}
PUBLIC = {"anonymous", *ALL, "auditor"}
ADMIN = {"admin"}
AUDITOR = {"auditor"}  # and not the administrator: separation of duties

# Who may use each endpoint (the others get 403, or 404 where the thing is hidden from them);
# the subject of each: its ticket (led by market_regulation, in and assisted by anting), its
# whistle (blown by anting, calling market_regulation), anting's evaluation of market_regulation.
ACCESS: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/units"): ALL,
    ("POST", "/api/v1/tickets"): DESK,
    ("GET", "/api/v1/tickets"): ALL,
    ("GET", "/api/v1/triage"): DESK,
    ("GET", "/api/v1/tickets/{ticket_id}"): ALL,
    ("GET", "/api/v1/tickets/{ticket_id}/events"): ALL,
    ("POST", "/api/v1/tickets/{ticket_id}/dispatch"): DESK,
    ("POST", "/api/v1/tickets/{ticket_id}/acknowledge"): LEAD,
    ("POST", "/api/v1/tickets/{ticket_id}/contact"): LEAD,
    ("POST", "/api/v1/tickets/{ticket_id}/reply"): LEAD,
    ("POST", "/api/v1/tickets/{ticket_id}/return"): LEAD,
    ("POST", "/api/v1/tickets/{ticket_id}/pause"): LEAD,
    ("POST", "/api/v1/tickets/{ticket_id}/resume"): LEAD,
    ("POST", "/api/v1/tickets/{ticket_id}/request-extension"): LEAD,
    ("POST", "/api/v1/tickets/{ticket_id}/approve-extension"): BOSS,
    ("POST", "/api/v1/tickets/{ticket_id}/reject-extension"): BOSS,
    ("POST", "/api/v1/tickets/{ticket_id}/callback"): DESK,
    ("POST", "/api/v1/tickets/{ticket_id}/close"): DESK,
    ("GET", "/api/v1/units/{code}/kpis"): {"unit", *DESK},
    ("POST", "/api/v1/routing/preview"): DESK,
    ("GET", "/api/v1/routing/accuracy"): BOSS,
    ("GET", "/api/v1/clusters"): BOSS,
    ("GET", "/api/v1/tickets/{ticket_id}/similar"): DESK,
    ("POST", "/api/v1/evaluation-periods"): BOSS,
    ("POST", "/api/v1/evaluation-periods/{period}/close"): BOSS,
    ("GET", "/api/v1/evaluation-periods"): ALL,
    ("POST", "/api/v1/evaluations"): {"subdistrict"},
    ("PATCH", "/api/v1/evaluations/{evaluation_id}"): {"subdistrict"},
    ("GET", "/api/v1/evaluations"): {"unit", "subdistrict", *BOSS},
    ("GET", "/api/v1/evaluations/summary"): {"unit", *BOSS},
    ("GET", "/api/v1/evaluations/todo"): {"subdistrict"},
    ("POST", "/api/v1/whistles"): {"subdistrict"},
    ("GET", "/api/v1/whistles"): ALL,
    ("GET", "/api/v1/whistles/{whistle_id}"): {"unit", "subdistrict", *DESK},
    ("POST", "/api/v1/whistles/{whistle_id}/report"): {"unit", *BOSS},
    ("POST", "/api/v1/whistles/{whistle_id}/outcome"): {"unit", *BOSS},
    ("POST", "/api/v1/whistles/{whistle_id}/confirm"): {"subdistrict", "admin"},
    ("POST", "/api/v1/whistles/{whistle_id}/reopen"): {"subdistrict", "admin"},
    ("GET", "/api/v1/rankings"): ALL,
    ("GET", "/api/v1/rankings/export"): ALL,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/v1/workbench/counts"): ALL,
    ("GET", "/api/v1/enterprises/{credit_code}"): DESK,
    ("GET", "/api/v1/notifications"): {"admin"},
    ("GET", "/api/v1/inbound/dead-letters"): {"admin"},
    ("POST", "/api/v1/inbound/dead-letters/{letter_id}/replay"): {"admin"},
    ("GET", "/api/v1/outbound/stuck"): {"admin"},
    ("POST", "/api/v1/outbound/{event_id}/retry"): {"admin"},
    ("POST", "/api/v1/outbound/{event_id}/skip"): {"admin"},
    ("POST", "/api/v1/tickets/{ticket_id}/locality"): DESK,
    ("POST", "/api/v1/tickets/{ticket_id}/repeat-of"): DESK,
    ("DELETE", "/api/v1/tickets/{ticket_id}/repeat-of"): DESK,
    ("GET", "/api/v1/dashboard/volume"): BOSS,
    ("GET", "/api/v1/dashboard/units"): BOSS,
    ("GET", "/api/v1/dashboard/funnel"): BOSS,
    ("GET", "/api/v1/dashboard/rates"): BOSS,
    ("GET", "/api/v1/dashboard/repeats"): BOSS,
    ("GET", "/api/v1/dashboard/routing"): BOSS,
    ("GET", "/api/v1/admin/models"): {"admin"},
    ("POST", "/api/v1/admin/models/{name}/activate"): {"admin"},
    ("POST", "/api/v1/admin/units/load"): {"admin"},
    ("POST", "/api/v1/tickets/{ticket_id}/contact-reveal"): ALL,
    ("GET", "/api/v1/admin/users"): ADMIN,
    ("POST", "/api/v1/admin/users"): ADMIN,
    ("POST", "/api/v1/admin/users/{user_id}/deactivate"): ADMIN,
    ("POST", "/api/v1/admin/users/{user_id}/reactivate"): ADMIN,
    ("PUT", "/api/v1/admin/users/{user_id}/password"): ADMIN,
    ("PUT", "/api/v1/admin/users/{user_id}/role"): ADMIN,
    ("DELETE", "/api/v1/admin/users/{user_id}/totp"): ADMIN,
    ("GET", "/api/v1/admin/users/{user_id}/tokens"): ADMIN,
    ("POST", "/api/v1/admin/users/{user_id}/tokens"): ADMIN,
    ("DELETE", "/api/v1/admin/users/{user_id}/tokens/{token_id}"): ADMIN,
    ("GET", "/api/v1/audit/records"): AUDITOR,
    ("GET", "/api/v1/audit/records/export"): AUDITOR,
    ("GET", "/api/v1/audit/verify"): AUDITOR,
}
# Allowed roles may find nothing here (no such dead letter); the others must still be refused.
NO_SUBJECT = {
    ("POST", "/api/v1/inbound/dead-letters/{letter_id}/replay"),
    ("POST", "/api/v1/outbound/{event_id}/retry"),
    ("POST", "/api/v1/outbound/{event_id}/skip"),
    ("POST", "/api/v1/admin/models/{name}/activate"),  # the test app has no trained model
}

# Routes that no role opens: each checks its own credential, tested in its own module.
OWN_CHECK: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/session"): "a login and a password (tests/accounts)",
    ("GET", "/api/v1/session"): "the session cookie (tests/accounts)",
    ("DELETE", "/api/v1/session"): "the session cookie (tests/accounts)",
    ("POST", "/api/v1/session/totp"): "the session cookie (tests/accounts)",
    ("POST", "/api/v1/session/totp/confirm"): "the session cookie (tests/accounts)",
    ("POST", "/api/v1/inbound/{source}"): "the platform's signature (tests/integrations)",
    ("POST", "/api/v1/enterprise/appeals"): "public, rate-limited (tests/tickets)",
    ("POST", "/api/v1/enterprise/follow"): "a receipt code and a phone (tests/tickets)",
    ("POST", "/api/v1/enterprise/rate"): "a receipt code and a phone (tests/tickets)",
    ("GET", "/open311/v2/services.{fmt}"): "an Open311 API key (tests/tickets)",
    ("GET", "/open311/v2/services/{code}.{fmt}"): "an Open311 API key (tests/tickets)",
    ("GET", "/open311/v2/requests.{fmt}"): "an Open311 API key (tests/tickets)",
    ("POST", "/open311/v2/requests.{fmt}"): "an Open311 API key (tests/tickets)",
    ("GET", "/open311/v2/requests/{request_id}.{fmt}"): "an Open311 API key (tests/tickets)",
    ("GET", "/"): "the console's files, public (tests/web)",
    ("HEAD", "/"): "the console's files, public (tests/web)",
    ("GET", "/{path:path}"): "the console's files, public (tests/web)",
    ("HEAD", "/{path:path}"): "the console's files, public (tests/web)",
}

QUERIES: dict[str, dict[str, str]] = {
    "/api/v1/units/{code}/kpis": {"from": "2026-01-01", "to": "2027-01-01"},
    "/api/v1/evaluations/summary": {"period": MONTH, "unit": "market_regulation"},
    "/api/v1/evaluations/todo": {"period": MONTH},
    "/api/v1/rankings": {"period": MONTH},
    "/api/v1/rankings/export": {"period": MONTH},
}
BODIES: dict[str, Any] = {
    "dispatch": {"lead_unit": "hrss"},
    "contact": {"note": "已电话联系企业"},
    "reply": {"content": "已答复企业"},
    "return": {"reason": "不属于本单位职责"},
    "pause": {"reason": "等待企业补充材料"},
    "request-extension": {"days": 3, "reason": "需现场核查"},
    "callback": {"satisfaction": "satisfied"},
    "preview": {"text": "营业执照变更办理缓慢", "address": "嘉定区安亭镇"},
    "report": {"unit": "market_regulation", "contact": "张科长", "plan": "明日到现场"},
    "outcome": {"unit": "market_regulation", "content": "已处理完毕"},
    "reopen": {"reason": "问题仍未解决"},
    "locality": {"subdistrict": "anting"},
    "skip": {"reason": "平台已人工补录"},
    "load": {"yaml": DEFAULT_REGISTRY.read_text(encoding="utf-8")},  # the registry it has
    "contact-reveal": {"reason": "回访核实企业诉求"},
    "password": {"password": "Another-pass-2026"},
    "role": {"role": "operator"},
    "tokens": {"name": "对接脚本", "days": 30},
}


def routes(client: TestClient) -> list[tuple[str, str]]:
    """Every method and path the app serves through FastAPI."""
    found: list[tuple[str, str]] = []
    for context in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        route = context.route
        if isinstance(route, APIRoute):
            found.extend((method, route.path) for method in sorted(route.methods or ()))
    return found


def test_every_route_has_a_declared_access_rule(client: TestClient) -> None:
    assert not set(ACCESS) & set(OWN_CHECK), "a route is either for roles or checks its own"
    undeclared = sorted(set(routes(client)) - set(ACCESS) - set(OWN_CHECK))
    assert not undeclared, f"declare who may use these in ACCESS or OWN_CHECK: {undeclared}"
    gone = (set(ACCESS) | set(OWN_CHECK)) - set(routes(client))
    assert not gone, f"ACCESS or OWN_CHECK names routes that no longer exist: {gone}"


class Scene:
    """Fresh subjects for one request, and a header per role."""

    def __init__(self, client: TestClient, make_user: MakeUser) -> None:
        self.client = client
        self.numbers = count(1)
        self.headers: dict[str, dict[str, str]] = {
            "anonymous": {},
            "operator": make_user(Role.OPERATOR),
            "unit": make_user(Role.UNIT_HANDLER, "market_regulation"),
            "subdistrict": make_user(Role.SUBDISTRICT, "anting"),
            "supervisor": make_user(Role.SUPERVISOR),
            "admin": make_user(Role.ADMIN),
            "auditor": make_user(Role.AUDITOR),
        }
        self.post("/api/v1/evaluation-periods", "supervisor", {"period": MONTH})
        self.ids = self.subjects()
        evaluation = {"period": MONTH, "unit": "market_regulation", "timeliness": 4}
        evaluation |= {"effectiveness": 4, "cooperation": 4}
        self.ids["evaluation_id"] = self.post("/api/v1/evaluations", "subdistrict", evaluation)[
            "id"
        ]

    def post(self, path: str, who: str, body: Any) -> Any:
        response = self.client.post(path, json=body, headers=self.headers[who])
        assert response.is_success, response.text
        return response.json()

    def subjects(self) -> dict[str, Any]:
        n = next(self.numbers)
        body = ticket_payload(n, text=f"第{n}件：营业执照变更办理缓慢，请尽快处理。")
        ticket = self.post("/api/v1/tickets", "operator", body)
        dispatch = {"lead_unit": "market_regulation", "assist_units": ["anting"]}
        self.post(f"/api/v1/tickets/{ticket['id']}/dispatch", "operator", dispatch)
        whistle = {"units": ["market_regulation"], "text": "请协助核查"}
        period = {"period": f"P{n}", "starts": "2026-01-01", "ends": "2026-01-31"}
        self.post("/api/v1/evaluation-periods", "supervisor", period)
        user = self.post("/api/v1/admin/users", "admin", self.new_user())
        token = self.post(f"/api/v1/admin/users/{user['id']}/tokens", "admin", BODIES["tokens"])
        return {
            "user_id": user["id"],
            "token_id": token["id"],
            "ticket_id": ticket["id"],
            "whistle_id": self.post("/api/v1/whistles", "subdistrict", whistle)["id"],
            "period": f"P{n}",
            "code": "market_regulation",
        }

    def new_user(self) -> dict[str, Any]:
        n = next(self.numbers)
        return {"name": f"话务员{n}", "login": f"op{n}", "role": "operator",
                "password": "Operator-pass-1"}  # fmt: skip

    def request(self, method: str, path: str, who: str) -> int:
        # What a change does, the next request never sees; a read changes nothing.
        ids = self.ids if method == "GET" else {**self.ids, **self.subjects()}
        keys = ("ticket_id", "whistle_id", "period", "code", "user_id", "token_id")
        url = path.format(**{k: ids[k] for k in keys},
                          evaluation_id=ids["evaluation_id"], credit_code=credit_code(1),
                          letter_id=2**31 - 1, event_id=2**31 - 1,
                          name="no-such-model")  # fmt: skip
        action = path.rsplit("/", 1)[-1]
        body: Any = BODIES.get(action)
        if path == "/api/v1/tickets" and method == "POST":
            body = ticket_payload(1000 + next(self.numbers))
        elif path == "/api/v1/admin/users" and method == "POST":
            body = self.new_user()
        elif path == "/api/v1/evaluation-periods" and method == "POST":
            body = {
                "period": f"Q{next(self.numbers)}",
                "starts": "2026-02-01",
                "ends": "2026-02-28",
            }
        elif path == "/api/v1/evaluations" and method == "POST":
            body = {"period": MONTH, "unit": "market_regulation", "timeliness": 3}
            body |= {"effectiveness": 3, "cooperation": 3}
        elif method == "PATCH":
            body = {"timeliness": 2}
        elif path == "/api/v1/whistles" and method == "POST":
            body = {"units": ["market_regulation"], "text": "请协助核查"}
        elif action == "repeat-of" and method == "POST":
            body = {"ticket_id": self.ids["ticket_id"]}  # the scene's first, earlier ticket
        elif action == "confirm" or action == "reopen":
            self._to_outcome(ids["whistle_id"])
        response = self.client.request(
            method, url, params=QUERIES.get(path), json=body, headers=self.headers[who]
        )
        return response.status_code

    def _to_outcome(self, whistle_id: int) -> None:
        base = f"/api/v1/whistles/{whistle_id}"
        self.post(f"{base}/report", "unit", BODIES["report"])
        self.post(f"{base}/outcome", "unit", BODIES["outcome"])


def test_every_role_against_every_endpoint(client: TestClient, make_user: MakeUser) -> None:
    scene = Scene(client, make_user)
    wrong: list[str] = []
    for method, path in routes(client):
        if (method, path) in OWN_CHECK:
            continue
        allowed = ACCESS[(method, path)]
        for who in scene.headers:
            status = scene.request(method, path, who)
            if who == "anonymous" and who not in allowed:
                fine = status == 401
            elif who in allowed:
                missing = (method, path) in NO_SUBJECT and status == 404
                fine = missing or (status not in (401, 403, 404) and status < 500)
            else:
                fine = status in (403, 404)
            if not fine:
                wrong.append(f"{method} {path} as {who}: {status}")
    assert not wrong, "\n".join(wrong)
