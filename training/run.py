"""One training run for every data source: tune, fit, score, compare, log, register, promote."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.model.bundle import ScoringBundle, load_bundle
from serving.model.drift import Reference
from serving.model.encode import CategoryLevels, to_model_input
from serving.model.scores import make_score_cutoffs
from serving.model.spec import ModelSpec
from training import mlflow_log, registry
from training.boost import Labelled, ScoredRows, boost_settings, fit_model, score_input
from training.config import RunConfig
from training.evaluate import evaluate_scores
from training.sources.base import Period, RunSummary, Source, TuningRows, data_fingerprint
from training.tracking import ensure_experiment

if TYPE_CHECKING:
    import lightgbm
    from dask.distributed import Client

    from training.tune import FitAndScore, TuneResult

logger = logging.getLogger(__name__)

MODEL_NAME = "LightGBM (calibrated)"
# Test metrics a registered version carries as tags.
TAGGED_METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "base_rate", "oracle_roc_auc")


@dataclass(frozen=True)
class RunResult:
    """What a training run produced and decided.

    metrics are on the test rows (the headline), valid_metrics on the validation period (empty
    for a source without one); tuning is None when the run used fixed parameters.
    """

    run_id: str
    version: str
    metrics: dict[str, float]
    promoted: bool
    reason: str
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    valid_metrics: dict[str, float] = field(default_factory=dict)
    tuning: TuneResult | None = None
    summary: RunSummary = RunSummary("")
    plan: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Fitted:
    """The final model of a run: trees, calibration, category levels, and its scored periods."""

    booster: lightgbm.Booster
    calibration: dict[str, Any]
    levels: dict[str, list[str]]
    scored: dict[str, ScoredRows]


def fit_levels(period: Period, categorical: Sequence[str]) -> dict[str, list[str]]:
    """The category levels the model learns from a period's rows."""
    return CategoryLevels(categorical).fit(period.features).levels_


def encode(
    periods: Mapping[str, Period], columns: Sequence[str], levels: dict[str, list[str]]
) -> dict[str, Labelled]:
    """Each period's model input and labels, built once for every model that reads them."""
    return {
        name: Labelled(to_model_input(rows.features, columns, levels), rows.labels)
        for name, rows in periods.items()
    }


def score(
    booster: lightgbm.Booster, calibration: dict, rows: Labelled, source: Source
) -> ScoredRows:
    """Calibrated probabilities and metrics of `rows`, with the source's own metrics."""
    scored = score_input(booster, calibration, rows)
    scored.metrics.update(source.extra_metrics(rows.labels, scored.probabilities))
    return scored


def trial_scorer(
    rows: TuningRows, source: Source, config: RunConfig, client: Client | None = None
) -> FitAndScore:
    """What each tuning trial runs (see training.tune): a model made exactly as the final one
    (fit rows, early stopping and calibration on stop rows), judged calibrated on the judged
    rows: the product returns calibrated probabilities, so those are what the settings should
    be chosen for."""
    levels = fit_levels(rows.fit, source.categorical)
    parts = {"fit": rows.fit, "stop": rows.stop, "judged": rows.judged}
    inputs = encode(parts, source.columns, levels)

    def fit_and_score(
        params: dict[str, Any], callbacks: Sequence[Callable[..., None]]
    ) -> dict[str, float]:
        boosting = replace(config.boosting, lgbm_params=params)
        settings = boost_settings(boosting, config.seed, source.columns, levels)
        fitted = fit_model(
            settings, inputs["fit"], inputs["stop"], inputs["judged"], callbacks, client
        )
        metrics = score(*fitted, inputs["judged"], source).metrics
        return metrics | {"best_iteration": float(fitted[0].best_iteration)}

    return fit_and_score


def fit_final(config: RunConfig, source: Source, client: Client | None = None) -> Fitted:
    """The run's model on the fit rows, stopped and calibrated on the stop rows, then scored on
    the later periods (the trees grown on a Dask `client`'s workers if given)."""
    levels = fit_levels(source.periods["fit"], source.categorical)
    inputs = encode(source.periods, source.columns, levels)
    settings = boost_settings(config.boosting, config.seed, source.columns, levels)
    booster, calibration = fit_model(settings, inputs["fit"], inputs["stop"], client=client)
    logger.info("%d trees, calibration: %s", booster.best_iteration, calibration["method"])
    scored = {
        name: score(booster, calibration, inputs[name], source)
        for name in ("valid", "test")
        if name in inputs
    }
    return Fitted(booster, calibration, levels, scored)


def make_spec(source: Source, fitted: Fitted, metrics: dict[str, float]) -> ModelSpec:
    """The spec the registered model carries: columns, levels, cut-offs, the source's part."""
    held_out = fitted.scored[source.cutoff_period]
    return ModelSpec(
        feature_version=source.feature_version,
        feature_columns=list(source.columns),
        categorical_levels=fitted.levels,
        score_cutoffs=make_score_cutoffs(held_out.probabilities),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        inputs=source.spec_part(fitted.levels),
        calibration=fitted.calibration,
        metrics=metrics,
        # What drift reports compare scored rows with: the same held-out rows as the cut-offs.
        reference=Reference.of(held_out.matrix, held_out.probabilities, source.columns).to_dict(),
    )


def train(config: RunConfig, loaded: Callable[[Source], None] | None = None) -> RunResult:
    """One full training run: data, (tuning,) model, MLflow run, registry version, promotion.

    With `config.trials` > 0, an Optuna study (training.tune) chooses the LightGBM settings on
    the source's judged rows, and the model is refit with the best ones exactly like an untuned
    run. The test rows are only scored, after every choice is made. `loaded` sees the source
    once it is read and planned, before any training (the command line prints the plan).
    """
    with _cluster(config.dask) as client:
        return _train(config, client, loaded)


@contextmanager
def _cluster(address: str | None) -> Iterator[Client | None]:
    if address is None:
        yield None
        return
    from features.cluster import dask_client

    with dask_client(address) as client:
        yield client


def _train(
    config: RunConfig, client: Client | None, loaded: Callable[[Source], None] | None
) -> RunResult:
    import mlflow

    source = config.source.load(config.seed, client)
    if loaded is not None:
        loaded(source)
    fingerprint = data_fingerprint(source.data_path)
    ensure_experiment(config.experiment)
    mlflow.set_experiment(config.experiment)
    with mlflow.start_run(run_name=f"{config.model_name}-{source.kind}") as run:
        _log_inputs(config, source, fingerprint)
        tuning = _tune(config, source, run.info.run_id, client) if config.trials else None
        if tuning is not None:
            config = replace(config, lgbm_params=tuning.lgbm_params)
        # The settings the final model is trained with (after tuning: the best trial's).
        mlflow.log_params({f"lgbm_{k}": v for k, v in config.boosting.lgbm_params.items()})
        fitted = fit_final(config, source, client)
        metrics = _log_metrics(fitted, source)
        baselines = _compare(config, source, fitted) if config.baselines else {}
        bundle = ScoringBundle(fitted.booster, make_spec(source, fitted, metrics))
        info = mlflow_log.log_model(bundle, *source.model_example(bundle))
        tags = version_tags(source, metrics, fingerprint)
        version = mlflow_log.register(config.model_name, info.model_uri, tags)
        promoted, reason = promote_if_better(config.model_name, version, bundle.spec, source, tags)
        mlflow.set_tags({"registered_version": version, "promotion": reason})
    valid = fitted.scored.get("valid")
    return RunResult(
        run.info.run_id,
        version,
        metrics,
        promoted,
        reason,
        baselines,
        valid.metrics if valid else {},
        tuning,
        source.summary(metrics),
        source.describe(),
    )


def _log_inputs(config: RunConfig, source: Source, fingerprint: str) -> None:
    import mlflow

    run = ("model_name", "experiment", "seed", "num_boost_round", "early_stopping_rounds")
    run += ("baselines", "trials", "tune_metric")
    mlflow.log_params({name: getattr(config, name) for name in run} | source.params())
    common = {"mode": source.kind, "feature_version": source.feature_version}
    mlflow.set_tags(common | {"data_fingerprint": fingerprint} | source.tags())
    for path, record in source.artifacts().items():
        mlflow.log_dict(record, path)


def _tune(config: RunConfig, source: Source, run_id: str, client: Client | None) -> TuneResult:
    import mlflow

    from training.tune import log_tuning, tune

    rows = source.tuning_rows(config.seed)
    if rows.params:
        mlflow.log_params(rows.params)
    result = tune(
        trial_scorer(rows, source, config, client),
        config.boosting.lgbm_params,
        model_name=config.model_name,
        run_id=run_id,
        trials=config.trials,
        metric=config.tune_metric,
        seed=config.seed,
    )
    log_tuning(result)
    return result


def _log_metrics(fitted: Fitted, source: Source) -> dict[str, float]:
    """The test metrics with the source's references (the oracle), logged with validation's."""
    import mlflow

    metrics = dict(fitted.scored["test"].metrics) | source.references()
    best = {"best_iteration": float(fitted.booster.best_iteration)}
    logged = {f"test_{name}": value for name, value in metrics.items()} | best
    if "valid" in fitted.scored:
        logged |= {f"valid_{name}": value for name, value in fitted.scored["valid"].metrics.items()}
    mlflow.log_metrics(logged)
    return metrics | best


def _compare(config: RunConfig, source: Source, fitted: Fitted) -> dict[str, dict[str, float]]:
    """The baselines' test metrics beside the model's, logged with the run's report."""
    from training.report import ReportInputs, shap_importance, write_report

    test, labels = fitted.scored["test"], source.periods["test"].labels
    scored = {MODEL_NAME: test.probabilities} | source.baseline_scores(config.seed)
    metrics = {
        name: evaluate_scores(labels, p) | source.extra_metrics(labels, p)
        for name, p in scored.items()
    }
    importance = shap_importance(fitted.booster, test.matrix, list(source.columns), config.seed)
    title, notes = source.report_notes()
    pairs = {name: (labels, p) for name, p in scored.items()}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = ReportInputs(MODEL_NAME, pairs, importance, notes, title, metrics)
        mlflow_log.log_report(write_report(Path(tmp), inputs))
    baselines = {name: values for name, values in metrics.items() if name != MODEL_NAME}
    mlflow_log.log_baselines(baselines)
    return baselines


def version_tags(source: Source, metrics: dict[str, float], fingerprint: str) -> dict[str, str]:
    """What a registered version carries: kind, features, data, split, test metrics."""
    common = {"mode": source.kind, "feature_version": source.feature_version}
    shown = {f"test_{key}": f"{metrics[key]:.4f}" for key in TAGGED_METRICS if key in metrics}
    return common | {"data_fingerprint": fingerprint} | source.version_tags() | shown


def promote_if_better(
    name: str, version: str, spec: ModelSpec, source: Source, tags: dict[str, str]
) -> tuple[bool, str]:
    """Promote `version` when `registry.decide_promotion` prefers it to the champion.

    The champion scores the same test rows, read its own way (`champion_rows`, `prepare`). A
    champion of another kind, horizon or columns is never replaced automatically. `tags` are
    this version's: the reason warns when the champion may have learnt from these test rows.
    """
    current = registry.champion_version(name)
    champion_metrics, note = None, ""
    if current is not None:
        champion = load_bundle(f"models:/{name}/{current}")
        mismatch = registry.spec_mismatch(champion.spec, spec)
        if mismatch is not None:
            return False, (
                f"not promoted: champion v{current} {mismatch}; "
                f"promote by hand with `leadscore promote {version} --model-name {name}`"
            )
        probabilities = champion.predict_proba(champion.prepare(source.champion_rows()))
        champion_metrics = evaluate_scores(source.periods["test"].labels, probabilities)
        note = source.champion_note(mlflow_log.version_tags(name, current), tags)
    promoted, reason = registry.decide_promotion(spec.metrics, champion_metrics)
    if promoted:
        registry.promote(name, version)
    return promoted, reason + note
