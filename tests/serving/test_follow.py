"""A running service follows the champion: a promotion swaps versions under a stream of requests
with no failed request; a version that fails to load is not swapped in."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from mlflow import MlflowClient

from serving.model_store import import_to_bentoml
from tests.serving.conftest import _serve
from training import registry

pytestmark = pytest.mark.slow

NAME = "followed"


def _version(client: MlflowClient, source: str, run_id: str | None) -> str:
    return str(client.create_model_version(NAME, source, run_id).version)


def _wait_for(url: str, predicate, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = httpx.post(f"{url}/model", json={}).json()
        if predicate(info):
            return info
        time.sleep(0.3)
    raise AssertionError(f"not seen within {timeout} s: {info}")


def test_a_promotion_swaps_versions_without_a_failed_request(trained, tmp_path):
    client = MlflowClient()
    source = client.get_model_version("lead-scorer", trained.version)
    client.create_registered_model(NAME)
    first = _version(client, source.source, source.run_id)
    registry.promote(NAME, first)
    tag = import_to_bentoml(f"models:/{NAME}@champion")
    body = {"followers": [{"follower_id": "f1", "n_click_7d": 3, "platform": "instagram"}]}
    with _serve(tag, LEADSCORE_FOLLOW=NAME, LEADSCORE_FOLLOW_EVERY_S="1") as url:
        info = httpx.post(f"{url}/model", json={}).json()
        assert info["version"] == first and info["follows"].startswith(f"models:/{NAME}@champion")
        replies: list[tuple[int, str | None]] = []
        stop = threading.Event()

        def stream() -> None:
            with httpx.Client(base_url=url) as http:
                while not stop.is_set():
                    reply = http.post("/score", json=body)
                    ok = reply.status_code == 200
                    replies.append(
                        (reply.status_code, reply.json()[0]["model_version"] if ok else None)
                    )

        thread = threading.Thread(target=stream)
        thread.start()
        try:
            second = _version(client, source.source, source.run_id)
            registry.promote(NAME, second)
            swapped = _wait_for(url, lambda info: info["version"] == second)
            time.sleep(1.0)  # a few more requests on the new version
        finally:
            stop.set()
            thread.join()
        assert swapped["serving_since"] and swapped["last_failure"] == ""
        assert replies and all(status == 200 for status, _ in replies)
        versions = [version for _, version in replies]
        assert versions[0] == first and versions[-1] == second
        # Once the new version answers, the old one never does again.
        assert versions == sorted(versions, key=lambda version: version == second)

        broken = tmp_path / "broken"
        broken.mkdir()
        (broken / "MLmodel").write_text("flavors: {}\n")
        third = _version(client, str(broken), None)
        registry.promote(NAME, third)
        failed = _wait_for(url, lambda info: bool(info["last_failure"]))
        assert failed["version"] == second
        assert failed["last_failure"].startswith(f"version {third} not loaded")
        assert httpx.post(f"{url}/score", json=body).json()[0]["model_version"] == second
