"""LightGBM over a Dask cluster: its data-parallel learner on the workers, stopped early after."""

from __future__ import annotations

import logging
import socket
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import lightgbm
    from dask.distributed import Client

    from training.boost import BoostSettings, Labelled

logger = logging.getLogger(__name__)


def best_iteration(history: Sequence[float], patience: int) -> int:
    """The round LightGBM's early stopping keeps (1-based) for a metric to minimise: the first
    best score, looking no further than `patience` rounds without a better one."""
    best, best_round = float("inf"), 0
    for number, score in enumerate(history, start=1):
        if score < best:
            best, best_round = score, number
        elif number - best_round >= patience:
            break
    return best_round


def local_machines(client: Client) -> str | None:
    """`machines` for LightGBM when every worker runs on this host: one free port each (two
    workers on one host cannot share LightGBM's default port). None for remote workers:
    lightgbm.dask then finds ports on each machine itself."""
    hosts = [address.split("://")[-1].rsplit(":", 1)[0] for address in _workers(client)]
    if not hosts or any(host not in ("127.0.0.1", "localhost") for host in hosts):
        return None
    sockets = [socket.socket() for _ in hosts]
    try:
        for held in sockets:
            held.bind(("127.0.0.1", 0))  # all held at once, so the ports differ
        return ",".join(f"127.0.0.1:{held.getsockname()[1]}" for held in sockets)
    finally:
        for held in sockets:
            held.close()


def _workers(client: Client) -> list[str]:
    return sorted(client.scheduler_info()["workers"])


def dask_booster(
    client: Client, settings: BoostSettings, fit: Labelled, watched: Mapping[str, Labelled]
) -> lightgbm.Booster:
    """`train_booster` on the cluster: the fit rows split over the workers, every round
    evaluated on the watched sets, then cut back to the round early stopping on the first
    watched set (the stop rows) would have kept. lightgbm.dask has no early stopping of its
    own; the model is the same as if it had, at the cost of the extra rounds."""
    import dask.array as da
    import lightgbm as lgb

    workers = max(1, len(_workers(client)))
    _quiet_lightgbm()  # here, lightgbm.dask's own notes ("Using passed-in 'machines'")
    client.run(_quiet_lightgbm)

    def spread(rows: Labelled) -> tuple[Any, Any]:
        chunk = max(1, -(-rows.labels.size // workers))
        return (
            da.from_array(rows.matrix, chunks=(chunk, rows.matrix.shape[1])),
            da.from_array(rows.labels, chunks=chunk),
        )

    params = {**settings.params, "seed": settings.seed, "deterministic": True}
    params.pop("objective", None)  # the classifier's own: binary
    params.pop("num_threads", None)  # each worker uses its own threads
    machines = local_machines(client)
    model = lgb.DaskLGBMClassifier(
        client=client,
        n_estimators=settings.num_boost_round,
        **params,
        **({"machines": machines} if machines else {}),
    )
    names = list(watched)
    evaluated = [spread(rows) for rows in watched.values()]
    with warnings.catch_warnings():
        # The rows are read where the command runs, so they travel with the task graph.
        warnings.filterwarnings("ignore", "Sending large graph")
        model.fit(
            *spread(fit),
            eval_X=tuple(matrix for matrix, _ in evaluated),
            eval_y=tuple(labels for _, labels in evaluated),
            eval_names=names,
            eval_metric="binary_logloss",
            feature_name=settings.feature_names,
            categorical_feature=settings.categorical,
        )
    history = model.evals_result_[names[0]]["binary_logloss"]
    best = best_iteration(history, settings.early_stopping_rounds)
    logger.info("on Dask (%d workers): %d rounds, best %d", workers, len(history), best)
    booster = lgb.Booster(model_str=model.booster_.model_to_string(num_iteration=best))
    booster.best_iteration = best
    return booster


def _quiet_lightgbm() -> None:
    """LightGBM's notes to a debug log. Its native network lines ("Listening...") come from
    threads of their own and print anyway: our LocalCluster's workers write to /dev/null."""
    import lightgbm as lgb

    quiet = logging.getLogger("lightgbm")
    if not any(isinstance(each, _Expected) for each in quiet.filters):
        quiet.addFilter(_Expected())
    lgb.register_logger(quiet, info_method_name="debug")


class _Expected(logging.Filter):
    """Drops the warning the scikit-learn wrapper always causes: it hands on n_jobs, which
    each worker's own threads replace."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Parameter n_jobs will be ignored" not in record.getMessage()
