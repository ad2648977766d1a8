"""Fit LightGBM on time-ordered snapshots, log the run to MLflow, register and maybe promote."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.bundle import ModelSpec, ScoringBundle, make_score_cutoffs
from features.calibration import apply_calibration
from features.encode import CategoryLevels, to_model_input
from features.events import Tables, load_tables, read_table
from features.schema import (
    CATEGORICAL_COLUMNS,
    ENTITY_KEY,
    FEATURE_VERSION,
    LABEL_COLUMN,
    FeatureConfig,
    feature_columns,
    feature_groups,
)
from training import registry
from training.compare import MODEL_NAME, compare_and_report, score_baselines
from training.config import TrainConfig
from training.dataset import (
    AS_OF_COLUMN,
    TimeSplit,
    build_training_frame,
    describe_split,
    make_snapshot_dates,
    split_by_time,
)
from training.evaluate import evaluate_scores
from training.tracking import ensure_experiment

if TYPE_CHECKING:
    import lightgbm

    from training.tune import FitAndScore, TuneResult

logger = logging.getLogger(__name__)

PIP_REQUIREMENTS = ["lightgbm>=4.7", "pandas>=3.1", "numpy>=2.4", "mlflow>=3.17"]
# Names of the early-stopping rows and of the validation rows in LightGBM's evaluation results.
STOP_SET = "stop"
VALID_SET = "valid"


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced and decided.

    metrics are on the test period (the headline), valid_metrics on the validation period;
    tuning is None when the run used fixed parameters.
    """

    run_id: str
    version: str
    metrics: dict[str, float]
    promoted: bool
    reason: str
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    valid_metrics: dict[str, float] = field(default_factory=dict)
    tuning: TuneResult | None = None


@dataclass(frozen=True)
class ScoredRows:
    """One period scored by a fitted model: its model input, calibrated probabilities, metrics."""

    matrix: np.ndarray
    probabilities: np.ndarray
    metrics: dict[str, float]


def fit_booster(
    split: TimeSplit,
    levels: dict[str, list[str]],
    config: TrainConfig,
    callbacks: Sequence[Callable[..., None]] = (),
    watch_valid: bool = False,
) -> lightgbm.Booster:
    """LightGBM on the fit rows, stopped early on the later stop rows.

    `callbacks` run after every iteration, besides early stopping. With `watch_valid`, LightGBM
    also evaluates the validation rows every iteration (as VALID_SET) for those callbacks
    (tuning prunes on them); early stopping never looks at them, so the trees are the same.
    """
    import lightgbm as lgb

    columns = feature_columns(config.features)

    def dataset(rows: pd.DataFrame, reference: Any = None) -> lgb.Dataset:
        return lgb.Dataset(
            to_model_input(rows, columns, levels),
            label=rows[LABEL_COLUMN].to_numpy(),
            feature_name=list(columns),
            categorical_feature=[columns.index(c) for c in CATEGORICAL_COLUMNS],
            reference=reference,
        )

    fit = dataset(split.fit)
    watched = {STOP_SET: split.stop} | ({VALID_SET: split.valid} if watch_valid else {})
    params = {**config.lgbm_params, "seed": config.seed, "deterministic": True}
    stopping = lgb.early_stopping(config.early_stopping_rounds, verbose=False)
    return lgb.train(
        params,
        fit,
        num_boost_round=config.num_boost_round,
        valid_sets=[dataset(rows, reference=fit) for rows in watched.values()],
        valid_names=list(watched),
        callbacks=[only_on(STOP_SET, stopping), *callbacks],
    )


def only_on(name: str, callback: Any) -> Callable[..., None]:
    """A LightGBM callback that sees only the evaluation results of the set `name`."""

    def call(env: Any) -> None:
        results = [r for r in env.evaluation_result_list or [] if r[0] == name]
        callback(replace(env, evaluation_result_list=results))

    call.order = callback.order  # LightGBM runs callbacks sorted by `order`
    return call


def fit_model(
    split: TimeSplit,
    levels: dict[str, list[str]],
    config: TrainConfig,
    callbacks: Sequence[Callable[..., None]] = (),
    watch_valid: bool = False,
) -> tuple[lightgbm.Booster, dict[str, Any]]:
    """The booster (fit rows, stopped on stop rows) and its calibration (stop rows).

    Every model of a run is made this way: an untuned run's, each tuning trial's and the refit
    with the best trial's settings. `callbacks` and `watch_valid` as in `fit_booster`.
    """
    booster = fit_booster(split, levels, config, callbacks, watch_valid)
    columns = feature_columns(config.features)
    return booster, fit_calibration(booster, split.stop, columns, levels, config.seed)


def trial_scorer(
    split: TimeSplit, levels: dict[str, list[str]], config: TrainConfig
) -> FitAndScore:
    """What each tuning trial runs (see training.tune): a model made exactly as the final one
    (fit rows, early stopping and calibration on stop rows), judged calibrated on the
    validation rows: the product returns calibrated probabilities, so those are what the
    settings should be chosen for."""
    columns = feature_columns(config.features)

    def fit_and_score(
        params: dict[str, Any], callbacks: Sequence[Callable[..., None]]
    ) -> dict[str, float]:
        trial = replace(config, lgbm_params=params)
        booster, calibration = fit_model(split, levels, trial, callbacks, watch_valid=True)
        metrics = score_rows(booster, calibration, split.valid, columns, levels).metrics
        return metrics | {"best_iteration": float(booster.best_iteration)}

    return fit_and_score


def score_rows(
    booster: lightgbm.Booster,
    calibration: dict[str, Any],
    rows: pd.DataFrame,
    columns: Sequence[str],
    levels: dict[str, list[str]],
) -> ScoredRows:
    """Calibrated probabilities and metrics of `rows` (plus the raw booster's log loss)."""
    matrix = to_model_input(rows, columns, levels)
    raw = booster.predict(matrix)
    probabilities = apply_calibration(calibration, raw)
    labels = rows[LABEL_COLUMN].to_numpy()
    metrics = evaluate_scores(labels, probabilities)
    metrics["uncalibrated_log_loss"] = evaluate_scores(labels, raw)["log_loss"]
    return ScoredRows(matrix, probabilities, metrics)


def oracle_auc(rows: pd.DataFrame, data_dir: Path, horizon_days: int) -> float | None:
    """ROC AUC of the simulator's true probabilities on `rows`, if the data folder has them."""
    from sklearn.metrics import roc_auc_score

    path = data_dir / "oracle.parquet"
    if not path.exists():
        return None
    oracle = read_table(path).assign(as_of=lambda f: pd.to_datetime(f["as_of"], utc=True))
    oracle = oracle.loc[
        oracle["horizon_days"] == horizon_days, [ENTITY_KEY, AS_OF_COLUMN, "p_convert"]
    ]
    joined = rows[[ENTITY_KEY, AS_OF_COLUMN, LABEL_COLUMN]].merge(
        oracle, on=[ENTITY_KEY, AS_OF_COLUMN], how="left"
    )
    # The oracle leaves out followers who churned: their true probability is zero. A missing
    # row that converted would mean the oracle does not cover this data at all.
    missing = joined["p_convert"].isna()
    if missing.all() or joined.loc[missing, LABEL_COLUMN].any():
        logger.warning("the oracle does not cover these snapshots; no oracle AUC")
        return None
    joined["p_convert"] = joined["p_convert"].fillna(0.0)
    return float(roc_auc_score(joined[LABEL_COLUMN], joined["p_convert"]))


def _champion_metrics(config: TrainConfig, test: pd.DataFrame) -> dict[str, float] | None:
    """The current champion's metrics on this run's test rows (None if no champion)."""
    from features.bundle import download_bundle

    version = registry.champion_version(config.model_name)
    if version is None:
        return None
    champion = download_bundle(f"models:/{config.model_name}@{registry.CHAMPION}")
    same_spec = champion.spec.feature_columns == list(feature_columns(config.features))
    if champion.spec.feature_version != FEATURE_VERSION or not same_spec:
        raise ValueError(
            f"champion v{version} uses another feature spec "
            f"({champion.spec.feature_version}, {len(champion.spec.feature_columns)} columns): "
            "promote by hand with `leadscore promote` if intended"
        )
    return evaluate_scores(test[LABEL_COLUMN].to_numpy(), champion.predict_proba(test))


def _log_model(bundle: ScoringBundle, example: pd.DataFrame, features: FeatureConfig) -> Any:
    import mlflow
    from mlflow.models import infer_signature

    from features.bundle import save_bundle
    from features.pyfunc import LeadScorerModel

    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = save_bundle(bundle.booster, bundle.spec, Path(tmp) / "bundle")
        # Counts as doubles and text as objects: what the signature should accept.
        example = example.astype({c: "float64" for c in feature_groups(features)["count"]})
        example = example.astype({c: "object" for c in CATEGORICAL_COLUMNS})
        prediction = pd.DataFrame({"probability": bundle.predict_proba(example)})
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=LeadScorerModel(),
            artifacts={"bundle": str(bundle_dir)},
            signature=infer_signature(example, prediction),
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
        )


def _make_spec(
    config: TrainConfig,
    levels: dict,
    held_out: np.ndarray,
    metrics: dict,
    calibration: dict[str, Any],
) -> ModelSpec:
    return ModelSpec(
        feature_version=FEATURE_VERSION,
        feature_columns=list(feature_columns(config.features)),
        feature_config=config.features.to_dict(),
        calibration=calibration,
        categorical_levels=levels,
        score_cutoffs=make_score_cutoffs(held_out),
        horizon_days=config.horizon_days,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics=metrics,
    )


def prepare_split(config: TrainConfig, tables: Tables) -> TimeSplit:
    """Build the snapshots of a data folder and split them by time."""
    dates = make_snapshot_dates(
        tables,
        config.horizon_days,
        config.snapshot_every_days,
        config.min_history_days or config.features.long_days,
    )
    frame = build_training_frame(tables, dates, config.horizon_days, config.features)
    return split_by_time(
        frame, config.n_valid_snapshots, config.horizon_days, config.n_test_snapshots
    )


def train(config: TrainConfig) -> TrainResult:
    """One full training run: data, (tuning,) model, MLflow run, registry version, promotion.

    With `config.trials` > 0, an Optuna study (training.tune) chooses the LightGBM settings on
    the validation rows, and the model is refit with the best ones exactly like an untuned run.
    The test rows are only scored, after every choice is made.
    """
    import mlflow

    tables = load_tables(config.data_dir, config.mapping)
    split = prepare_split(config, tables)
    levels = CategoryLevels().fit(split.fit).levels_
    ensure_experiment(config.experiment)
    mlflow.set_experiment(config.experiment)
    with mlflow.start_run(run_name=f"{config.model_name}-events") as run:
        mlflow.log_params(_flat_params(config) | describe_split(split))
        mlflow.set_tags({"feature_version": FEATURE_VERSION, "mode": "events"})
        tuning = None
        if config.trials:
            from training.tune import log_tuning, tune

            tuning = tune(
                trial_scorer(split, levels, config),
                config.lgbm_params,
                model_name=config.model_name,
                run_id=run.info.run_id,
                trials=config.trials,
                metric=config.tune_metric,
                seed=config.seed,
            )
            log_tuning(tuning)
            config = replace(config, lgbm_params=tuning.lgbm_params)
        # The settings the final model is trained with (after tuning: the best trial's).
        mlflow.log_params(_flat_lgbm(config))
        booster, calibration = fit_model(split, levels, config)
        logger.info("%d trees, calibration: %s", booster.best_iteration, calibration["method"])
        columns = feature_columns(config.features)
        valid = score_rows(booster, calibration, split.valid, columns, levels)
        test = score_rows(booster, calibration, split.test, columns, levels)
        metrics = dict(test.metrics)
        oracle = oracle_auc(split.test, Path(config.data_dir), config.horizon_days)
        if oracle is not None:
            metrics["oracle_roc_auc"] = oracle
        mlflow.log_metrics(
            {f"valid_{name}": value for name, value in valid.metrics.items()}
            | {f"test_{name}": value for name, value in metrics.items()}
            | {"best_iteration": float(booster.best_iteration)}
        )
        metrics["best_iteration"] = float(booster.best_iteration)
        baselines = _compare(config, split, booster, test, oracle)
        # Score cut-offs come from the validation scores: held out from training like the test
        # rows, but the test rows stay untouched by every choice, so their metrics stay honest.
        spec = _make_spec(config, levels, valid.probabilities, metrics, calibration)
        bundle = ScoringBundle(booster, spec)
        info = _log_model(bundle, split.valid[list(columns)].head(5), config.features)
        tags = version_tags(config, metrics, describe_split(split))
        version = _register(config, info.model_uri, tags)
        promoted, reason = _maybe_promote(config, version, metrics, split.test)
        mlflow.set_tags({"registered_version": version, "promotion": reason})
    return TrainResult(
        run.info.run_id, version, metrics, promoted, reason, baselines, valid.metrics, tuning
    )


def fit_calibration(
    booster: lightgbm.Booster,
    rows: pd.DataFrame,
    columns: Sequence[str],
    levels: dict[str, list[str]],
    seed: int,
) -> dict[str, Any]:
    """Isotonic or Platt (chosen by cross-validated log loss) on rows the trees never saw.

    The early-stopping rows serve: they only chose the number of trees, and they come after
    the fit rows, as serving comes after training.
    """
    from training.calibrate import ProbabilityCalibrator

    raw = booster.predict(to_model_input(rows, columns, levels))
    calibrator = ProbabilityCalibrator("auto", seed=seed).fit(raw, rows[LABEL_COLUMN].to_numpy())
    # Debug: every tuning trial calibrates too; the run logs the final model's method.
    logger.debug("calibration: %s", calibrator.method_)
    return calibrator.to_dict()


def _compare(
    config: TrainConfig,
    split: TimeSplit,
    booster: lightgbm.Booster,
    test: ScoredRows,
    oracle: float | None,
) -> dict[str, dict[str, float]]:
    if not config.baselines:
        return {}
    columns = feature_columns(config.features)
    scored = {MODEL_NAME: test.probabilities}
    scored |= score_baselines(split, columns, config.features, config.seed)
    from training.report import shap_importance

    importance = shap_importance(booster, test.matrix, list(columns), seed=config.seed)
    notes = {
        "Test period": _period(split.test),
        "Validation period (tuning, score cut-offs)": _period(split.valid),
        "Training": f"{len(split.fit) + len(split.stop):,} rows up to "
        f"{split.stop[AS_OF_COLUMN].max().date()}",
    }
    if oracle is not None:
        notes["Oracle ROC AUC (true probabilities)"] = f"{oracle:.3f}"
    labels = split.test[LABEL_COLUMN].to_numpy()
    title = "Lead scoring: the model against baselines (out-of-time test period)"
    metrics = compare_and_report(labels, scored, importance, notes, title)
    return {name: values for name, values in metrics.items() if name != MODEL_NAME}


def _period(rows: pd.DataFrame) -> str:
    dates = rows[AS_OF_COLUMN]
    span = f"{dates.min().date()}..{dates.max().date()}"
    return f"{len(rows):,} rows, {dates.nunique()} snapshots {span}"


def _register(config: TrainConfig, model_uri: str, tags: dict[str, str]) -> str:
    import mlflow

    version = mlflow.register_model(model_uri, config.model_name, tags=tags).version
    registry.set_challenger(config.model_name, version)
    return str(version)


def version_tags(
    config: TrainConfig, metrics: dict[str, float], split: dict[str, str | int]
) -> dict[str, str]:
    """What a registered version carries: features, data fingerprint, windows, test metrics."""
    shown = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "base_rate", "oracle_roc_auc")
    return {
        "feature_version": FEATURE_VERSION,
        "data_fingerprint": data_fingerprint(Path(config.data_dir)),
        "training_window": f"{split['fit_from']}..{split['stop_to']}",
        "validation_window": f"{split['valid_from']}..{split['valid_to']}",
        "test_window": f"{split['test_from']}..{split['test_to']}",
        **{f"test_{key}": f"{metrics[key]:.4f}" for key in shown if key in metrics},
    }


def data_fingerprint(data: Path) -> str:
    """SHA-256 (first 16 hex digits) over the names and bytes of the input files."""
    import hashlib

    digest = hashlib.sha256()
    files = [data] if data.is_file() else sorted(p for p in data.iterdir() if p.is_file())
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _maybe_promote(
    config: TrainConfig, version: str, metrics: dict[str, float], test: pd.DataFrame
) -> tuple[bool, str]:
    try:
        champion = _champion_metrics(config, test)
    except ValueError as error:
        return False, f"not promoted: {error}"
    promoted, reason = registry.decide_promotion(metrics, champion)
    if promoted:
        registry.promote(config.model_name, version)
    return promoted, reason


def _flat_params(config: TrainConfig) -> dict[str, Any]:
    # Everything but the LightGBM settings, which are logged once they are final.
    skip = ("lgbm_params", "mapping", "features")
    params = {k: v for k, v in asdict(config).items() if k not in skip}
    mapping = config.mapping.to_params() if config.mapping else {}
    features = {f"features_{k}": v for k, v in config.features.to_dict().items()}
    return params | mapping | features


def _flat_lgbm(config: TrainConfig) -> dict[str, Any]:
    return {f"lgbm_{k}": v for k, v in config.lgbm_params.items()}
