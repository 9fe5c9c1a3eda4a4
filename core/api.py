"""JSON API plumbing: request schemas that validate and also describe the API (OpenAPI)."""

from dataclasses import dataclass, field

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import ValidationError as PydanticError

from core.errors import DomainError, ValidationError


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul_character(cls, value):
        # PostgreSQL can neither store nor compare text holding a NUL.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


def parse_body(schema: type[Schema]) -> Schema:
    """The request's JSON body as `schema`, or a 4xx with a message per field."""
    if not request.is_json:
        raise UnsupportedMediaType(_("Send the request body as application/json."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_("The request body must be a JSON object."))
    try:
        return schema.model_validate(data)
    except PydanticError as exc:
        raise ValidationError(fields=_pydantic_fields(exc)) from None


def parse_query(schema: type[Schema]) -> Schema:
    try:
        return schema.model_validate(request.args.to_dict())
    except PydanticError as exc:
        raise ValidationError(fields=_pydantic_fields(exc)) from None


def _pydantic_fields(exc: PydanticError) -> dict:
    fields: dict = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(p) for p in error["loc"]) or "body"
        fields.setdefault(name, error["msg"])
    return fields


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    responses: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def document(method: str, path: str, summary: str, *, query=None, body=None, responses=None):
    """Record an endpoint for /api/v1/openapi.json from the schemas it really uses."""
    OPERATIONS.append(Operation(method.lower(), path, summary, query, body, responses or {}))

    def decorator(view):
        return view

    return decorator


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def openapi_document(title: str, version: str) -> dict:
    components: dict = {"Error": ERROR_SCHEMA}

    def ref(model: type[BaseModel]) -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            components[name] = sub
        components[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    paths: dict = {}
    for op in OPERATIONS:
        entry: dict = {"summary": op.summary, "responses": {}}
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_params(op.path)
        ]
        if op.query:
            schema = op.query.model_json_schema()
            for name, prop in schema.get("properties", {}).items():
                parameters.append(
                    {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
                )
        if parameters:
            entry["parameters"] = parameters
        if op.body:
            entry["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(op.body)}}}
        for status, (description, model) in op.responses.items():
            response: dict = {"description": description}
            if model is not None:
                response["content"] = {"application/json": {"schema": ref(model)}}
            elif status >= 400:
                response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            entry["responses"][str(status)] = response
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {"schemas": components},
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
