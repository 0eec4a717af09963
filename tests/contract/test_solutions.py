"""Solutions and solution versions through a stock boto3 client: real training, metrics, failures."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.contract.conftest import POPULARITY, USER_PERSONALIZATION, import_and_wait, make_solution, train
from tests.samples import INTERACTIONS_SCHEMA, interactions_csv

METRIC_KEYS = {"coverage", "mean_reciprocal_rank_at_25", "normalized_discounted_cumulative_gain_at_5",
               "normalized_discounted_cumulative_gain_at_10", "normalized_discounted_cumulative_gain_at_25",
               "precision_at_5", "precision_at_10", "precision_at_25"}


def test_solution_lifecycle_and_shape(personalize, tailor, trained_group):
    arn = make_solution(personalize, tailor, trained_group, eventType="click",
                        solutionConfig={"algorithmHyperParameters": {"event_weights": "purchase:5,click:1"}})
    assert arn == "arn:aws:personalize:us-east-1:123456789012:solution/sol"
    solution = personalize.describe_solution(solutionArn=arn)["solution"]
    assert solution["status"] == "ACTIVE" and solution["recipeArn"] == USER_PERSONALIZATION
    assert solution["eventType"] == "click"
    assert solution["solutionConfig"]["algorithmHyperParameters"] == {"event_weights": "purchase:5,click:1"}
    assert [s["solutionArn"] for s in personalize.list_solutions(datasetGroupArn=trained_group)["solutions"]] == [arn]
    with pytest.raises(personalize.exceptions.ResourceInUseException):
        personalize.delete_dataset_group(datasetGroupArn=trained_group)


def test_version_trains_to_active_with_personalize_metrics(personalize, tailor, trained_group, s3):
    solution = make_solution(personalize, tailor, trained_group)
    version = train(personalize, tailor, solution, name="first")
    assert version["status"] == "ACTIVE", version.get("failureReason")
    assert version["solutionVersionArn"].startswith(f"{solution}/") and len(version["solutionVersionArn"]) == len(
        solution) + 9
    assert version["trainingMode"] == "FULL" and version["trainingType"] == "MANUAL"
    assert version["trainingHours"] > 0
    metrics = personalize.get_solution_metrics(solutionVersionArn=version["solutionVersionArn"])["metrics"]
    assert set(metrics) == METRIC_KEYS
    assert all(0.0 <= v <= 1.0 for v in metrics.values())
    assert metrics["precision_at_10"] > 0  # the synthetic users repeat a pattern a model can learn
    latest = personalize.describe_solution(solutionArn=solution)["solution"]["latestSolutionVersion"]
    assert latest["solutionVersionArn"] == version["solutionVersionArn"] and latest["status"] == "ACTIVE"
    listed = personalize.list_solution_versions(solutionArn=solution)["solutionVersions"]
    assert [v["solutionVersionArn"] for v in listed] == [version["solutionVersionArn"]]


def test_the_model_is_an_open_npz_in_the_artifacts_bucket(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, recipe=POPULARITY)
    version = train(personalize, tailor, solution)
    s3 = tailor.client("s3")
    key = f"models/sol/{version['solutionVersionArn'].rsplit('/', 1)[1]}/model.npz"
    body = s3.get_object(Bucket="tailor-artifacts", Key=key)["Body"].read()
    with np.load(io.BytesIO(body), allow_pickle=False) as npz:
        meta = json.loads(str(npz["__meta__"]))
        assert meta["recipe"] == "aws-popularity-count"
        assert len(npz["item_ids"]) == 40
        # Each user's recent events travel with the model (serving folds them in and filters read them)
        indptr = npz["history.indptr"]
        assert len(indptr) == len(npz["user_ids"]) + 1 and indptr[-1] == len(npz["history.items"]) == 1200
        assert meta["history_per_event_type"] == 100


def test_too_little_data_fails_with_the_shortfall(personalize, tailor, s3, group, make_dataset):
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="small.csv", Body=interactions_csv(n_users=10, per_user=3).encode())
    import_and_wait(personalize, tailor, dataset, "s3://user-data/small.csv", "small")
    solution = make_solution(personalize, tailor, group)
    version = train(personalize, tailor, solution)
    assert version["status"] == "CREATE FAILED"
    assert "1000" in version["failureReason"].replace(",", "") and "30" in version["failureReason"]
    assert personalize.describe_solution(solutionArn=solution)["solution"]["latestSolutionVersion"][
        "status"] == "CREATE FAILED"
    with pytest.raises(personalize.exceptions.ResourceInUseException):
        personalize.get_solution_metrics(solutionVersionArn=version["solutionVersionArn"])


def test_small_data_fallback_when_opted_in(personalize, tailor, s3, group, make_dataset):
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="small.csv", Body=interactions_csv(n_users=10, per_user=3).encode())
    import_and_wait(personalize, tailor, dataset, "s3://user-data/small.csv", "small")
    solution = make_solution(personalize, tailor, group,
                             solutionConfig={"algorithmHyperParameters": {"allow_small_data": "true"}})
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    assert version["tunedHPOParams"]["algorithmHyperParameters"] == {"tailor_fallback_recipe": "aws-popularity-count"}


def test_a_crash_fails_the_new_version_and_leaves_the_active_one(personalize, tailor, trained_group, monkeypatch):
    solution = make_solution(personalize, tailor, trained_group)
    good = train(personalize, tailor, solution)
    assert good["status"] == "ACTIVE"
    from tailor.training import recipes

    def explode(self, data, params):
        raise MemoryError("out of memory in fit")

    monkeypatch.setattr(type(recipes.get_recipe("aws-user-personalization")), "fit", explode)
    bad = train(personalize, tailor, solution)
    assert bad["status"] == "CREATE FAILED" and "out of memory" in bad["failureReason"]
    still = personalize.describe_solution_version(solutionVersionArn=good["solutionVersionArn"])["solutionVersion"]
    assert still["status"] == "ACTIVE"
    assert personalize.get_solution_metrics(solutionVersionArn=good["solutionVersionArn"])["metrics"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"recipeArn": "arn:aws:personalize:::recipe/aws-nope"}, "Unknown recipe"),
        ({"recipeArn": "arn:aws:personalize:::recipe/aws-vod-top-picks"}, "CreateRecommender"),
        ({"recipeArn": USER_PERSONALIZATION, "solutionConfig": {"algorithmHyperParameters": {"depth": "3"}}},
         "depth"),
        ({"recipeArn": USER_PERSONALIZATION, "solutionConfig": {"eventValueThreshold": "high"}}, "number"),
        ({}, "recipeArn"),
    ],
)
def test_create_solution_refuses_bad_input(personalize, group, kwargs, fragment):
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_solution(name="s", datasetGroupArn=group, **kwargs)
    assert fragment in str(err.value)


def test_update_training_mode_rules(personalize, tailor, trained_group):
    popularity = make_solution(personalize, tailor, trained_group, name="pop", recipe=POPULARITY)
    with pytest.raises(personalize.exceptions.InvalidInputException):
        personalize.create_solution_version(solutionArn=popularity, trainingMode="UPDATE")
    user = make_solution(personalize, tailor, trained_group, name="user")
    with pytest.raises(personalize.exceptions.InvalidInputException):
        personalize.create_solution_version(solutionArn=user, trainingMode="UPDATE")
    train(personalize, tailor, user)
    assert train(personalize, tailor, user, trainingMode="UPDATE")["trainingMode"] == "UPDATE"


def test_update_solution_records_the_update(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group)
    personalize.update_solution(solutionArn=solution, performAutoTraining=True,
                                solutionUpdateConfig={"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}})
    described = personalize.describe_solution(solutionArn=solution)["solution"]
    assert described["performAutoTraining"] is True
    assert described["latestSolutionUpdate"]["solutionUpdateConfig"]["autoTrainingConfig"] == {
        "schedulingExpression": "rate(3 days)"}


def test_delete_solution_removes_its_versions(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, recipe=POPULARITY)
    version = train(personalize, tailor, solution)
    personalize.delete_solution(solutionArn=solution)
    tailor.wait()
    for call, arg in ((personalize.describe_solution, {"solutionArn": solution}),
                      (personalize.describe_solution_version,
                       {"solutionVersionArn": version["solutionVersionArn"]})):
        with pytest.raises(personalize.exceptions.ResourceNotFoundException):
            call(**arg)
    assert not tailor.client("s3").list_objects_v2(Bucket="tailor-artifacts", Prefix="models/sol/").get("Contents")


def test_stopping_a_finished_version_is_in_use(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, recipe=POPULARITY)
    version = train(personalize, tailor, solution)
    with pytest.raises(personalize.exceptions.ResourceInUseException):
        personalize.stop_solution_version_creation(solutionVersionArn=version["solutionVersionArn"])


def test_hpo_tries_configurations_and_reports_the_tuned_ones(personalize, tailor, trained_group):
    hpo = {
        "hpoObjective": {"type": "Maximize", "metricName": "precision_at_10"},
        "hpoResourceConfig": {"maxNumberOfTrainingJobs": "4", "maxParallelTrainingJobs": "2"},
        "algorithmHyperParameterRanges": {
            "integerHyperParameterRanges": [{"name": "bptt", "minValue": 2, "maxValue": 22}],
            "categoricalHyperParameterRanges": [{"name": "recency_mask", "values": ["true", "false"]}],
            "continuousHyperParameterRanges": [{"name": "sequential_weight", "minValue": 0.0, "maxValue": 5.0}],
        },
    }
    solution = make_solution(personalize, tailor, trained_group, performHPO=True, solutionConfig={"hpoConfig": hpo})
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    assert version["performHPO"] is True
    tuned = version["tunedHPOParams"]["algorithmHyperParameters"]
    assert 2 <= int(tuned["bptt"]) <= 22 and tuned["recency_mask"] in ("true", "false")
    assert 0.0 <= float(tuned["sequential_weight"]) <= 5.0


def test_hpo_without_ranges_tunes_the_default_ranges(personalize, tailor, trained_group, caplog):
    """Notebooks turn performHPO on and give no ranges: Personalize then tunes the recipe's default ranges, which
    DescribeAlgorithm shows. Tailor tries configurations across those ranges; it does not train the defaults N times
    and call them tuned."""
    recipe = personalize.describe_recipe(recipeArn=USER_PERSONALIZATION)["recipe"]
    ranges = personalize.describe_algorithm(algorithmArn=recipe["algorithmArn"])["algorithm"][
        "defaultHyperParameterRanges"]["continuousHyperParameterRanges"]
    bounds = {r["name"]: (r["minValue"], r["maxValue"]) for r in ranges}
    assert {"lambda", "sequential_weight"} <= set(bounds) and all(r["isTunable"] for r in ranges)

    solution = make_solution(personalize, tailor, trained_group, performHPO=True, solutionConfig={
        "hpoConfig": {"hpoResourceConfig": {"maxNumberOfTrainingJobs": "3"}}})
    version = train(personalize, tailor, solution)

    assert version["status"] == "ACTIVE", version.get("failureReason")
    tuned = version["tunedHPOParams"]["algorithmHyperParameters"]
    trials = [r.getMessage() for r in caplog.records if ": trial " in r.getMessage()]
    assert len(trials) == 3 and len(set(t.split(" -> ")[0].split(" ", 3)[-1] for t in trials)) == 3, trials
    for name, (low, high) in bounds.items():
        assert low <= float(tuned[name]) <= high
    assert any(f"'lambda': '{tuned['lambda']}'" in t for t in trials)  # the tuned values are a tried trial's


def test_hpo_for_a_recipe_with_nothing_to_tune_is_refused(personalize, group):
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_solution(name="s", datasetGroupArn=group, recipeArn=POPULARITY, performHPO=True)
    assert "nothing to tune" in str(err.value)


@pytest.mark.parametrize(
    ("hpo", "fragment"),
    [
        ({"algorithmHyperParameterRanges": {"integerHyperParameterRanges": [{"name": "depth", "minValue": 1,
                                                                              "maxValue": 2}]}}, "depth"),
        ({"algorithmHyperParameterRanges": {"integerHyperParameterRanges": [{"name": "bptt", "minValue": 9,
                                                                              "maxValue": 2}]}}, "minValue"),
        ({"hpoResourceConfig": {"maxNumberOfTrainingJobs": "41"}}, "maxNumberOfTrainingJobs"),
        ({"hpoObjective": {"metricName": "accuracy"}}, "metricName"),
    ],
)
def test_bad_hpo_config_is_refused(personalize, group, hpo, fragment):
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_solution(name="s", datasetGroupArn=group, recipeArn=USER_PERSONALIZATION, performHPO=True,
                                    solutionConfig={"hpoConfig": hpo})
    assert fragment in str(err.value)


def test_automl_chooses_a_recipe_and_shows_the_choice(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, recipe=None, performAutoML=True, solutionConfig={
        "autoMLConfig": {"metricName": "precision_at_10", "recipeList": [USER_PERSONALIZATION, POPULARITY]}})
    described = personalize.describe_solution(solutionArn=solution)["solution"]
    assert described["performAutoML"] is True and "recipeArn" not in described
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    assert version["recipeArn"] in (USER_PERSONALIZATION, POPULARITY)
    best = personalize.describe_solution(solutionArn=solution)["solution"]["autoMLResult"]["bestRecipeArn"]
    assert best == version["recipeArn"]


def test_automl_with_a_recipe_arn_is_refused(personalize, group):
    with pytest.raises(personalize.exceptions.InvalidInputException):
        personalize.create_solution(name="s", datasetGroupArn=group, recipeArn=USER_PERSONALIZATION, performAutoML=True)


def test_feature_transformation_parameters_reach_the_recipe(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, recipe="arn:aws:personalize:::recipe/aws-trending-now",
                             solutionConfig={"featureTransformationParameters": {"trend_discovery_frequency": "1 day"}})
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    body = tailor.client("s3").get_object(
        Bucket="tailor-artifacts", Key=f"models/sol/{version['solutionVersionArn'].rsplit('/', 1)[1]}/model.npz")
    with np.load(io.BytesIO(body["Body"].read()), allow_pickle=False) as npz:
        assert json.loads(str(npz["__meta__"]))["params"]["trend_discovery_frequency"] == "1 day"
    with pytest.raises(personalize.exceptions.InvalidInputException):
        personalize.create_solution(name="bad", datasetGroupArn=trained_group, recipeArn=USER_PERSONALIZATION,
                                    solutionConfig={"featureTransformationParameters": {"nope": "1"}})


@pytest.mark.parametrize("recipe", ["aws-sims", "aws-similar-items", "aws-hrnn", "aws-hrnn-metadata",
                                    "aws-hrnn-coldstart", "aws-personalized-ranking", "aws-trending-now",
                                    "aws-item-affinity", "aws-item-attribute-affinity"])
def test_every_trainable_recipe_trains_through_the_api(personalize, tailor, trained_group, recipe):
    solution = make_solution(personalize, tailor, trained_group, recipe=f"arn:aws:personalize:::recipe/{recipe}")
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    metrics = personalize.get_solution_metrics(solutionVersionArn=version["solutionVersionArn"])["metrics"]
    assert set(metrics) == METRIC_KEYS and all(0.0 <= v <= 1.0 for v in metrics.values())


def test_what_needs_no_work_is_usable_at_once_while_trainings_run(personalize, tailor, s3, trained_group):
    """AWS's notebooks call CreateSolutionVersion right after CreateSolution and CreateDatasetImportJob right after
    CreateDataset. Neither resource has anything to build, so neither waits behind the jobs already running."""
    # Given three trainings running (and the jobs queue busy)
    busy = [make_solution(personalize, tailor, trained_group, name=f"busy{n}", recipe=USER_PERSONALIZATION)
            for n in range(3)]
    for solution in busy:
        personalize.create_solution_version(solutionArn=solution)
    s3.put_object(Bucket="user-data", Key="tiny.csv", Body=interactions_csv(n_users=2, per_user=2).encode())
    schema = personalize.create_schema(name="tiny", schema=INTERACTIONS_SCHEMA)["schemaArn"]

    # When each new resource is used the moment it is created, 50 times over
    versions, imports = [], []
    for n in range(50):
        solution = personalize.create_solution(name=f"at-once{n}", datasetGroupArn=trained_group,
                                               recipeArn=POPULARITY)["solutionArn"]
        versions.append(personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"])
        group = personalize.create_dataset_group(name=f"at-once{n}")["datasetGroupArn"]
        dataset = personalize.create_dataset(name=f"at-once{n}", schemaArn=schema, datasetGroupArn=group,
                                             datasetType="INTERACTIONS")["datasetArn"]
        imports.append(personalize.create_dataset_import_job(
            jobName=f"at-once{n}", datasetArn=dataset, dataSource={"dataLocation": "s3://user-data/tiny.csv"},
            roleArn="arn:aws:iam::123456789012:role/PersonalizeS3")["datasetImportJobArn"])

    # Then every call was accepted, and everything it started finishes
    assert len(versions) == len(imports) == 50
    tailor.wait(timeout=600)
    assert {personalize.describe_solution_version(solutionVersionArn=v)["solutionVersion"]["status"]
            for v in versions} == {"ACTIVE"}
    assert {personalize.describe_dataset_import_job(datasetImportJobArn=j)["datasetImportJob"]["status"]
            for j in imports} == {"ACTIVE"}
