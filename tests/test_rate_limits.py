"""Claims and sign-ins are rate limited per client address, in memory or in Redis."""

import os

import pytest

from tests.conftest import make_app
from tests.factories import make_wish

REDIS_URL = os.environ.get("REDIS_URL_TEST", "")


def _storm(app, wish_ids):
    client = app.test_client()
    return [
        client.post(f"/api/v1/wishes/{wid}/claim", json={"name": "甲", "contact": "13800001234"}).status_code
        for wid in wish_ids
    ]


def _limited_app(database_url, tmp_path, storage):
    return make_app(
        database_url,
        tmp_path,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=storage,
        CLAIM_RATE_LIMIT="3 per minute",
    )


def test_claims_are_limited_per_address(database_url, tmp_path, db):
    wishes = [make_wish().public_id for _ in range(4)]
    app = _limited_app(database_url, tmp_path, "memory://")
    statuses = _storm(app, wishes)
    assert statuses[:3] == [201, 201, 201]
    assert statuses[3] == 429
    response = app.test_client().post(
        f"/api/v1/wishes/{wishes[3]}/claim", json={"name": "甲", "contact": "13800001234"}
    )
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in response.headers


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL_TEST is not set")
def test_limits_are_shared_through_redis(database_url, tmp_path, db):
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    wishes = [make_wish().public_id for _ in range(4)]
    first = _limited_app(database_url, tmp_path, REDIS_URL)
    second = _limited_app(database_url, tmp_path, REDIS_URL)
    # Two workers, one budget: the fourth claim is refused by the other worker.
    assert _storm(first, wishes[:2]) == [201, 201]
    assert _storm(second, wishes[2:]) == [201, 429]
