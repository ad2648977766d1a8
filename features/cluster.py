"""Work spread over Dask: followers split by a hash of their id, each part's work done where it
lands, with the code of one machine, and the results put back in the followers' order."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.build import build_follower_features
from features.kernels.ids import lookup_codes, take_codes
from features.kernels.parallel import cores
from features.schema import ENTITY_KEY, FeatureConfig

if TYPE_CHECKING:
    from dask.distributed import Client

logger = logging.getLogger(__name__)

# `--dask local`: a LocalCluster of this machine's cores on 127.0.0.1.
LOCAL = "local"
# Parts per worker: more parts than workers keep every worker busy to the end.
PARTS_PER_WORKER = 4


@contextmanager
def dask_client(address: str) -> Iterator[Client]:
    """A client of a new LocalCluster on 127.0.0.1 (`address` "local", closed after), or of
    the scheduler at `address` (e.g. tcp://host:8786)."""
    from dask.distributed import Client, LocalCluster

    # Dask's own loggers (set up on import) narrate every connection at INFO: keep warnings.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("distributed"):
            logging.getLogger(name).setLevel(logging.WARNING)
    if address == LOCAL:
        workers = max(1, min(cores(), 4))
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                         dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR) as local,
            Client(local) as client,
        ):  # fmt: skip
            client.run(_silence_stdout)
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except OSError as error:
        raise ValueError(f"--dask {address}: no Dask scheduler answers there ({error})") from None
    with client:
        yield client


def _silence_stdout() -> None:
    """On a worker of our own LocalCluster: its standard output to /dev/null. The workers
    share the command's terminal, and native libraries (LightGBM's network) print there,
    between a table's lines or into `--output json`."""
    import os

    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.close(quiet)


def follower_parts(followers: pd.Series, n: int) -> np.ndarray:
    """The part of each follower: a hash of its id's text, the same on every machine and run."""
    text = followers.astype("str").to_numpy(dtype=object)
    return (pd.util.hash_array(text, categorize=False) % np.uint64(n)).astype(np.int64)


@dataclass(frozen=True)
class Part:
    """The followers of one part (rows of the whole followers table) and all their events."""

    rows: np.ndarray
    followers: pd.DataFrame
    events: pd.DataFrame


def event_positions(
    events: pd.DataFrame, followers: pd.Series, part: np.ndarray, n: int
) -> list[np.ndarray]:
    """For each of `n` parts, the positions of its events: every event goes with its follower's
    part (`part`, one per follower), in file order, so each follower's sums add up in the same
    order as in one pass; events of followers not listed go nowhere."""
    owner = lookup_codes(events[ENTITY_KEY], pd.Index(followers.astype("str")))
    event_part = take_codes(part, owner)
    order = np.argsort(event_part, kind="stable")  # one sort, not one pass per part
    bounds = np.searchsorted(event_part[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]


def split_by_follower(events: pd.DataFrame, followers: pd.DataFrame, n: int) -> list[Part]:
    """`n` parts by a hash of the follower id, each holding whole followers with every event
    of theirs, in file order."""
    part = follower_parts(followers[ENTITY_KEY], n)
    positions = event_positions(events, followers[ENTITY_KEY], part, n)
    return [
        Part(rows, followers.iloc[rows], events.take(held))
        for rows, held in ((np.flatnonzero(part == k), positions[k]) for k in range(n))
    ]


def run_parts(
    client: Client, work: Callable[..., Any], parts: Sequence[Part], *shared: Any
) -> list[Any]:
    """`work(part, *shared)` of every part on the cluster, results in the parts' order; the
    shared values are sent to every worker once."""
    sent = [client.scatter(value, broadcast=True) for value in shared]
    futures = [client.submit(work, client.scatter(part), *sent, pure=False) for part in parts]
    return client.gather(futures)


def in_followers_order(frames: Sequence[pd.DataFrame], parts: Sequence[Part]) -> pd.DataFrame:
    """The parts' rows, one frame per part, put back in the order of the whole followers table."""
    rows = np.concatenate([part.rows for part in parts])
    return pd.concat(frames).iloc[np.argsort(rows, kind="stable")]


def parts_for(client: Client) -> int:
    """How many parts to split work into for this cluster."""
    workers = len(client.scheduler_info().get("workers", {})) or 1
    return workers * PARTS_PER_WORKER


def cluster_features(
    client: Client,
    interactions: pd.DataFrame,
    followers: pd.DataFrame,
    as_of: pd.Timestamp | str,
    posts: pd.DataFrame | None,
    config: FeatureConfig,
) -> pd.DataFrame:
    """`build_follower_features` of every follower, each part on a worker: the same frame."""
    parts = split_by_follower(interactions, followers, parts_for(client))
    logger.info("features of %s followers in %d parts on Dask", f"{len(followers):,}", len(parts))
    frames = run_parts(client, _part_features, parts, as_of, posts, config)
    return in_followers_order(frames, parts)


def _part_features(
    part: Part, as_of: pd.Timestamp | str, posts: pd.DataFrame | None, config: FeatureConfig
) -> pd.DataFrame:
    return build_follower_features(part.events, part.followers, as_of, posts, config)
