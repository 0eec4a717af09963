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
