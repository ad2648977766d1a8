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

from features.events.load import Tables, load_tables, read_table
from features.schema import (
    CATEGORICAL_COLUMNS,
    ENTITY_KEY,
    FEATURE_VERSION,
    LABEL_COLUMN,
    FeatureConfig,
    feature_columns,
    feature_groups,
)
from serving.model.bundle import ModelSpec, ScoringBundle, make_score_cutoffs
from serving.model.encode import CategoryLevels, to_model_input
from training import registry
from training.boost import (
    BoostSettings,
    Labelled,
    ScoredRows,
    fit_model,
    score_input,
)
from training.compare import MODEL_NAME, compare_and_report, score_baselines
from training.config import TrainConfig
from training.evaluate import evaluate_scores
from training.sources.snapshots import (
    AS_OF_COLUMN,
    TimeSplit,
    build_training_frame,
    describe_split,
    make_snapshot_dates,
    split_by_time,
)
from training.tracking import ensure_experiment

if TYPE_CHECKING:
    import lightgbm

    from training.tune import FitAndScore, TuneResult

logger = logging.getLogger(__name__)

PIP_REQUIREMENTS = ["lightgbm>=4.7", "pandas>=3.1", "numpy>=2.4", "mlflow>=3.17"]


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


def model_inputs(
    split: TimeSplit, levels: dict[str, list[str]], config: TrainConfig
) -> dict[str, Labelled]:
    """Each period's model input and labels, built once for every model of the run."""
    columns = feature_columns(config.features)
    periods = {"fit": split.fit, "stop": split.stop, "valid": split.valid, "test": split.test}
    return {
        name: Labelled(to_model_input(rows, columns, levels), rows[LABEL_COLUMN].to_numpy())
        for name, rows in periods.items()
    }


def boost_settings(config: TrainConfig) -> BoostSettings:
    """LightGBM settings of an events run: the feature columns, platform and country native."""
    columns = feature_columns(config.features)
    return BoostSettings(
        params=config.lgbm_params,
        seed=config.seed,
        num_boost_round=config.num_boost_round,
        early_stopping_rounds=config.early_stopping_rounds,
        feature_names=list(columns),
        categorical=[columns.index(c) for c in CATEGORICAL_COLUMNS],
    )


def trial_scorer(inputs: dict[str, Labelled], config: TrainConfig) -> FitAndScore:
    """What each tuning trial runs (see training.tune): a model made exactly as the final one
    (fit rows, early stopping and calibration on stop rows), judged calibrated on the
    validation rows: the product returns calibrated probabilities, so those are what the
    settings should be chosen for."""

    def fit_and_score(
        params: dict[str, Any], callbacks: Sequence[Callable[..., None]]
    ) -> dict[str, float]:
        settings = boost_settings(replace(config, lgbm_params=params))
        fit, stop, valid = inputs["fit"], inputs["stop"], inputs["valid"]
        booster, calibration = fit_model(settings, fit, stop, valid, callbacks)
        metrics = score_input(booster, calibration, valid).metrics
        return metrics | {"best_iteration": float(booster.best_iteration)}

    return fit_and_score


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
    from serving.model.bundle import download_bundle

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

    from serving.model.bundle import save_bundle
    from serving.model.pyfunc import LeadScorerModel

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
    inputs = model_inputs(split, levels, config)
    ensure_experiment(config.experiment)
    mlflow.set_experiment(config.experiment)
    with mlflow.start_run(run_name=f"{config.model_name}-events") as run:
        mlflow.log_params(_flat_params(config) | describe_split(split))
        mlflow.set_tags({"feature_version": FEATURE_VERSION, "mode": "events"})
        tuning = None
        if config.trials:
            from training.tune import log_tuning, tune

            tuning = tune(
                trial_scorer(inputs, config),
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
        settings = boost_settings(config)
        booster, calibration = fit_model(settings, inputs["fit"], inputs["stop"])
        logger.info("%d trees, calibration: %s", booster.best_iteration, calibration["method"])
        columns = feature_columns(config.features)
        valid = score_input(booster, calibration, inputs["valid"])
        test = score_input(booster, calibration, inputs["test"])
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
