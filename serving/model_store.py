"""Find the model to serve: MLflow registry look-ups and the copy into the BentoML model store."""

from __future__ import annotations

import logging
import re

from serving.model.bundle import ScoringBundle, load_bundle

logger = logging.getLogger(__name__)

_REGISTRY_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


def champion_uri(model_name: str) -> str:
    """The MLflow URI of a registered model's champion."""
    return f"models:/{model_name}@champion"


def resolve_version(model_uri: str) -> tuple[str, str]:
    """(registered name, version number) of a models:/ URI; raise for anything else."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    match = _REGISTRY_URI.match(model_uri)
    if match is None:
        raise ValueError(f"{model_uri!r}: expected models:/NAME@ALIAS or models:/NAME/VERSION")
    name, alias = match["name"], match["alias"]
    if alias is None:
        return name, match["version"]
    try:
        return name, str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException as error:
        raise ValueError(f"{model_uri}: no such model or alias (train one first)") from error


def load_registered(model_uri: str) -> tuple[ScoringBundle, str]:
    """The bundle of a registered model version and that version number."""
    name, version = resolve_version(model_uri)
    return load_bundle(f"models:/{name}/{version}"), version


def bento_tag(model_name: str, version: str) -> str:
    """The BentoML model-store tag of a registered version."""
    return f"{model_name}:v{version}"


def import_to_bentoml(model_uri: str) -> str:
    """Copy a registered version into the BentoML model store (once) and return its tag.

    The BentoML store is one per user, while registries are one per project folder: a
    `lead-scorer` version 1 of another folder (or of an mlruns folder since deleted) may sit
    under the same tag. The copy is labelled with its training run and replaced when the
    run differs, so a stale model is never served.
    """
    import bentoml
    from bentoml.exceptions import NotFound
    from mlflow import MlflowClient

    name, version = resolve_version(model_uri)
    tag = bento_tag(name, version)
    run_id = MlflowClient().get_model_version(name, version).run_id or ""
    try:
        stored = bentoml.models.get(tag)
    except NotFound:
        stored = None
    if stored is not None:
        if stored.info.labels.get("run_id") == run_id:
            return tag
        bentoml.models.delete(tag)
        logger.info("%s in the BentoML model store came from another run: replaced", tag)
    labels = {"model_name": name, "model_version": version, "run_id": run_id}
    bentoml.mlflow.import_model(tag, f"models:/{name}/{version}", labels=labels)
    logger.info("imported %s version %s into the BentoML model store as %s", name, version, tag)
    return tag
