"""The service's door: key, limits, content types and the one error shape before the routes."""

from __future__ import annotations

import json

import httpx
import pytest

from serving.guard import Guard, Limits, patch_spec
from tests.serving.conftest import _serve

KEY = "k-3f9a"


async def _echo(scope, receive, send) -> None:
    """A stand-in for the routes: 200 with the body it got, or a BentoML-style 400."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/bad":
        status, reply = (
            400,
            {
                "error": "1 validation error",
                "detail": [{"loc": ["leads", 2, "x"], "msg": "not a number"}],
            },
        )
    else:
        status, reply = 200, {"got": len(body)}
    payload = json.dumps(reply).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})  # fmt: skip


def _client(**limits) -> httpx.AsyncClient:
    app = Guard(_echo, Limits(**limits))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _post(client, path="/score", body=None, **headers):
    headers = {"content-type": "application/json"} | headers
    content = json.dumps({"followers": []} if body is None else body)
    return await client.post(path, content=content, headers=headers)


@pytest.mark.anyio
async def test_the_key_is_needed_for_scoring_and_not_for_health():
    async with _client(api_key=KEY) as client:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {KEY}"}):
            reply = await _post(client, **headers)
            assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
            assert reply.json() == {
                "error": "missing or wrong API key: send Authorization: Bearer <key>",
                "field": None,
            }
        assert (await _post(client, authorization=f"Bearer {KEY}")).status_code == 200
        assert (await _post(client, "/model", authorization=f"Bearer {KEY}")).status_code == 200
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await client.get(path)).status_code == 200


@pytest.mark.anyio
async def test_too_many_followers_or_too_big_a_body_is_413_naming_the_limit():
    async with _client(max_records=3, max_events=5, max_body_bytes=400) as client:
        many = await _post(client, body={"followers": [{"follower_id": str(i)} for i in range(4)]})
        assert many.status_code == 413
        assert many.json() == {
            "error": "4 followers in one request; the limit is 3 (send them in several requests)",
            "field": "followers",
        }
        events = await _post(client, body={"events": [{}] * 6})
        assert events.status_code == 413 and events.json()["field"] == "events"
        big = await _post(client, body={"followers": [], "pad": "x" * 500})
        assert big.status_code == 413 and "over the 400-byte limit" in big.json()["error"]
        assert (await _post(client, body={"followers": [{}] * 3})).status_code == 200


@pytest.mark.anyio
async def test_other_content_types_and_broken_bodies_are_4xx_in_the_one_shape():
    async with _client() as client:
        form = await client.post(
            "/score", content=b"x", headers={"content-type": "multipart/form-data"}
        )
        assert form.status_code == 415 and form.json()["field"] is None
        none = await client.post("/score", content=b"{}")
        assert none.status_code == 415 and "send application/json" in none.json()["error"]
        # A body too small to hold a list over a limit goes to the route unparsed.
        small = await client.post(
            "/score", content=b"{x", headers={"content-type": "application/json"}
        )
        assert small.status_code == 200 and small.json() == {"got": 2}
    # One that could hold too many is parsed here, and must be a JSON object.
    async with _client(max_records=1, max_events=1) as client:
        broken = await client.post(
            "/score", content=b"{x,", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400 and broken.json()["error"].startswith(
            "the body is not JSON"
        )
        array = await _post(client, body=[1, 2])
        assert array.status_code == 400 and "JSON object" in array.json()["error"]
    async with _client() as client:
        # A 4xx from the routes (pydantic's shape) leaves as the one shape, naming the field.
        routed = await _post(client, "/bad")
        assert routed.status_code == 400
        assert routed.json() == {"error": "leads[2].x: not a number", "field": "leads[2].x"}


def test_the_spec_declares_the_error_shape_for_every_route():
    spec = {"paths": {"/score": {"post": {"responses": {"200": {}}}}, "/healthz": {"get": {}}}}
    patched = patch_spec(spec)
    responses = patched["paths"]["/score"]["post"]["responses"]
    assert set(responses) == {"200", "400", "401", "413", "415"}
    reference = responses["413"]["content"]["application/json"]["schema"]["$ref"]
    assert reference == "#/components/schemas/Error"
    assert patched["components"]["schemas"]["Error"]["required"] == ["error", "field"]


def test_limits_come_from_the_environment(tmp_path):
    key = tmp_path / "key"
    key.write_text(f"{KEY}\n")
    limits = Limits.from_env({"LEADSCORE_API_KEY_FILE": str(key), "LEADSCORE_MAX_FOLLOWERS": "7"})
    assert (limits.api_key, limits.max_records) == (KEY, 7)
    assert Limits.from_env({}).api_key is None


@pytest.mark.slow
def test_a_real_server_with_a_key(table_bento_tag):
    with _serve(table_bento_tag, LEADSCORE_API_KEY=KEY, LEADSCORE_MAX_FOLLOWERS="2") as url:
        lead = {"Lead ID": "x1", "Lead Origin": "API"}
        body = {"leads": [lead]}
        assert httpx.post(f"{url}/score", json=body).status_code == 401
        wrong = httpx.post(f"{url}/score", json=body, headers={"Authorization": "Bearer no"})
        assert wrong.status_code == 401
        auth = {"Authorization": f"Bearer {KEY}"}
        right = httpx.post(f"{url}/score", json=body, headers=auth)
        assert right.status_code == 200 and right.json()[0]["id"] == "x1"
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.post(f"{url}/model", json={}, headers=auth).status_code == 200
        three = httpx.post(f"{url}/score", json={"leads": [lead] * 3}, headers=auth)
        assert three.status_code == 413 and three.json()["field"] == "leads"
        typo = httpx.post(f"{url}/score", json={"leads": [lead | {"Lead Orign": 1}]}, headers=auth)
        assert typo.status_code == 400 and typo.json()["field"] == "leads[0].Lead Orign"
        form = httpx.post(f"{url}/score", content=b"a", headers=auth | {
            "Content-Type": "multipart/form-data"})  # fmt: skip
        assert form.status_code == 415
        spec = httpx.get(f"{url}/docs.json").json()
        assert "Error" in spec["components"]["schemas"]
        one = httpx.post(f"{url}/score", json=body | {"reasons": 1}, headers=auth).json()[0]
        assert (len(one["reasons_up"]), len(one["reasons_down"])) == (1, 1)
        none = httpx.post(f"{url}/score", json=body | {"reasons": 0}, headers=auth).json()[0]
        assert none["reasons_up"] == none["reasons_down"] == []
        six = httpx.post(f"{url}/score", json=body | {"reasons": 6}, headers=auth)
        assert six.status_code == 400 and six.json()["field"] == "reasons"
