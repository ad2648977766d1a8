"""The copy of a registered version in the BentoML model store is the one that was trained."""

from __future__ import annotations

import logging

from serving.model_store import import_to_bentoml


def test_a_copy_from_another_registry_under_the_same_tag_is_replaced(trained, caplog):
    import bentoml
    from mlflow import MlflowClient

    uri = f"models:/lead-scorer/{trained.version}"
    run_id = MlflowClient().get_model_version("lead-scorer", str(trained.version)).run_id
    tag = import_to_bentoml(uri)
    assert bentoml.models.get(tag).info.labels["run_id"] == run_id
    # The BentoML store is the user's: another folder's `lead-scorer` of the same version
    # number sits under the same tag.
    bentoml.models.delete(tag)
    labels = {"model_name": "lead-scorer", "model_version": str(trained.version)}
    bentoml.mlflow.import_model(tag, uri, labels=labels | {"run_id": "another-folder"})
    with caplog.at_level(logging.INFO, logger="serving.model_store"):
        assert import_to_bentoml(uri) == tag
    assert bentoml.models.get(tag).info.labels["run_id"] == run_id
    assert "came from another run: replaced" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="serving.model_store"):
        assert import_to_bentoml(uri) == tag  # the right copy is kept
    assert "imported" not in caplog.text
