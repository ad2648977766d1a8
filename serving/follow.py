"""Following the champion: a running service polls the registry's `champion` alias, loads a new
version beside the one answering, and swaps them in one assignment; a version that fails to
load, or reads other inputs than the routes were built for, is not swapped in."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from serving.model.bundle import ScoringBundle
from serving.model.spec import EventsInput, ModelSpec, TableInput

logger = logging.getLogger(__name__)

DEFAULT_EVERY_S = 30.0


@dataclass(frozen=True)
class Served:
    """The model answering and since when; replaced whole, never changed in place, so a request
    that took it once scores with one version from start to end."""

    bundle: ScoringBundle
    version: str
    since: str

    @classmethod
    def now(cls, bundle: ScoringBundle, version: str) -> Served:
        # Build what the first request would otherwise wait for, before this version answers.
        bundle.encoder, bundle.explainer  # noqa: B018
        return cls(bundle, version, datetime.now(UTC).isoformat(timespec="seconds"))


def same_inputs(old: ModelSpec, new: ModelSpec) -> str | None:
    """Why `new` cannot answer on routes built for `old` (None: it can)."""
    if type(old.inputs) is not type(new.inputs):
        return f"it is a {new.kind}-mode model, the service serves {old.kind}-mode routes"
    if isinstance(old.inputs, EventsInput) and old.feature_columns != new.feature_columns:
        return "it reads other feature columns (other windows)"
    if isinstance(old.inputs, TableInput):
        before, after = old.inputs.columns, new.expect(TableInput).columns
        if (before.id_column, before.inputs, before.dates) != (
            after.id_column,
            after.inputs,
            after.dates,
        ):
            return "it reads other columns of the lead table"
    return None


class ChampionWatch:
    """Polls `models:/<name>@champion` every `every_s` seconds in a daemon thread."""

    def __init__(
        self,
        model_name: str,
        every_s: float,
        get: Callable[[], Served],
        put: Callable[[Served], None],
    ) -> None:
        self.model_name, self.every_s = model_name, every_s
        self.get, self.put = get, put
        self.failure: str | None = None
        self._failed_version: str | None = None
        self._stop = threading.Event()

    @classmethod
    def from_env(cls, get: Callable[[], Served], put: Callable[[Served], None]) -> ChampionWatch:
        """LEADSCORE_FOLLOW names the registered model (unset: follow nothing);
        LEADSCORE_FOLLOW_EVERY_S the polling interval."""
        name = os.environ.get("LEADSCORE_FOLLOW", "")
        every = float(os.environ.get("LEADSCORE_FOLLOW_EVERY_S", DEFAULT_EVERY_S))
        return cls(name, every, get, put)

    @property
    def active(self) -> bool:
        return bool(self.model_name) and self.every_s > 0

    def describe(self) -> str | None:
        if not self.active:
            return None
        return f"models:/{self.model_name}@champion, every {self.every_s:g} s"

    def start(self) -> None:
        if self.active:
            threading.Thread(target=self._loop, name="champion-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.check()

    def check(self) -> None:
        """One look at the registry; swaps when the champion is a new, loadable version."""
        from serving.model_store import load_registered, resolve_version

        try:
            _, version = resolve_version(f"models:/{self.model_name}@champion")
        except Exception as error:  # noqa: BLE001  (the registry may be briefly unreachable)
            logger.warning("champion of %s not read: %s", self.model_name, error)
            return
        current = self.get()
        if version in (current.version, self._failed_version):
            return
        try:
            bundle, _ = load_registered(f"models:/{self.model_name}/{version}")
            refused = same_inputs(current.bundle.spec, bundle.spec)
            if refused:
                raise ValueError(refused)
        except Exception as error:  # noqa: BLE001  (any failure keeps the version answering)
            self._failed_version = version
            self.failure = f"version {version} not loaded: {' '.join(str(error).split())[:300]}"
            logger.error("%s; version %s still answers", self.failure, current.version)
            return
        self.put(Served.now(bundle, version))
        self.failure, self._failed_version = None, None
        logger.info("%s version %s now answers (was %s)", self.model_name, version, current.version)
