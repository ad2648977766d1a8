"""The MLflow pyfunc face of a bundle, so `mlflow.pyfunc.load_model` gives probabilities."""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import pandas as pd

from serving.model.bundle import ScoringBundle, load_bundle


class LeadScorerModel(mlflow.pyfunc.PythonModel):
    """Predicts the probability of converting from the rows the model reads: feature records
    (events) or a lead table's own columns, id included (table), prepared as in training."""

    def load_context(self, context: Any) -> None:
        self.bundle: ScoringBundle = load_bundle(context.artifacts["bundle"])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        features = self.bundle.prepare(pd.DataFrame(model_input))
        return pd.DataFrame({"probability": self.bundle.predict_proba(features)})
