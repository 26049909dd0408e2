"""The kiosk API's OpenAPI document (/docs): every JSON endpoint says what it returns (no model needed)."""

from __future__ import annotations

from assistant.api.main import create_app


def test_every_kiosk_endpoint_documents_its_response_and_ending_a_session_takes_no_body():
    spec = create_app().openapi()
    operations = {(method.upper(), path): op for path, ops in spec["paths"].items() if path.startswith("/api/")
                  for method, op in ops.items()}
    assert len(operations) >= 15
    undocumented = []
    for (method, path), op in operations.items():
        content = op["responses"]["200"].get("content", {})
        if "audio/wav" in content:
            continue  # read-aloud returns sound
        schema = content.get("application/json", {}).get("schema", {})
        if not (schema.get("$ref") or schema.get("items", {}).get("$ref")):
            undocumented.append(f"{method} {path}")
    assert undocumented == []
    end = operations[("DELETE", "/api/session")]
    assert "requestBody" not in end
    assert any(p["name"].lower() == "x-officer-pin" and p["in"] == "header" for p in end["parameters"])
    regions = spec["components"]["schemas"]["RegionOut"]["properties"]
    assert {"code", "name", "bureau", "full_name", "old_name"} <= set(regions)
