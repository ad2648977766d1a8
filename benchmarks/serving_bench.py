"""What a CRM waits for: `leadscore serve` on loopback, timed over HTTP (sequential p50/p99, and
throughput at concurrency 16) beside a no-op route of the same service (the framework's floor),
then the in-process cost of each scoring step, and compiled trees' speed-up where installed.

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
import time
from collections.abc import Callable
from pathlib import Path

from compiled_trees import compare
from http_load import Request, Timing, load, reply
from local_server import free_port, wait_ready

CONCURRENCY = 16
HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fresh", action="store_true", help="Train a model in a scratch folder.")
    parser.add_argument("--requests", type=int, default=400, help="Requests per case and mode.")
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
        bodies = _bodies(work / args.data)
        port = free_port()
        # The served service plus /noop (benchmarks/floor_service.py), started as users start it.
        command = [sys.executable, "-m", "leadscore.cli", "serve", "--model-name", args.model_name,
                   "--port", str(port), "--follow-every", "0",
                   "--service", "floor_service:LeadScorer"]  # fmt: skip
        path = os.pathsep.join([str(HERE), str(HERE.parent), env.get("PYTHONPATH", "")])
        log = (Path(scratch) / "server.log").open("w")
        started = time.perf_counter()
        server = subprocess.Popen(command, cwd=work, env=env | {"PYTHONPATH": path},
                                  stdout=log, stderr=log)  # fmt: skip
        try:
            wait_ready(f"http://127.0.0.1:{port}", server)
            print(f"start-up to /readyz: {time.perf_counter() - started:.1f} s (import, load)\n")
            _over_http(port, bodies, args.requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
    _in_process(work, args.model_name, bodies)
    compare(work, args.model_name, work / args.data)
    return 0


def _train(work: Path, env: dict[str, str], name: str) -> None:
    quiet = {"cwd": work, "env": env, "check": True, "stdout": subprocess.DEVNULL,
             "stderr": subprocess.DEVNULL}  # fmt: skip
    cli = [sys.executable, "-m", "leadscore.cli"]
    subprocess.run([*cli, "simulate", "--out", "audience"], **quiet)
    subprocess.run([*cli, "train", "--data", "audience", "--model-name", name], **quiet)


def _over_http(port: int, bodies: dict[str, dict], n: int) -> None:
    one, hundred = bodies["one"], bodies["hundred"]
    cases = {
        "GET /healthz": (Request("GET", "/healthz"), 0),
        "POST /noop, 1 follower (floor)": (Request.post("/noop", one), 1),
        "POST /score, 1 follower": (Request.post("/score", one), 1),
        "POST /noop, 100 followers": (Request.post("/noop", hundred), 100),
        "POST /score, 100 followers": (Request.post("/score", hundred), 100),
        "POST /score, 100, reasons 0": (Request.post("/score", hundred | {"reasons": 0}), 100),
        "POST /noop_events, 20 events": (Request.post("/noop_events", bodies["events"]), 1),
        "POST /score_events, 20 events": (Request.post("/score_events", bodies["events"]), 1),
    }
    print(f"{'over HTTP, keep-alive':<34} {'p50 ms':>7} {'p99 ms':>7} {'req/s c16':>10} "
          f"{'followers/s':>12}")  # fmt: skip
    timings: dict[str, tuple[Timing, Timing]] = {}
    for name, (request, followers) in cases.items():
        alone = load("127.0.0.1", port, request, 1, n)
        together = load("127.0.0.1", port, request, CONCURRENCY, n)
        timings[name] = (alone, together)
        shown = f"{together.rate * followers:12,.0f}" if followers else ""
        print(f"{name:<34} {alone.quantile(0.5):7.2f} {alone.quantile(0.99):7.2f} "
              f"{together.rate:10,.0f} {shown:>12}")  # fmt: skip
    _targets(timings)
    print("\none real reply, POST /score with 1 follower:")
    print(reply("127.0.0.1", port, Request.post("/score", one)))


def _targets(timings: dict[str, tuple[Timing, Timing]]) -> None:
    floor, floor_c16 = timings["POST /noop, 1 follower (floor)"]
    one, one_c16 = timings["POST /score, 1 follower"]
    events = timings["POST /score_events, 20 events"][0]
    hundred_rate = timings["POST /score, 100 followers"][1].rate * 100
    checks = [
        ("/score 1 follower p50 <= 1.5x the floor's", one.quantile(0.5) / floor.quantile(0.5), 1.5,
         "x"),
        ("/score 1 follower req/s >= 0.8x the floor's", one_c16.rate / floor_c16.rate, 0.8, "x"),
        ("/score 100 followers >= 10,000 followers/s", hundred_rate, 10_000, " followers/s"),
        ("/score_events p50 <= 2x the floor's", events.quantile(0.5) / floor.quantile(0.5), 2.0,
         "x"),
    ]  # fmt: skip
    print("\ntargets:")
    for label, value, target, unit in checks:
        met = value <= target if "<=" in label else value >= target
        shown = f"{value:,.0f}" if value > 100 else f"{value:.2f}"
        print(f"  {'met    ' if met else 'MISSED '} {label}: {shown}{unit}")


def _bodies(data: Path) -> dict[str, dict]:
    """Request bodies from the audience the model was trained on (real followers)."""
    import pandas as pd

    from features.build import build_follower_features
    from features.events.load import load_tables

    tables = load_tables(data)
    as_of = tables.interactions["occurred_at"].max().normalize()
    busy = tables.interactions.groupby("follower_id").size()
    ids = list(busy[busy >= 20].index[:100])
    followers = tables.followers[tables.followers["follower_id"].isin(ids)]
    features = build_follower_features(tables.interactions, followers, as_of).reset_index()
    records = [
        {k: (None if pd.isna(v) else v) for k, v in row.items() if k != "is_business"}
        for row in features.astype(object).to_dict(orient="records")
    ]
    return {
        "one": {"followers": records[:1]},
        "hundred": {"followers": records[:100]},
        "events": _events_body(tables, ids[0], as_of),
    }


def _events_body(tables, follower: str, as_of) -> dict:  # noqa: ANN001
    """One follower's latest 20 events with the profile and the posts they touch, as a CRM
    holding raw events would send them."""
    import pandas as pd

    def known(value: object) -> object:
        return None if pd.isna(value) else value

    events = tables.interactions[tables.interactions["follower_id"] == follower].tail(20)
    event_rows = [
        {"follower_id": e.follower_id, "event_type": str(e.event_type),
         "occurred_at": e.occurred_at.isoformat(), "post_id": known(e.post_id),
         "value": known(e.value)}
        for e in events.itertuples()
    ]  # fmt: skip
    profile = tables.followers[tables.followers["follower_id"] == follower].iloc[0]
    profile_row = {
        "follower_id": follower, "platform": profile.platform,
        "followed_at": profile.followed_at.isoformat(), "country": known(profile.country),
        "follower_count": known(profile.follower_count),
        "following_count": known(profile.following_count),
    }  # fmt: skip
    posts = tables.posts[tables.posts["post_id"].isin(events["post_id"])]
    post_rows = [
        {"post_id": p.post_id, "published_at": p.published_at.isoformat(), "format": p.format,
         "campaign": known(p.campaign)}
        for p in posts.itertuples()
    ]  # fmt: skip
    return {"events": event_rows, "profiles": [profile_row], "posts": post_rows,
            "as_of": as_of.isoformat()}  # fmt: skip


def _in_process(work: Path, model_name: str, bodies: dict[str, dict]) -> None:
    """Each step of a /score request, timed in this process: ms per request of 1 and of 100."""
    import json

    from serving.model_store import load_registered
    from training.tracking import configure_tracking

    configure_tracking(work / "mlruns")
    bundle, version = load_registered(f"models:/{model_name}@champion")
    print("\nin process, ms per request (median of 100):")
    print(f"  {'step':<34} {'1 follower':>10} {'100':>10}")
    alone, hundred = (
        _steps(json.dumps(bodies[size]["followers"]).encode(), bundle, version)
        for size in ("one", "hundred")
    )
    for name, ms in alone.items():
        print(f"  {name:<34} {ms:10.3f} {hundred[name]:10.3f}")
    print(f"\n  {'/score_events step':<34} {'20 events':>10}")
    for name, ms in _event_steps(json.dumps(bodies["events"]).encode(), bundle, version).items():
        print(f"  {name:<34} {ms:10.3f}")


def _steps(raw: bytes, bundle, version: str) -> dict[str, float]:  # noqa: ANN001
    from pydantic import TypeAdapter
    from pydantic_core import to_json

    from serving.requests import records_to_rows
    from serving.schemas import FeatureRecord
    from serving.scoring import explain, score_rows

    columns, config = bundle.spec.feature_columns, bundle.spec.inputs.features
    parse = TypeAdapter(list[FeatureRecord])
    records = parse.validate_json(raw)
    rows = records_to_rows(records, columns, config)
    matrix = bundle.encoder.rows(rows.table)
    scores = score_rows(rows.ids, rows.values, matrix, bundle, version)
    timed: dict[str, Callable[[], object]] = {
        "parse (pydantic, from JSON)": lambda: parse.validate_json(raw),
        "records to rows": lambda: records_to_rows(records, columns, config),
        "model input": lambda: bundle.encoder.rows(rows.table),
        "predict": lambda: bundle.predict_input(matrix),
        "TreeSHAP": lambda: bundle.contributions(matrix),
        "reasons (TreeSHAP and words)": lambda: explain(rows.values, matrix, bundle, 3),
        "reply (JSON)": lambda: to_json(scores.records()),
    }
    return {name: _median_ms(step) for name, step in timed.items()}


def _event_steps(raw: bytes, bundle, version: str) -> dict[str, float]:  # noqa: ANN001
    from datetime import datetime

    from pydantic import BaseModel
    from pydantic_core import to_json

    from features.records import record_features
    from serving.schemas import Event, Post, Profile
    from serving.scoring import score_rows

    class Body(BaseModel):
        events: list[Event]
        profiles: list[Profile]
        posts: list[Post]
        as_of: datetime

    config = bundle.spec.inputs.features
    body = Body.model_validate_json(raw)
    request = (body.events, body.profiles, body.posts, body.as_of, config)
    found = record_features(*request)
    values = [found.columns[column] for column in bundle.spec.feature_columns]
    matrix = bundle.encoder.arrays(found.columns)
    scores = score_rows(found.ids, values, matrix, bundle, version)
    timed: dict[str, Callable[[], object]] = {
        "parse (pydantic, from JSON)": lambda: Body.model_validate_json(raw),
        "features from the records": lambda: record_features(*request),
        "model input": lambda: bundle.encoder.arrays(found.columns),
        "score and reasons": lambda: score_rows(found.ids, values, matrix, bundle, version),
        "reply (JSON)": lambda: to_json(scores.records()),
    }
    return {name: _median_ms(step) for name, step in timed.items()}


def _median_ms(step: Callable[[], object], calls: int = 100) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
