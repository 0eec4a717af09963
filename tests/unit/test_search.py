"""HPO plans and candidates: every tried configuration is inside the caller's ranges, deterministically."""

from __future__ import annotations

import pytest

from tailor.training import search

KNOWN = {"bptt": "32", "recency_mask": "true", "sequential_weight": "3", "lambda": "500"}
RANGES = {
    "integerHyperParameterRanges": [{"name": "bptt", "minValue": 2, "maxValue": 22}],
    "continuousHyperParameterRanges": [{"name": "sequential_weight", "minValue": 0.5, "maxValue": 1.5}],
    "categoricalHyperParameterRanges": [{"name": "recency_mask", "values": ["false"]}],
}


def test_candidates_stay_inside_the_ranges_and_keep_other_parameters():
    plan = search.plan_hpo({"algorithmHyperParameterRanges": RANGES,
                            "hpoResourceConfig": {"maxNumberOfTrainingJobs": "12"}}, KNOWN)
    configs = search.candidates(plan, KNOWN)
    assert len(configs) == 12
    assert configs[0] == {"bptt": "22", "recency_mask": "false", "sequential_weight": "1.5", "lambda": "500"}
    for config in configs:
        assert 2 <= int(config["bptt"]) <= 22
        assert 0.5 <= float(config["sequential_weight"]) <= 1.5
        assert config["recency_mask"] == "false" and config["lambda"] == "500"
    assert search.candidates(plan, KNOWN) == configs  # same seed, same trials


def test_plan_defaults():
    plan = search.plan_hpo(None, KNOWN)
    assert (plan.trials, plan.metric, plan.maximize) == (8, "normalized_discounted_cumulative_gain_at_10", True)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"algorithmHyperParameterRanges": {"categoricalHyperParameterRanges": [{"name": "x", "values": ["1"]}]}},
         "unknown name 'x'"),
        ({"algorithmHyperParameterRanges": {"categoricalHyperParameterRanges": [{"name": "bptt", "values": []}]}},
         "no values"),
        ({"algorithmHyperParameterRanges": {"integerHyperParameterRanges": [
            {"name": "bptt", "minValue": 1, "maxValue": 2}, {"name": "bptt", "minValue": 3, "maxValue": 4}]}},
         "more than one range"),
        ({"hpoResourceConfig": {"maxNumberOfTrainingJobs": "four"}}, "whole number"),
        ({"hpoObjective": {"type": "Sideways"}}, "Maximize or Minimize"),
    ],
)
def test_bad_plans_say_what_to_fix(config, fragment):
    with pytest.raises(search.SearchConfigError, match=fragment):
        search.plan_hpo(config, KNOWN)


def test_without_ranges_the_recipe_default_ranges_are_searched():
    plan = search.plan_hpo({"hpoResourceConfig": {"maxNumberOfTrainingJobs": "5"}}, KNOWN)
    assert [name for name, *_ in plan.continuous] == ["lambda", "sequential_weight"]
    configs = search.candidates(plan, KNOWN)
    assert {k: float(v) for k, v in configs[0].items() if k != "recency_mask"} == {
        k: float(v) for k, v in KNOWN.items() if k != "recency_mask"}  # the defaults are one trial, not all of them
    assert len({c["lambda"] for c in configs}) == 5
    assert all(50 <= float(c["lambda"]) <= 5000 and 0 <= float(c["sequential_weight"]) <= 10 for c in configs)
    assert {c["bptt"] for c in configs} == {"32"}  # not a default tunable: left as given


def test_empty_range_lists_mean_the_default_ranges_and_a_recipe_without_tunables_is_refused():
    empty = {"algorithmHyperParameterRanges": {"integerHyperParameterRanges": []}}
    assert search.plan_hpo(empty, KNOWN).continuous == search.plan_hpo(None, KNOWN).continuous
    with pytest.raises(search.SearchConfigError, match="nothing to tune"):
        search.plan_hpo(None, {"trend_smoothing": "10"})
