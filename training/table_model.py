"""A table run in MLflow: inputs and audit, the pyfunc with the table's signature, promotion."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.tabular.spec import TABLE_VERSION, TabularSpec
from serving.model.bundle import ModelSpec, ScoringBundle
from training import registry
from training.evaluate import evaluate_scores
from training.sources.table import TableConfig, TableData, kept_columns, named_parts

if TYPE_CHECKING:
    from mlflow.types import Schema

logger = logging.getLogger(__name__)

# Metrics a registered table version carries as tags (from the held-out test rows).
TAGGED_METRICS: tuple[str, ...] = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "base_rate")


def table_input_schema(spec: TabularSpec, example: pd.DataFrame) -> Schema:
    """The pyfunc input: the id column, numbers as doubles and categories as text, all required.

    Missing values are allowed inside a column (NaN or None); a missing column is an error.
    """
    from mlflow.types import ColSpec, Schema

    is_integer = pd.api.types.is_integer_dtype(example[spec.id_column])
    columns = [ColSpec("long" if is_integer else "string", spec.id_column)]
    for column in spec.features:
        columns.append(ColSpec("double" if spec.kind(column) == "numeric" else "string", column))
    return Schema(columns)


def table_example(bundle: ScoringBundle, rows: pd.DataFrame) -> pd.DataFrame:
    """A few table rows as the pyfunc reads them: prepared values, text missing as None."""
    spec = bundle.tabular_spec
    example = bundle.table_features(rows).reset_index()
    text = example[list(spec.categorical)].astype("object")
    return example.assign(**text.where(text.notna(), None))


def log_table_model(bundle: ScoringBundle, rows: pd.DataFrame) -> Any:
    """Log the bundle as a pyfunc model of the active run, with `rows` of the table as example."""
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from serving.model.bundle import save_bundle
    from serving.model.pyfunc import LeadScorerModel
    from training.run import PIP_REQUIREMENTS

    example = table_example(bundle, rows)
    signature = ModelSignature(
        inputs=table_input_schema(bundle.tabular_spec, example),
        outputs=Schema([ColSpec("double", "probability")]),
    )
    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = save_bundle(bundle.booster, bundle.spec, Path(tmp) / "bundle")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=LeadScorerModel(),
            artifacts={"bundle": str(bundle_dir)},
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
        )


def table_version_tags(
    config: TableConfig, data: TableData, metrics: dict[str, float]
) -> dict[str, str]:
    """What a registered table version carries: mode, data, split, exclusions and test metrics."""
    from training.run import data_fingerprint

    audit = data.audit.loc[data.audit["action"] == "excluded", "column"].tolist()
    return {
        "mode": "table",
        "feature_version": TABLE_VERSION,
        "data_fingerprint": data_fingerprint(Path(config.table_path)),
        "table_file": Path(config.table_path).name,
        "id_column": config.id_column,
        "target": config.target,
        "split": split_label(config),
        "leakage_excluded": ", ".join(audit)[:4000] or "none",
        **{f"test_{key}": f"{metrics[key]:.4f}" for key in TAGGED_METRICS if key in metrics},
    }


def split_label(config: TableConfig) -> str:
    """How the test rows were drawn, e.g. "stratified test 0.2, valid 0.2, seed 42"."""
    return f"stratified test {config.test_share}, valid {config.valid_share}, seed {config.seed}"


def register_table_model(
    config: TableConfig, model_uri: str, data: TableData, metrics: dict[str, float]
) -> str:
    """Register the logged model under the config's name and alias it challenger."""
    import mlflow

    tags = table_version_tags(config, data, metrics)
    version = str(mlflow.register_model(model_uri, config.model_name, tags=tags).version)
    registry.set_challenger(config.model_name, version)
    return version


def spec_mismatch(champion: ModelSpec, challenger: ModelSpec) -> str | None:
    """Why two models cannot be compared on the same rows, or None when they can."""
    if champion.mode != challenger.mode:
        return f"is a {champion.mode}-mode model, this one a {challenger.mode}-mode model"
    old, new = champion.table, challenger.table
    for key, label in (("id_column", "id column"), ("target", "target")):
        if old.get(key) != new.get(key):
            return f"has another {label} ({old.get(key)!r}; this one {new.get(key)!r})"
    if [list(old.get(k, [])) for k in ("categorical", "numeric")] != [
        list(new.get(k, [])) for k in ("categorical", "numeric")
    ]:
        added = [c for c in new["features"] if c not in old.get("features", [])]
        dropped = [c for c in old.get("features", []) if c not in new["features"]]
        return f"reads other columns (this one adds {added or 'none'}, drops {dropped or 'none'})"
    return None


def promote_if_better(
    config: TableConfig,
    version: str,
    spec: ModelSpec,
    metrics: dict[str, float],
    test_rows: pd.DataFrame,
    labels: np.ndarray,
) -> tuple[bool, str]:
    """Promote `version` when `registry.decide_promotion` prefers it to the champion.

    The champion scores the same test rows (as read from the table; `labels` are their 0/1
    targets). A champion of another mode or other columns is never replaced automatically.
    """
    from serving.model.bundle import download_bundle

    name = config.model_name
    current = registry.champion_version(name)
    champion_metrics, note = None, ""
    if current is not None:
        champion = download_bundle(f"models:/{name}/{current}")
        mismatch = spec_mismatch(champion.spec, spec)
        if mismatch is not None:
            return False, (
                f"not promoted: champion v{current} {mismatch}; "
                f"promote by hand with `leadscore promote {version} --model-name {name}`"
            )
        probabilities = champion.predict_proba(champion.table_features(test_rows))
        champion_metrics = evaluate_scores(labels, probabilities)
        note = _split_note(name, current, config)
    promoted, reason = registry.decide_promotion(metrics, champion_metrics)
    if promoted:
        registry.promote(name, version)
    return promoted, reason + note


def _split_note(name: str, version: str, config: TableConfig) -> str:
    """A warning when the champion learnt from another file or split: it may know these rows."""
    from mlflow import MlflowClient

    from training.run import data_fingerprint

    tags = MlflowClient().get_model_version(name, version).tags
    same_data = tags.get("data_fingerprint") == data_fingerprint(Path(config.table_path))
    if same_data and tags.get("split") == split_label(config):
        return ""
    return " (the champion was trained on another file or split, so it may have seen test rows)"


def log_run_inputs(config: TableConfig, data: TableData) -> None:
    """Parameters, tags, the table spec and the leakage audit of the run."""
    import mlflow

    from training.run import data_fingerprint

    rows = {f"{name}_rows": len(part) for name, part in named_parts(data)}
    mlflow.log_params(table_params(config) | rows)
    mlflow.log_params({"n_features": len(data.spec.features), "id_column": config.id_column})
    excluded = data.audit.loc[data.audit["action"] == "excluded", "column"].tolist()
    mlflow.set_tags(
        {
            "mode": "table",
            "feature_version": TABLE_VERSION,
            "data_fingerprint": data_fingerprint(Path(config.table_path)),
            "table_file": Path(config.table_path).name,
            "leakage_excluded": _clip(", ".join(excluded) or "none"),
            "leakage_kept": _clip(", ".join(c for c, _ in kept_columns(data.audit)) or "none"),
        }
    )
    mlflow.log_dict(data.spec.to_dict(), "table_spec.json")
    mlflow.log_dict(audit_record(config, data), "audit/leakage_audit.json")


def audit_record(config: TableConfig, data: TableData) -> dict[str, Any]:
    """What was left out and why, for the run's audit/leakage_audit.json."""
    return {
        "thresholds": {
            "single_column_auc": config.audit_auc_threshold,
            "level_min_rows": config.audit_level_min_rows,
            "level_purity": config.audit_level_purity,
        },
        "audited_rows": int(len(data.parts[0]) + len(data.parts[1])),
        "flagged": data.audit.to_dict(orient="records"),
        "excluded": [{"column": c, "reason": r} for c, r in data.spec.excluded],
        "features": list(data.spec.features),
    }


def table_params(config: TableConfig) -> dict[str, Any]:
    """The config as flat MLflow parameters (lists joined), but for the LightGBM settings: the
    run logs those once they are final (after tuning, the best trial's)."""
    skip = ("lgbm_params", "exclude", "keep", "placeholders")
    params = {key: value for key, value in asdict(config).items() if key not in skip}
    lists = {key: _clip(",".join(getattr(config, key))) for key in skip[1:]}
    return params | lists


def _clip(text: str, limit: int = 4000) -> str:
    """MLflow caps parameter and tag values; a long column list is cut with a marker."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
