"""Hyperparameter search: an Optuna study over LightGBM settings, judged on held-out rows."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from training.boost import VALID_SET
from training.config import TUNE_METRICS

if TYPE_CHECKING:
    import lightgbm
    import optuna

logger = logging.getLogger(__name__)

STUDY_FILE = "optuna.db"
# Trials are compared at equal shrinkage (learning rate x trees), in steps of this much: at the
# default learning rate of 0.05 one step is 10 trees. Each report is a write to the study's
# SQLite file, and the loss moves little from one tree to the next.
SHRINKAGE_STEP = 0.5
# Trials that always run to the end before the pruner compares against them.
PRUNER_STARTUP_TRIALS = 5
# Steps a trial always runs before it may be pruned (a shrinkage of 2: 40 trees at 0.05).
PRUNER_WARMUP_STEPS = 4
# What a trial's `fit_and_score` returns besides the judged rows' metrics: logged as is.
UNPREFIXED = ("best_iteration",)

# Trains one model with the given complete LightGBM settings, passing the callbacks (pruning)
# to LightGBM, which must evaluate the judged rows as VALID_SET; returns the judged rows'
# metrics (calibrated, keyed as in training.evaluate) and "best_iteration".
FitAndScore = Callable[[dict[str, Any], Sequence[Callable[..., None]]], dict[str, float]]


@dataclass(frozen=True)
class TuneResult:
    """The outcome of a study.

    best_params are the searched settings of the best trial; lgbm_params are the complete
    LightGBM settings it trained with, which the final model is refit with.
    """

    study_name: str
    storage: str
    metric: str
    best_value: float
    best_trial: int
    best_params: dict[str, Any]
    lgbm_params: dict[str, Any]
    n_trials: int
    n_pruned: int


def suggest_params(trial: optuna.Trial) -> dict[str, Any]:
    """The settings one trial tries: learning rate, tree size, sampling, regularisation.

    Scales that span orders of magnitude are searched on a log scale. min_gain_to_split is left
    out: min_data_in_leaf and the L1/L2 penalties already keep trees from splitting on noise,
    and every extra dimension costs trials.
    """
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 20, 1000, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
        "lambda_l1": trial.suggest_float("lambda_l1", 1e-3, 10.0, log=True),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 100.0, log=True),
    }


def trial_params(base: Mapping[str, Any], suggested: Mapping[str, Any]) -> dict[str, Any]:
    """The complete LightGBM settings of a trial: the run's settings with the suggested ones."""
    # bagging_fraction only acts when bagging is on.
    return {**base, "bagging_freq": base.get("bagging_freq") or 1, **suggested}


def study_storage(tracking_uri: str) -> str:
    """SQLite URL of the studies: optuna.db beside a local MLflow store, else in ./mlruns/."""
    if tracking_uri.startswith("sqlite:///"):
        folder = Path(tracking_uri.removeprefix("sqlite:///")).parent
    elif urlparse(tracking_uri).scheme in ("", "file"):
        folder = Path(urlparse(tracking_uri).path)
    else:
        # A tracking server keeps its store elsewhere; the study stays on this machine.
        folder = Path("mlruns")
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / STUDY_FILE).resolve()}"


def make_pruner() -> optuna.pruners.BasePruner:
    """Median pruning: stop a trial whose best validation log loss so far is worse than the
    median of the finished trials' at the same shrinkage (see `PruneOnValidLoss`)."""
    import optuna

    return optuna.pruners.MedianPruner(
        n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_STEPS
    )


class PruneOnValidLoss:
    """LightGBM callback: report the validation rows' log loss, stop when the pruner says so.

    The loss is the raw booster's binary_logloss on the rows the trial is judged on (VALID_SET:
    the validation period, or a table run's trial-valid rows), which LightGBM updates tree by
    tree (also when tuning PR AUC: it is the smoother signal). The early-stopping rows would be
    the obvious signal but mislead: in events mode they share followers and label windows with
    the fit rows, and on the default audience the trials with big, fast-learning trees had the
    lowest stop loss and the worst validation loss.

    The step is the shrinkage so far (learning rate x trees) in units of SHRINKAGE_STEP, so
    trials are compared at equal progress. Compared at equal numbers of trees, a small learning
    rate always looks behind: on the default audience every such trial was pruned, although
    the best finished trials had small learning rates.
    Raises `optuna.TrialPruned` out of training.
    """

    def __init__(self, trial: optuna.Trial, learning_rate: float) -> None:
        self.trial = trial
        self.learning_rate = learning_rate
        self.step = 0
        # (trees, step, loss) of the last report.
        self.last: tuple[int, int, float] | None = None
        # Before early stopping (order 30): a pruned trial stops with its last report recorded.
        self.order = 20

    def __call__(self, env: lightgbm.callback.CallbackEnv) -> None:
        trees = env.iteration + 1
        step = int(trees * self.learning_rate / SHRINKAGE_STEP + 1e-9)
        if step <= self.step:
            return
        self.step = step
        losses = [
            value
            for data, metric, value, *_ in env.evaluation_result_list or []
            if data == VALID_SET and metric == "binary_logloss"
        ]
        if not losses:
            raise ValueError(
                "pruning reads the validation rows' binary_logloss: train with watch_valid and "
                "keep LightGBM's metric at binary_logloss (the binary objective's default)"
            )
        self.last = (trees, step, float(losses[0]))
        self.trial.report(losses[0], step)
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"valid log loss {losses[0]:.5f} after {trees} trees")


def objective(
    fit_and_score: FitAndScore, base: Mapping[str, Any], metric: str
) -> Callable[[optuna.Trial], float]:
    """Train and judge one trial's model through `fit_and_score`; one nested MLflow run each.

    The trial's settings are `base` with the suggested ones (`trial_params`); its run logs them
    as `lgbm_*`, the judged rows' metrics as `valid_*` (besides `best_iteration`) and its state.
    """

    def run_trial(trial: optuna.Trial) -> float:
        import mlflow
        import optuna

        suggested = suggest_params(trial)
        params = trial_params(base, suggested)
        pruning = PruneOnValidLoss(trial, params["learning_rate"])
        pruned: optuna.TrialPruned | None = None
        with mlflow.start_run(run_name=f"trial-{trial.number}", nested=True) as child:
            trial.set_user_attr("mlflow_run_id", child.info.run_id)
            mlflow.set_tags({"optuna_study": trial.study.study_name, "optuna_trial": trial.number})
            mlflow.log_params({f"lgbm_{k}": v for k, v in params.items()})
            try:
                metrics = fit_and_score(params, [pruning])
            except optuna.TrialPruned as stop:
                # Stopped by design, not a failure: the run finishes, tagged as pruned.
                pruned = stop
                mlflow.set_tag("optuna_state", "PRUNED")
                if pruning.last is not None:
                    trees, _, loss = pruning.last
                    trial.set_user_attr("pruned_at_trees", trees)
                    mlflow.log_metrics({"pruned_at_trees": trees, "raw_valid_log_loss": loss})
            else:
                mlflow.log_metrics(
                    {k if k in UNPREFIXED else f"valid_{k}": v for k, v in metrics.items()}
                )
                mlflow.set_tag("optuna_state", "COMPLETE")
        if pruned is not None:
            raise pruned
        return metrics[metric]

    return run_trial


def _progress(total: int, metric: str) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    def log(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        import optuna

        # Trials are numbered from 0, as in Optuna and the nested runs' names.
        done = f"[{trial.number + 1}/{total}] trial {trial.number}"
        if trial.state == optuna.trial.TrialState.PRUNED:
            trees = trial.user_attrs.get("pruned_at_trees")
            logger.info("%s: pruned after %s trees", done, trees)
        else:
            best = study.best_trial
            logger.info(
                "%s: valid %s %.5f (best %.5f in trial %d)",
                done,
                metric,
                trial.value,
                best.value,
                best.number,
            )
        logger.debug("%s params: %s", done, trial.params)

    return log


def tune(
    fit_and_score: FitAndScore,
    base: Mapping[str, Any],
    *,
    model_name: str,
    run_id: str,
    trials: int,
    metric: str,
    seed: int,
    pruner: optuna.pruners.BasePruner | None = None,
) -> TuneResult:
    """Run `trials` trials over the settings `base` (TPE seeded with `seed`) and summarise.

    Both modes tune through here; each passes its own `fit_and_score`. `metric` (a key of
    TUNE_METRICS) is read from what it returns. Called inside the run `run_id` (each trial is a
    nested run under it). The study is stored beside the MLflow store (`study_storage`) as
    "<model name>-<run id>". Trials run one after another, so a seed gives the same trials, the
    same best settings and the same model.
    """
    import mlflow
    import optuna

    storage = study_storage(mlflow.get_tracking_uri())
    name = f"{model_name}-{run_id}"
    verbosity = optuna.logging.get_verbosity()
    # Our progress lines replace Optuna's own (one per trial, with every parameter).
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction=TUNE_METRICS[metric],
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=pruner or make_pruner(),
        )
        logger.info("tuning: %d trials on valid %s, study %s in %s", trials, metric, name, storage)
        study.optimize(
            objective(fit_and_score, base, metric),
            n_trials=trials,
            n_jobs=1,
            callbacks=[_progress(trials, metric)],
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    return summarize(study, base, metric, storage)


def summarize(
    study: optuna.Study, base: Mapping[str, Any], metric: str, storage: str
) -> TuneResult:
    """The best trial's settings and value, and how many trials ran and were pruned."""
    import optuna

    states = [trial.state for trial in study.trials]
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    if optuna.trial.TrialState.COMPLETE not in states:
        raise ValueError(f"tuning: none of {len(states)} trials completed ({pruned} pruned)")
    best = study.best_trial
    return TuneResult(
        study_name=study.study_name,
        storage=storage,
        metric=metric,
        best_value=float(best.value),
        best_trial=best.number,
        best_params=dict(best.params),
        lgbm_params=trial_params(base, best.params),
        n_trials=len(states),
        n_pruned=pruned,
    )


def log_tuning(result: TuneResult) -> None:
    """Record a study's outcome on the active (parent) MLflow run."""
    import mlflow

    mlflow.log_params({f"best_{k}": v for k, v in result.best_params.items()})
    mlflow.log_metrics(
        {
            f"tune_best_valid_{result.metric}": result.best_value,
            "tune_trials": result.n_trials,
            "tune_pruned": result.n_pruned,
        }
    )
    mlflow.set_tags(
        {
            "optuna_study": result.study_name,
            "optuna_storage": result.storage,
            "optuna_best_trial": result.best_trial,
        }
    )
