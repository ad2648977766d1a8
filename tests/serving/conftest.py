"""Serving fixtures: the trained test models in the BentoML store, and real HTTP servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bento_tag(trained) -> str:
    """The test model copied into the (throw-away) BentoML model store."""
    from serving.model_store import import_to_bentoml

    tag = import_to_bentoml(f"models:/lead-scorer/{trained.version}")
    os.environ["LEADSCORE_MODEL_TAG"] = tag
    return tag


@pytest.fixture(scope="session")
def scorer(bento_tag: str):
    """An instance of the service class, called directly without HTTP."""
    from serving.service import LeadScorer

    return LeadScorer()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server(bento_tag: str) -> Iterator[str]:
    """`bentoml serve` really started on loopback; yields its base URL, stops it after."""
    with _serve(bento_tag) as url:
        yield url


@pytest.fixture(scope="session")
def table_bento_tag(table_trained) -> str:
    """The table test model in the BentoML store (the environment's tag stays the events one)."""
    from serving.model_store import import_to_bentoml
    from tests.conftest import CRM_MODEL

    return import_to_bentoml(f"models:/{CRM_MODEL}/{table_trained.version}")


@pytest.fixture(scope="session")
def table_server(table_bento_tag: str) -> Iterator[str]:
    """A second real server, serving the table model; yields its base URL."""
    with _serve(table_bento_tag) as url:
        yield url


@contextmanager
def _serve(tag: str, **env_vars: str) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "bentoml", "serve", "serving.service:LeadScorer"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    env = os.environ | {"LEADSCORE_MODEL_TAG": tag} | env_vars
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server not ready after {timeout} s")
