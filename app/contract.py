"""The API's contract beyond each route: one error shape, documented; unknown queries refused."""

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from app.guard import dependants, needs_caller
from core.errors import InvalidInput

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,40}$")


class ErrorItem(BaseModel):
    """One reason a request was malformed."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every refusal, 4xx and 5xx alike: a sentence for people, a code for programs."""

    detail: str = Field(description="What is wrong, for a person (Chinese where written so).")
    code: str = Field(description="What is wrong, for a program, e.g. `invalid_request`.")
    field: str | None = Field(
        default=None, description="The input it is about, e.g. `enterprise.name` or `from`."
    )
    errors: list[ErrorItem] | None = Field(
        default=None, description="Each malformed part of the request (422 `invalid_request`)."
    )


_MEANING = {
    401: "No valid credentials (`not_authenticated`).",
    403: "The caller's role or unit may not do this (`forbidden`).",
    404: "No such thing that the caller may see (`not_found`).",
    408: "The body stopped arriving (`request_timeout`).",
    409: "Illegal in the current state, or changed meanwhile (`conflict`).",
    413: "The body is larger than the limit (`payload_too_large`).",
    422: "A value is malformed (`invalid_request`, with `errors`) or not acceptable "
    "(`invalid_input`); `field` names it. Unknown query parameters are refused too.",
    500: "An unexpected failure, logged by the server (`internal_error`).",
}


# Routes that read their own query: the console's pages keep their state in the URL for the
# browser to read, and GeoReport v2 defines its own (api_key, jurisdiction_id, lists).
OWN_QUERY_PATHS = frozenset({"/", "/{path:path}"})
OWN_QUERY_PREFIX = "/open311/"


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not declare (`?statu=` is a typo, not a filter)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    if route.path in OWN_QUERY_PATHS or route.path.startswith(OWN_QUERY_PREFIX):
        return
    declared = {p.alias for d in dependants(route.dependant) for p in d.query_params}
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        allowed = "、".join(sorted(declared)) or "无"
        name = unknown[0]
        raise InvalidInput(
            f"未知的查询参数（可用：{allowed}）", field=name if _NAME.match(name) else None
        )


def refusals(route: APIRoute) -> set[int]:
    """The refusals a route can answer with."""
    codes = {422, 500}
    if needs_caller(route):
        codes |= {401, 403, 404}
    if route.dependant.path_params:
        codes.add(404)
    if (route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}:
        codes.add(409)
    if route.body_field is not None:
        codes |= {408, 413}
    return codes


def document_errors(app: FastAPI) -> None:
    """Give every route's refusals the one error shape in the app's OpenAPI."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(body.pop("$defs", {}))
        components["ErrorBody"] = body
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for context in iter_route_contexts(app.routes):
            route = context.route
            if not isinstance(route, APIRoute) or not context.include_in_schema:
                continue
            if route.path.startswith(OWN_QUERY_PREFIX):
                continue  # GeoReport v2 answers its errors in the spec's own shape
            for method in context.methods or ():
                operation = schema["paths"][context.path_format][method.lower()]
                for status in sorted(refusals(route)):
                    operation["responses"][str(status)] = {
                        "description": _MEANING[status],
                        "content": content,
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
