"""What a CRM waits for: `leadscore serve` on loopback, timed over HTTP (sequential p50/p99 and
throughput at concurrency 16), with the in-process cost of each scoring step beside it.

Uses the champion of the store in the working folder (`make demo` trains one), or trains the
default audience's model in a scratch folder with --fresh. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from local_server import free_port, wait_ready

CONCURRENCY = 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh", action="store_true", help="Train a model in a scratch folder.")
    parser.add_argument("--requests", type=int, default=300, help="Sequential requests per case.")
    parser.add_argument("--model-name", default="lead-scorer")
    parser.add_argument(
        "--data", type=Path, default=Path("data/audience"), help="The audience it learnt from."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as scratch:
        work = Path(scratch) if args.fresh else Path.cwd()
        quiet = {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
                 "BENTOML_DO_NOT_TRACK": "true"}  # fmt: skip
        env = os.environ | quiet | {"BENTOML_HOME": str(Path(scratch) / "bentoml")}
        if args.fresh:
            _train(work, env, args.model_name)
            args.data = work / "audience"
        port = free_port()
        command = [sys.executable, "-m", "leadscore.cli", "serve", "--model-name", args.model_name,
                   "--port", str(port), "--follow-every", "0"]  # fmt: skip
        log = (Path(scratch) / "server.log").open("w")
        started = time.perf_counter()
        server = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, server)
            print(f"start-up to /readyz: {time.perf_counter() - started:.1f} s (import, load)")
            _measure(url, work, args.data, args.model_name, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


def _train(work: Path, env: dict[str, str], name: str) -> None:
    quiet = {"cwd": work, "env": env, "check": True, "stdout": subprocess.DEVNULL,
             "stderr": subprocess.DEVNULL}  # fmt: skip
    cli = [sys.executable, "-m", "leadscore.cli"]
    subprocess.run([*cli, "simulate", "--out", "audience"], **quiet)
    subprocess.run([*cli, "train", "--data", "audience", "--model-name", name], **quiet)


def _measure(url: str, work: Path, data: Path, model_name: str, n: int) -> None:
    bodies = _bodies(work / data)
    cases: list[tuple[str, str, str, dict | None, int]] = [
        ("GET /healthz", "GET", "/healthz", None, 0),
        ("POST /model", "POST", "/model", {}, 0),
        ("POST /score, 1 follower", "POST", "/score", bodies["one"], 1),
        ("POST /score, 100 followers", "POST", "/score", bodies["hundred"], 100),
        ("POST /score_events, 20 events", "POST", "/score_events", bodies["events"], 1),
    ]
    print(f"{'request':<32} {'p50 ms':>8} {'p99 ms':>8} {'req/s c16':>10} {'followers/s':>12}")
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, method, path, body, followers in cases:
            times = [_once(client, method, path, body) for _ in range(n)]
            rate = _concurrent(url, method, path, body, max(n, 200))
            p50, p99 = statistics.median(times), _quantile(times, 0.99)
            shown = f"{rate * followers:12,.0f}" if followers else f"{'':>12}"
            print(f"{name:<32} {p50:8.2f} {p99:8.2f} {rate:10,.0f} {shown}")
    _in_process(work, model_name, bodies)


def _once(client: httpx.Client, method: str, path: str, body: dict | None) -> float:
    started = time.perf_counter()
    reply = client.request(method, path, json=body) if body is not None else client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    if reply.status_code != 200:
        raise SystemExit(f"{method} {path}: {reply.status_code} {reply.text[:200]}")
    return elapsed


def _concurrent(url: str, method: str, path: str, body: dict | None, total: int) -> float:
    """Requests per second with CONCURRENCY clients on keep-alive connections."""
    per_client = max(1, total // CONCURRENCY)

    def run() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(per_client):
                _once(client, method, path, body)

    threads = [threading.Thread(target=run) for _ in range(CONCURRENCY)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_client * CONCURRENCY / (time.perf_counter() - started)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _bodies(data: Path) -> dict[str, dict]:
    """Request bodies from the audience the model was trained on (real followers)."""
    import pandas as pd

    from features.build import build_follower_features
    from features.events.load import load_tables

    tables = load_tables(data)
    as_of = tables.interactions["occurred_at"].max().normalize()
    busy = tables.interactions.groupby("follower_id").size()
    ids = list(busy[busy >= 20].index[:100])
    features = build_follower_features(
        tables.interactions, tables.followers[tables.followers["follower_id"].isin(ids)], as_of
    ).reset_index()
    records = [
        {k: (None if pd.isna(v) else v) for k, v in row.items() if k != "is_business"}
        for row in features.astype(object).to_dict(orient="records")
    ]
    events = tables.interactions[tables.interactions["follower_id"] == ids[0]].tail(20)
    event_rows = [
        {"follower_id": e.follower_id, "event_type": str(e.event_type),
         "occurred_at": e.occurred_at.isoformat()}
        for e in events.itertuples()
    ]  # fmt: skip
    return {
        "one": {"followers": records[:1]},
        "hundred": {"followers": records[:100]},
        "events": {"events": event_rows, "as_of": as_of.isoformat()},
    }


def _in_process(work: Path, model_name: str, bodies: dict[str, dict]) -> None:
    """Each step of one /score request, timed in this process (ms per call)."""
    from serving.model_store import load_registered
    from serving.requests import records_to_features
    from serving.schemas import FeatureRecord
    from serving.scoring import score_features
    from training.tracking import configure_tracking

    configure_tracking(work / "mlruns")
    bundle, version = load_registered(f"models:/{model_name}@champion")
    raw = bodies["one"]["followers"]
    records = [FeatureRecord(**record) for record in raw]
    features = records_to_features(records)
    matrix = bundle.model_input(features)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("parse (pydantic)", lambda: [FeatureRecord(**record) for record in raw]),
        ("records to features", lambda: records_to_features(records)),
        ("model input", lambda: bundle.model_input(features)),
        ("predict", lambda: bundle.predict_input(matrix)),
        ("TreeSHAP", lambda: bundle.contributions(matrix)),
        ("score_features, 3 reasons", lambda: score_features(features, bundle, version)),
        ("score_features, no reasons", lambda: score_features(features, bundle, version, 0)),
    ]
    print("\nin process, one follower (median of 200 calls):")
    for name, step in steps:
        times = []
        for _ in range(200):
            started = time.perf_counter()
            step()
            times.append((time.perf_counter() - started) * 1000)
        print(f"  {name:<28} {statistics.median(times):8.3f} ms")


if __name__ == "__main__":
    sys.exit(main())
