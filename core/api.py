"""JSON API plumbing: one declaration per route registers it, validates its input and describes it (OpenAPI)."""

import functools
import json
import re
import typing
from dataclasses import dataclass, field

from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import ValidationError as PydanticError
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule
from werkzeug.routing.converters import AnyConverter, FloatConverter, IntegerConverter, UUIDConverter

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


class MalformedJson(DomainError):
    status = 400
    code = "invalid_json"


#: No request schema nests more than a few levels; a deeper body is refused before it is parsed.
MAX_JSON_DEPTH = 20


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text, read without parsing it (brackets in strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def parse_body(schema: type[Schema]) -> Schema:
    """The request's JSON body as `schema`, or a 4xx with a message per field.

    The body is bounded before it is parsed: its size by MAX_CONTENT_LENGTH (413), its
    depth by MAX_JSON_DEPTH (400), so no body can make the parser recurse without end.
    """
    if not request.is_json:
        raise UnsupportedMediaType(_("Send the request body as application/json."))
    raw = request.get_data(cache=True)
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise MalformedJson(_("The request body nests too deeply."))
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedJson(_("The request body is not valid JSON.")) from None
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


@dataclass(frozen=True)
class Link:
    """An OpenAPI link: values from this response fill another operation's (named by its view) parameters or body."""

    operation: str
    parameters: dict[str, str] = field(default_factory=dict)
    request_body: dict | None = None


#: What a response is: a description, and a model (or a plain JSON schema) of its JSON body.
Response = tuple[str, type[BaseModel] | dict | None]


@dataclass
class Operation:
    endpoint: str
    operation_id: str
    summary: str
    query: type[Schema] | None = None
    body: type[Schema] | None = None
    responses: dict[int, Response] = field(default_factory=dict)
    links: dict[int, dict[str, Link]] = field(default_factory=dict)


#: Answers every operation can give, added to what a route declares (a route's own description wins).
#: 400: a NUL character in the path or query string is refused before any view runs (app.py).
ALWAYS: dict[int, str] = {400: "The request could not be understood"}
WITH_PATH_PARAMETERS: dict[int, str] = {404: "Nothing is published under this address"}
WITH_QUERY: dict[int, str] = {422: "A query parameter is not valid"}
WITH_BODY: dict[int, str] = {
    413: "The body is too large",
    415: "The body is not JSON",
    422: "The body is not a JSON object, or a field is not valid",
}


class Api:
    """The API's routes: each is declared once, and that declaration is the route, its validation and its document."""

    def __init__(self) -> None:
        self.operations: dict[str, Operation] = {}

    def route(
        self,
        bp: Blueprint,
        method: str,
        rule: str,
        summary: str,
        *,
        query: type[Schema] | None = None,
        body: type[Schema] | None = None,
        responses: dict[int, Response] | None = None,
        links: dict[int, dict[str, Link]] | None = None,
        decorators: typing.Sequence[typing.Callable] = (),
    ):
        """Register `rule` on `bp` for `method`; the view gets the parsed query and body in its annotated parameters.

        `decorators` wrap the validating view, outermost first, as if stacked under the route: they run before
        the parsing (a rate limit that counts refused requests too, a response cache that skips it on a hit).
        """

        def decorator(view):
            query_param = _parameter_for(view, query)
            body_param = _parameter_for(view, body)

            @functools.wraps(view)
            def validated(*args, **kwargs):
                if query_param:
                    kwargs[query_param] = parse_query(query)
                if body_param:
                    kwargs[body_param] = parse_body(body)
                return view(*args, **kwargs)

            endpoint = validated
            for wrap in reversed(decorators):
                endpoint = wrap(endpoint)
            bp.add_url_rule(rule, view_func=endpoint, methods=[method.upper()])
            key = f"{bp.name}.{view.__name__}"
            if key in self.operations:
                raise ValueError(f"{key} is declared twice")
            self.operations[key] = Operation(key, view.__name__, summary, query, body, responses or {}, links or {})
            return view

        return decorator

    def openapi_document(self, title: str, version: str) -> dict:
        """The OpenAPI document of the routes the current app serves, built from its url_map."""
        operations = [
            (op, rule)
            for rule in current_app.url_map.iter_rules()
            if (op := self.operations.get(rule.endpoint)) is not None
        ]
        known_ids = {op.operation_id for op, _rule in operations}
        models = _Models()
        for op, _rule in operations:
            if op.query is not None:
                models.add(op.query, "validation")
            if op.body is not None:
                models.add(op.body, "validation", body=True)
            for _description, model in op.responses.values():
                if isinstance(model, type):
                    models.add(model, "serialization", body=True)
        components = models.resolve()

        paths: dict = {}
        for op, rule in operations:
            path, parameters = _openapi_path(rule)
            if op.query is not None:
                parameters += _query_parameters(models.schema_of(op.query, "validation"))
            entry: dict = {"operationId": op.operation_id, "summary": op.summary}
            if parameters:
                entry["parameters"] = parameters
            if op.body is not None:
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": models.ref(op.body, "validation")}},
                }
            entry["responses"] = {
                str(status): self._response(op, status, description, model, models, known_ids)
                for status, (description, model) in sorted(self._responses(op, rule).items())
            }
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                paths.setdefault(path, {})[method.lower()] = entry
        # A query model is spelt out as parameters; its enums and sub-models stay in components.
        for name in {models.name(op.query, "validation") for op, _rule in operations if op.query} - models.bodies:
            components.pop(name, None)
        return {
            "openapi": "3.1.0",
            "info": {"title": title, "version": version},
            "paths": paths,
            "components": {"schemas": {"Error": ERROR_SCHEMA, **components}},
        }

    @staticmethod
    def _responses(op: Operation, rule: Rule) -> dict[int, Response]:
        if unanswered := set(op.links) - set(op.responses):
            raise ValueError(f"{op.endpoint} has links on statuses it does not declare: {sorted(unanswered)}")
        defaults = dict(ALWAYS)
        if rule.arguments:
            defaults.update(WITH_PATH_PARAMETERS)
        if op.query is not None:
            defaults.update(WITH_QUERY)
        if op.body is not None:
            defaults.update(WITH_BODY)
        return {**{status: (description, None) for status, description in defaults.items()}, **op.responses}

    @staticmethod
    def _response(op: Operation, status: int, description: str, model, models: "_Models", known_ids: set) -> dict:
        response: dict = {"description": description}
        if isinstance(model, type):
            response["content"] = {"application/json": {"schema": models.ref(model, "serialization")}}
        elif isinstance(model, dict):
            response["content"] = {"application/json": {"schema": model}}
        elif status >= 400:
            response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        links = {}
        for name, link in op.links.get(status, {}).items():
            if link.operation not in known_ids:
                raise ValueError(f"{op.endpoint} links to {link.operation}, which this app does not serve")
            links[name] = {"operationId": link.operation}
            if link.parameters:
                links[name]["parameters"] = dict(link.parameters)
            if link.request_body is not None:
                links[name]["requestBody"] = link.request_body
        if links:
            response["links"] = links
        return response


api = Api()


def openapi_document(title: str, version: str) -> dict:
    return api.openapi_document(title, version)


def _parameter_for(view, schema: type[Schema] | None) -> str | None:
    """The view's parameter annotated with `schema`: the declaration and the signature must agree."""
    if schema is None:
        return None
    names = [name for name, hint in typing.get_type_hints(view).items() if hint is schema and name != "return"]
    if len(names) != 1:
        raise TypeError(f"{view.__qualname__} must take exactly one parameter annotated {schema.__name__}")
    return names[0]


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

_REF_TEMPLATE = "#/components/schemas/{model}"


class _Models:
    """Every model of the document, named once in components (pydantic resolves name clashes)."""

    def __init__(self) -> None:
        self._wanted: list[tuple[type[BaseModel], str]] = []
        self._refs: dict = {}
        self._defs: dict = {}
        self._bodies: list[tuple[type[BaseModel], str]] = []

    def add(self, model: type[BaseModel], mode: str, *, body: bool = False) -> None:
        if (model, mode) not in self._wanted:
            self._wanted.append((model, mode))
        if body:
            self._bodies.append((model, mode))

    @property
    def bodies(self) -> set[str]:
        """Names of the models that describe a request or response body."""
        return {self.name(model, mode) for model, mode in self._bodies}

    def name(self, model: type[BaseModel], mode: str) -> str:
        return self.ref(model, mode)["$ref"].rsplit("/", 1)[1]

    def resolve(self) -> dict:
        if not self._wanted:
            return {}
        self._refs, top = models_json_schema(self._wanted, ref_template=_REF_TEMPLATE)
        self._defs = dict(top.get("$defs", {}))
        return self._defs

    def ref(self, model: type[BaseModel], mode: str) -> dict:
        return self._refs[(model, mode)]

    def schema_of(self, model: type[BaseModel], mode: str) -> dict:
        return self._defs[self.name(model, mode)]


# Werkzeug's own grammar for a rule's variable parts: <converter(arguments):name>.
_VARIABLE = re.compile(r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?(?P<name>[a-zA-Z_]\w*)>")


def _openapi_path(rule: Rule) -> tuple[str, list[dict]]:
    """The rule's path in OpenAPI's {name} form, and its path parameters typed from their converters."""
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _converter_schema(rule._converters[name])}
        for name in (match["name"] for match in _VARIABLE.finditer(rule.rule))
    ]
    return _VARIABLE.sub(lambda match: "{" + match["name"] + "}", rule.rule), parameters


def _converter_schema(converter) -> dict:
    if isinstance(converter, IntegerConverter | FloatConverter):
        schema: dict = {"type": "integer" if isinstance(converter, IntegerConverter) else "number"}
        low = converter.min if converter.min is not None else (None if converter.signed else 0)
        if low is not None:
            schema["minimum"] = low
        if converter.max is not None:
            schema["maximum"] = converter.max
        return schema
    if isinstance(converter, UUIDConverter):
        return {"type": "string", "format": "uuid"}
    if isinstance(converter, AnyConverter):
        return {"type": "string", "enum": sorted(converter.items)}
    # Any other converter matches within one path segment, or across segments for `path`.
    return {"type": "string", "pattern": "^" + converter.regex + "$"}


def _query_parameters(schema: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _without_null(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]


def _without_null(prop: dict) -> dict:
    """A query parameter is absent rather than null: `X | None = None` is described as an optional X."""
    prop = dict(prop)
    choices = prop.get("anyOf")
    if choices and {"type": "null"} in choices:
        rest = [choice for choice in choices if choice != {"type": "null"}]
        del prop["anyOf"]
        if len(rest) == 1:
            prop = {**rest[0], **prop}
        else:
            prop["anyOf"] = rest
    if prop.get("default", ...) is None:
        del prop["default"]
    return prop
