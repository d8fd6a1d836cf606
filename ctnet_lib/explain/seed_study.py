"""Figure 3 across training seeds. The zoo holds one run per model (seed 0); one run says little, so the
zoo's recipe is trained again with other seeds (``runs/zoo-seeds/seed<S>/<model>``, complete runs reused,
a killed run resumed) and every run's tubes are scored on the same held-out clips. A claim of the paper is
called robust here only when its verdict is the same for every seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ctnet_lib.explain.claims import paper_claim_results, uniform_ratio
from ctnet_lib.explain.clips import ClipView
from ctnet_lib.explain.study import SCORE_COLUMNS, LocalisationStudy, localisation_study
from ctnet_lib.train.experiment import TrainedModel, load_trained_model, train_models
from ctnet_lib.train.zoo import zoo_recipe

__all__ = ["SEED_RUNS", "claims_by_seed", "seed_studies", "seed_table", "train_seeds"]

SEED_RUNS = Path("runs/zoo-seeds")


def train_seeds(models: Sequence[str], seeds: Sequence[int], run_dir: str | Path = SEED_RUNS
                ) -> dict[int, dict[str, TrainedModel]]:
    """Each of ``models`` trained with the zoo's recipe and each of ``seeds`` in ``run_dir/seed<S>/``,
    loaded from its last epoch (as the zoo stores it), by seed and model."""
    trained: dict[int, dict[str, TrainedModel]] = {}
    for seed in seeds:
        results = train_models(zoo_recipe(Path(run_dir) / f"seed{seed}", seed=seed), models)
        trained[seed] = {name: load_trained_model(result.run_dir, "last") for name, result in results.items()}
    return trained


def seed_studies(trained: Mapping[int, Mapping[str, TrainedModel]], views: Sequence[ClipView],
                 class_names: Sequence[str], seed: int = 0) -> dict[int, LocalisationStudy]:
    """The localisation study (deletion/insertion curves left out) of every seed's models on ``views``."""
    return {run_seed: localisation_study({name: t.model for name, t in models.items()}, views, class_names,
                                         auc_per_class=0, seed=seed)
            for run_seed, models in trained.items()}


def seed_table(studies: Mapping[int, LocalisationStudy]) -> pd.DataFrame:
    """One row per (model, seed): held-out top-1 (%), energy on the object as a multiple of a uniform
    map's, and the mean of every measured score of ``SCORE_COLUMNS``."""
    rows = []
    for run_seed, study in studies.items():
        summary = study.summary()
        for model in study.models:
            scores = {column: summary.loc[model, (column, "mean")] for column in SCORE_COLUMNS
                      if summary[(column, "mean")].notna().any()}
            rows.append({"model": model, "seed": run_seed, "top1": summary.loc[model, ("top1", "%")],
                         "energy_x_uniform": uniform_ratio(study, model).mean, **scores})
    return pd.DataFrame(rows).set_index(["model", "seed"]).sort_index()


def claims_by_seed(studies: Mapping[int, LocalisationStudy]) -> pd.DataFrame:
    """The verdict of each of the paper's three claims (rows) for each seed (columns), and whether it is
    the same for every seed (column ``robust``)."""
    verdicts = {run_seed: {claim.title: claim.overall for claim in paper_claim_results(study)}
                for run_seed, study in studies.items()}
    table = pd.DataFrame(verdicts).rename_axis(index="claim")
    table["robust"] = table.nunique(axis=1) == 1
    return table
