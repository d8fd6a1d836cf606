"""The saliency explorer, driven without a browser: controls change the state, tubes are cached."""

import pytest

from ctnet_lib.explain.clips import held_out_views, load_clip
from ctnet_lib.explain.study import SCORE_COLUMNS
from ctnet_lib.train import load_trained_model, resolve_data
from ctnet_lib.viz.widgets.saliency_explorer import SaliencyExplorer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def explorer(tiny_runs):
    config, run_dir = tiny_runs
    models = {name: load_trained_model(run_dir / name).model for name in ("tsn_small", "ctnet_small")}
    views = held_out_views(config, per_class=1)
    return SaliencyExplorer(models, views, resolve_data(config).class_names, live=False)


def test_controls_change_what_is_explained_and_scores_follow(explorer):
    first = explorer.state
    assert first.tube is not None and first.tube.target == first.view.label == 0
    curves = ("deletion_auc", "insertion_auc")  # the study's, not the explorer's: one forward per step
    expected = {label for column, (label, _) in SCORE_COLUMNS.items() if column not in curves}
    assert set(first.scores) == expected
    explorer.clip.value = 3
    assert explorer.state.view.label == 3 and explorer.state.tube.target == 3
    explorer.target.value = 5
    assert explorer.state.tube.target == 5
    explorer.model.value = "tsn_small"
    tube = explorer.state.tube
    explorer.frame.value = 0
    explorer.threshold.value = 0.8
    assert explorer.state.tube is tube and (explorer.state.frame, explorer.state.threshold) == (0, 0.8)
    explorer.method.value = "gradcam"
    assert explorer.state.tube is not tube and explorer.state.tube.method == "gradcam"
    assert "predicted" in explorer.status.value


def test_a_clip_without_a_label_reports_why_it_cannot_explain_the_true_class(tiny_runs, explorer):
    config, _ = tiny_runs
    unlabelled = load_clip(explorer.views_list[0].path, config)
    other = SaliencyExplorer(explorer.models, [unlabelled], explorer.class_names, live=False)
    assert other.state.tube is None and "needs the clip's label" in other.status.value
    other.target.value = "predicted"
    assert other.state.tube is not None and other.state.tube.target == other.state.tube.predicted
