"""Finding 8: the OpenAPI documents every refusal in the one error shape the API answers with."""

from fastapi.testclient import TestClient

REF = {"$ref": "#/components/schemas/ErrorBody"}


def test_every_refusal_is_documented_in_the_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    body = schema["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"detail", "code"}
    assert {"field", "errors"} <= set(body["properties"])
    for path, operations in schema["paths"].items():
        if path.startswith("/open311/"):
            continue  # GeoReport v2 answers its errors as the spec says: [{code, description}]
        for method, operation in operations.items():
            responses = operation["responses"]
            wanted = {"422", "500"}
            if operation.get("security"):
                wanted |= {"401", "403", "404"}
            if method in ("post", "patch"):
                wanted.add("409")
            if "requestBody" in operation:
                wanted |= {"413"}
            assert wanted <= set(responses), (method, path, sorted(responses))
            for status in wanted:
                assert responses[status]["content"]["application/json"]["schema"] == REF


def test_an_authenticated_route_is_marked_as_such(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["paths"]["/api/v1/tickets"]["get"]["security"]
    assert "security" not in schema["paths"]["/healthz"]["get"]
