"""The OpenAPI document, generated from the endpoint table and the msgspec request Structs."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.http.endpoints import ENDPOINTS

REF = "#/components/schemas/{name}"


def _strip_tags(schemas: dict[str, Any]) -> None:
    """Commands are tagged Structs internally; the tag is not part of an HTTP body."""
    for schema in schemas.values():
        props = schema.get("properties", {})
        props.pop("command", None)
        if "required" in schema:
            schema["required"] = [r for r in schema["required"] if r != "command"]
            if not schema["required"]:
                del schema["required"]


def _envelope_schema() -> dict[str, Any]:
    meta = {
        "type": "object",
        "required": ["id", "trx", "endpoint", "result_code", "result_subcode", "result_msg"],
        "properties": {
            "id": {"type": "string"},
            "trx": {"type": "string"},
            "endpoint": {"type": "object"},
            "result_code": {"type": "integer"},
            "result_subcode": {"type": "integer"},
            "result_msg": {"type": "string"},
            "error_stack": {"type": ["string", "null"]},
            "error_data": {"type": "object"},
        },
    }
    return {
        "type": "object",
        "required": ["meta", "data"],
        "properties": {"meta": meta, "data": {}},
    }


def openapi_document() -> dict[str, Any]:
    specs = sorted(ENDPOINTS.values(), key=lambda s: s.name)
    refs, components = msgspec.json.schema_components([s.request for s in specs], ref_template=REF)
    _strip_tags(components)
    components["Envelope"] = _envelope_schema()
    response = {
        "description": "the ClearML envelope; meta.result_code is the HTTP status",
        "content": {"application/json": {"schema": {"$ref": REF.format(name="Envelope")}}},
    }
    paths: dict[str, Any] = {}
    for spec, ref in zip(specs, refs, strict=True):
        media = {"ndjson": "application/x-ndjson"}.get(spec.body, "application/json")
        schema: dict[str, Any] = ref
        if spec.body == "ndjson":  # the events, each sent as one line of JSON
            schema = {"type": "array", "items": ref, "description": "one JSON event per line"}
        operation: dict[str, Any] = {
            "operationId": spec.name.replace(".", "_"),
            "summary": spec.summary,
            "tags": [spec.name.split(".")[0]],
            "requestBody": {"required": False, "content": {media: {"schema": schema}}},
            "responses": {str(code): response for code in (200, 400, 401, 404, 409, 413)},
        }
        if spec.name in ("debug.ping",):
            operation["security"] = []
        paths[f"/{spec.name}"] = {"post": operation}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tasktrack",
            "version": "2.23",
            "description": "ClearML-style RPC: POST (or GET) /<service>.<action> (also under "
            "/v2.<minor>/) with a JSON body; every answer is {meta, data}.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
        "security": [{"basic": []}, {"bearer": []}],
    }
