"""The OpenAPI document describes exactly the API the app serves, in a form an outside tool can follow."""

import re

import pytest
from flask import Blueprint, Flask
from pydantic import Field

from core.api import Api, Link, Schema
from tests.conftest import make_app

SKIPPED_METHODS = {"HEAD", "OPTIONS"}


def served_operations(app) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every rule under /api/v1, read from Flask's url_map."""
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
            served |= {(method.lower(), path) for method in rule.methods - SKIPPED_METHODS}
    return served


def documented_operations(doc: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, methods in doc["paths"].items() for method in methods}


@pytest.fixture
def doc(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


def test_every_api_route_is_documented(app, doc):
    missing = served_operations(app) - documented_operations(doc)
    assert not missing, f"served under /api/v1 but not in the document: {sorted(missing)}"


def test_every_documented_operation_is_served(app, doc):
    missing = documented_operations(doc) - served_operations(app)
    assert not missing, f"in the document but not served: {sorted(missing)}"


def test_the_document_covers_the_api_of_the_design(doc):
    assert {
        ("get", "/api/v1/wishes"),
        ("get", "/api/v1/wishes/{public_id}"),
        ("post", "/api/v1/wishes/{public_id}/claim"),
        ("get", "/api/v1/funds"),
        ("post", "/api/v1/donations"),
        ("get", "/api/v1/donations/{public_id}"),
        ("get", "/api/v1/campaigns/{slug}/wall"),
    } <= documented_operations(doc)


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves_in_components(doc):
    refs = set(_refs(doc))
    assert refs, "the document has no references at all"
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], ref


def test_query_parameters_are_plain_and_resolvable(doc):
    params = {p["name"]: p for p in doc["paths"]["/api/v1/wishes"]["get"]["parameters"]}
    assert params["category"]["schema"] == {"$ref": "#/components/schemas/WishCategory"}
    assert "enum" in doc["components"]["schemas"]["WishCategory"]
    assert params["per_page"]["schema"]["maximum"] == 100
    for param in params.values():
        assert param["in"] == "query" and not param["required"]
        assert {"type": "null"} not in param["schema"].get("anyOf", []), param


def test_every_operation_lists_every_status_it_can_answer(doc):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            statuses = set(operation["responses"])
            assert "400" in statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
                assert operation["parameters"][0]["in"] == "path"
            if "requestBody" in operation:
                assert {"413", "415", "422"} <= statuses, (method, path)
            if any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert "422" in statuses, (method, path)
            for status, response in operation["responses"].items():
                if status >= "400":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    claim = doc["paths"]["/api/v1/wishes/{public_id}/claim"]["post"]["responses"]
    assert {"409", "429"} <= set(claim)


def test_donation_schema_states_the_real_bounds(doc):
    donation = doc["components"]["schemas"]["DonationIn"]
    assert donation["properties"]["amount_fen"]["minimum"] == 1
    assert donation["properties"]["channel"]["enum"] == ["card", "alipay", "wechat_pay"]
    assert "wish" in donation["properties"]
    assert donation["additionalProperties"] is False


def test_created_things_link_to_where_they_are_read(doc):
    operation_ids = {op["operationId"] for methods in doc["paths"].values() for op in methods.values()}
    created = doc["paths"]["/api/v1/donations"]["post"]["responses"]["201"]["links"]
    assert created["GetDonation"] == {
        "operationId": "get_donation",
        "parameters": {"public_id": "$response.body#/donation/id"},
    }
    claimed = doc["paths"]["/api/v1/wishes/{public_id}/claim"]["post"]["responses"]["201"]["links"]
    assert claimed["GetClaimedWish"]["parameters"] == {"public_id": "$response.body#/claim/wish"}
    listed = doc["paths"]["/api/v1/wishes"]["get"]["responses"]["200"]["links"]
    assert listed["GetFirstWish"] == {
        "operationId": "get_wish",
        "parameters": {"public_id": "$response.body#/items/0/id"},
    }
    for methods in doc["paths"].values():
        for operation in methods.values():
            for response in operation["responses"].values():
                for link in response.get("links", {}).values():
                    assert link["operationId"] in operation_ids, link


def test_a_link_follows_to_the_resource_it_names(client, db):
    """The expressions in the links point at real fields: following one reads back what was created."""
    from tests.factories import make_fund

    make_fund()
    fund = client.get("/api/v1/funds").get_json()["items"][0]["slug"]
    created = client.post(
        "/api/v1/donations", json={"fund": fund, "amount_fen": 5000, "name": "王女士", "contact": "13800001111"}
    ).get_json()
    assert client.get(f"/api/v1/donations/{created['donation']['id']}").status_code == 200


# --- the declaration itself ------------------------------------------------------------------------


class ThingIn(Schema):
    name: str = Field(min_length=1, max_length=10)


class ThingQuery(Schema):
    page: int = Field(1, ge=1)


@pytest.fixture
def app_with(database_url, tmp_path, app):
    """A fresh app of the site with one more blueprint of test routes, and its own document at /api/t/openapi.json."""
    made = []

    def make(api: Api, bp: Blueprint) -> Flask:
        @api.route(bp, "GET", "/openapi.json", "The document")
        def openapi():
            return api.openapi_document("test", "0")

        second = make_app(database_url, tmp_path)
        second.register_blueprint(bp, url_prefix="/api/t")
        made.append(second)
        return second

    yield make
    for second in made:
        with second.app_context():
            from core.extensions import db as _db

            _db.engine.dispose()


def test_one_declaration_is_the_route_its_validation_and_its_document(app_with):
    api = Api()
    bp = Blueprint("things", __name__)

    @api.route(
        bp,
        "POST",
        "/shelves/<int(min=1):shelf>/things",
        "Add a thing",
        query=ThingQuery,
        body=ThingIn,
        responses={201: ("Added", ThingIn)},
        links={201: {"Again": Link("add_thing", {"shelf": "$request.path.shelf"})}},
    )
    def add_thing(shelf: int, q: ThingQuery, thing: ThingIn):
        return {"shelf": shelf, "page": q.page, "name": thing.name}, 201

    client = app_with(api, bp).test_client()
    response = client.post("/api/t/shelves/3/things?page=2", json={"name": " 书 "})
    assert response.status_code == 201 and response.get_json() == {"shelf": 3, "page": 2, "name": "书"}
    refused = client.post("/api/t/shelves/3/things", json={"name": "", "colour": "red"})
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"name", "colour"}
    assert client.post("/api/t/shelves/3/things", data="name=x").status_code == 415
    assert client.post("/api/t/shelves/3/things?page=0", json={"name": "x"}).status_code == 422
    assert client.get("/api/t/shelves/3/things").status_code == 405

    doc = client.get("/api/t/openapi.json").get_json()
    operation = doc["paths"]["/api/t/shelves/{shelf}/things"]["post"]
    assert operation["parameters"][0] == {
        "name": "shelf",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
    assert operation["parameters"][1]["name"] == "page"
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ThingIn"}
    assert set(operation["responses"]) == {"201", "400", "404", "413", "415", "422"}
    assert "ThingQuery" not in doc["components"]["schemas"]


def test_a_view_must_take_what_its_declaration_parses():
    api = Api()
    bp = Blueprint("mismatch", __name__)
    with pytest.raises(TypeError, match="ThingIn"):

        @api.route(bp, "POST", "/things", "Add a thing", body=ThingIn)
        def add_thing(thing: dict):
            return {}


def test_a_link_to_an_operation_the_app_does_not_serve_is_refused(app_with):
    api = Api()
    bp = Blueprint("dangling", __name__)

    @api.route(bp, "GET", "/things", "Things", links={404: {"Gone": Link("no_such_view", {})}})
    def things():
        return {}

    with app_with(api, bp).test_request_context():
        with pytest.raises(ValueError, match="does not declare"):
            api.openapi_document("test", "0")
        api.operations["dangling.things"].responses[404] = ("Gone", None)
        with pytest.raises(ValueError, match="no_such_view"):
            api.openapi_document("test", "0")
