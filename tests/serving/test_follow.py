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


def _version(client: MlflowClient, source: str, run_id: str | None, name: str = NAME) -> str:
    return str(client.create_model_version(name, source, run_id).version)


def _wait_for(url: str, predicate, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = httpx.post(f"{url}/model", json={}).json()
        if predicate(info):
            return info
        time.sleep(0.3)
    raise AssertionError(f"not seen within {timeout} s: {info}")


BODY = {"followers": [{"follower_id": "f1", "n_click_7d": 3, "platform": "instagram"}]}


class Stream:
    """Requests to /score one after another on a thread, each reply's status and version kept."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.replies: list[tuple[int, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url) as http:
            while not self._stop.is_set():
                reply = http.post("/score", json=BODY)
                ok = reply.status_code == 200
                self.replies.append(
                    (reply.status_code, reply.json()[0]["model_version"] if ok else None)
                )

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _registered(trained, name: str = NAME) -> tuple[MlflowClient, object, str, str]:
    """The trained model under another name, its first version champion, imported for serving."""
    client = MlflowClient()
    source = client.get_model_version("lead-scorer", trained.version)
    client.create_registered_model(name)
    first = _version(client, source.source, source.run_id, name)
    registry.promote(name, first)
    return client, source, first, import_to_bentoml(f"models:/{name}@champion")


def test_a_promotion_swaps_versions_without_a_failed_request(trained, tmp_path):
    client, source, first, tag = _registered(trained)
    with _serve(tag, LEADSCORE_FOLLOW=NAME, LEADSCORE_FOLLOW_EVERY_S="1") as url:
        info = httpx.post(f"{url}/model", json={}).json()
        assert info["version"] == first and info["follows"].startswith(f"models:/{NAME}@champion")
        with Stream(url) as stream:
            second = _version(client, source.source, source.run_id)
            registry.promote(NAME, second)
            swapped = _wait_for(url, lambda info: info["version"] == second)
            time.sleep(1.0)  # a few more requests on the new version
        replies = stream.replies
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
        assert httpx.post(f"{url}/score", json=BODY).json()[0]["model_version"] == second


def test_every_process_follows_a_promotion_without_a_failed_request(trained):
    """With two server processes, each swaps on its own poll: for about one poll interval both
    versions answer, then only the new one, and no request fails."""
    name = "followed-by-two"
    client, source, first, tag = _registered(trained, name)
    env = {"LEADSCORE_FOLLOW": name, "LEADSCORE_FOLLOW_EVERY_S": "1", "LEADSCORE_WORKERS": "2"}
    with _serve(tag, **env) as url, Stream(url) as stream:
        time.sleep(1.0)
        second = _version(client, source.source, source.run_id, name)
        registry.promote(name, second)
        deadline = time.monotonic() + 30
        # Until a run of 40 replies in a row comes from the new version (both processes swapped).
        while time.monotonic() < deadline:
            tail = [version for _, version in stream.replies[-40:]]
            if len(tail) == 40 and set(tail) == {second}:
                break
            time.sleep(0.2)
    statuses = {status for status, _ in stream.replies}
    versions = [version for _, version in stream.replies]
    assert statuses == {200}
    assert versions[0] == first and set(versions[-40:]) == {second}
