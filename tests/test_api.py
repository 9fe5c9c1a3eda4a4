"""The public JSON API as DESIGN.md §5 describes it."""

from core.models import Role
from tests.factories import make_child, make_user, make_wish
from wishes.models import Claim, WishStatus


def test_list_has_contract_fields_and_pages(client, db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, district="梁溪区", alias="小雨")
    for _ in range(3):
        make_wish(WishStatus.PUBLISHED, child=child)
    make_wish(WishStatus.DRAFT, child=child)
    body = client.get("/api/v1/wishes?per_page=2").get_json()
    assert len(body["items"]) == 2 and body["total"] == 3
    item = body["items"][0]
    for key in (
        "id",
        "title",
        "story",
        "category",
        "amount_fen",
        "currency",
        "status",
        "needed_by",
        "child",
        "url",
        "qr_url",
    ):
        assert key in item
    assert item["child"]["alias"] == "小雨" and set(item["child"]) == {"alias", "age", "district"}
    assert item["url"] == f"http://localhost/wishes/{item['id']}"
    second = client.get(body["next"].replace("http://localhost", "")).get_json()
    assert len(second["items"]) == 1 and second["next"] is None
    assert {i["id"] for i in body["items"]}.isdisjoint({i["id"] for i in second["items"]})


def test_filters(client, db):
    caseworker = make_user(Role.CASEWORKER)
    a = make_child(caseworker, district="梁溪区")
    b = make_child(caseworker, district="崂山区")
    make_wish(child=a, category="books", amount_fen=5000)
    make_wish(child=b, category="books", amount_fen=30000)
    make_wish(child=b, category="sports", amount_fen=8000)
    make_wish(WishStatus.CLAIMED, child=b, category="sports", amount_fen=8000)

    def ids(query):
        return [
            i["child"]["district"] + i["category"] for i in client.get(f"/api/v1/wishes?{query}").get_json()["items"]
        ]

    assert sorted(ids("district=崂山区")) == ["崂山区江海街道books", "崂山区江海街道sports"]
    assert ids("category=books&max_amount_fen=10000") == ["梁溪区江海街道books"]
    assert ids("status=claimed") == ["崂山区江海街道sports"]
    amounts = [i["amount_fen"] for i in client.get("/api/v1/wishes?sort=cost_asc").get_json()["items"]]
    assert amounts == sorted(amounts)


def test_get_one_and_unknown(client, db):
    wish = make_wish()
    assert client.get(f"/api/v1/wishes/{wish.public_id}").get_json()["id"] == wish.public_id
    response = client.get("/api/v1/wishes/nosuchwish")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    draft = make_wish(WishStatus.DRAFT)
    assert client.get(f"/api/v1/wishes/{draft.public_id}").status_code == 404


def test_claim_through_the_api(client, db):
    wish = make_wish()
    response = client.post(
        f"/api/v1/wishes/{wish.public_id}/claim",
        json={"name": "周先生", "contact": "zhou@example.org", "display_name": "周先生"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["claim"]["wish"] == wish.public_id and body["claim"]["status"] == "active"
    assert body["manage_url"].startswith("http://localhost/claims/manage/")
    assert "contact" not in body["claim"]
    manage = client.get(body["manage_url"].replace("http://localhost", ""))
    assert manage.status_code == 200 and "周先生".encode() in manage.data
    again = client.post(f"/api/v1/wishes/{wish.public_id}/claim", json={"name": "李女士", "contact": "13800002222"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert db.session.query(Claim).count() == 1
    assert client.get(f"/api/v1/wishes/{wish.public_id}").get_json()["status"] == "claimed"


def test_openapi_is_generated_from_the_request_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    claim = doc["paths"]["/api/v1/wishes/{public_id}/claim"]["post"]
    schema_ref = claim["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"name", "contact"}
    assert schema["properties"]["name"]["maxLength"] == 60
    assert {"201", "409", "422"} <= set(claim["responses"])
    params = {p["name"] for p in doc["paths"]["/api/v1/wishes"]["get"]["parameters"]}
    assert {"district", "category", "status", "max_amount_fen"} <= params
