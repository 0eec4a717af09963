"""Batch inference and batch segment jobs through stock boto3 clients: the documented JSON-lines formats per recipe type
(seeds/003, reference §4.8), error lines, filters, segments on data where the right users are known, and the
modelled errors."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from tests.contract.conftest import POPULARITY, USER_PERSONALIZATION, import_and_wait, make_solution, train
from tests.contract.test_walkthrough import active_interactions_dataset, wait_status

ROLE = "arn:aws:iam::123456789012:role/PersonalizeBatch"
RANKING = "arn:aws:personalize:::recipe/aws-personalized-ranking"
SIMS = "arn:aws:personalize:::recipe/aws-sims"
TRENDING = "arn:aws:personalize:::recipe/aws-trending-now"
ITEM_AFFINITY = "arn:aws:personalize:::recipe/aws-item-affinity"
ATTRIBUTE_AFFINITY = "arn:aws:personalize:::recipe/aws-item-attribute-affinity"

# The ids of the document's input examples (seeds/003, the Personalize DG): MovieLens ids, so the synthetic data
# below uses MovieLens-like numeric ids that include them.
DOC_USERS = ("4638", "663", "3384", "12", "105", "41", "891", "445", "71")
DOC_ITEMS = ("27", "886", "101", "527", "55", "901", "29", "351", "199", "105", "106", "441")
HORROR_FANS = tuple(str(5000 + i) for i in range(8))
GENRES = ("Comedy", "Drama", "Action", "Horror")


def ml_items() -> list[str]:
    return list(dict.fromkeys([*(str(i) for i in range(1, 81)), *DOC_ITEMS]))


HORROR = ("105", "106", "107", "108", "109", "110")  # the only horror films


def genre(item: str) -> str:
    return "Horror" if item in HORROR else GENRES[int(item) % 3]


def ml_interactions_csv(seed: int = 3) -> str:
    """80 ordinary users (the document's ids among them) who never watch horror, and 8 horror fans whose newest
    films are the horror ones. Popularity is skewed towards low ids."""
    rng = np.random.default_rng(seed)
    items = [i for i in ml_items() if genre(i) != "Horror"]
    weights = 1.0 / (np.arange(len(items)) + 1.0) ** 0.8
    weights /= weights.sum()
    users = [*DOC_USERS, *(str(1000 + u) for u in range(80 - len(DOC_USERS)))]
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    for u, user in enumerate([*users, *HORROR_FANS]):
        chosen = list(rng.choice(items, size=14, replace=False, p=weights))
        if user in HORROR_FANS:
            horror = list(rng.permutation(HORROR))
            chosen = chosen[:8] + horror  # their taste now: horror
        for k, item in enumerate(chosen):
            lines.append(f"{user},{item},{1_700_000_000 + u * 1000 + k * 10},watch,{k % 5 + 1}.0")
    return "\n".join(lines) + "\n"


def ml_items_csv() -> str:
    return "ITEM_ID,GENRE,PRICE\n" + "".join(f"{i},{genre(i)},{int(i) % 20}\n" for i in ml_items())


def ml_users_csv() -> str:
    return "USER_ID,MEMBERSHIP\n" + "".join(
        f"{u},{'gold' if u in HORROR_FANS[:3] else 'basic'}\n"
        for u in [*DOC_USERS, *(str(1000 + u) for u in range(80 - len(DOC_USERS))), *HORROR_FANS]
    )


@pytest.fixture
def ml(personalize: Any, tailor: Any, s3: Any, group: str, make_dataset: Any) -> dict[str, str]:
    datasets = {kind: make_dataset(kind) for kind in ("INTERACTIONS", "ITEMS", "USERS")}
    for kind, body in (("INTERACTIONS", ml_interactions_csv()), ("ITEMS", ml_items_csv()), ("USERS", ml_users_csv())):
        s3.put_object(Bucket="user-data", Key=f"{kind.lower()}.csv", Body=body.encode())
        job = import_and_wait(personalize, tailor, datasets[kind], f"s3://user-data/{kind.lower()}.csv", kind.lower())
        assert job["status"] == "ACTIVE", job.get("failureReason")
    return {"group": group, **datasets}


def version_of(personalize: Any, tailor: Any, group: str, recipe: str, name: str) -> str:
    version = train(personalize, tailor, make_solution(personalize, tailor, group, name=name, recipe=recipe))
    assert version["status"] == "ACTIVE", version.get("failureReason")
    return str(version["solutionVersionArn"])


def run_job(personalize: Any, tailor: Any, s3: Any, version: str, name: str, lines: list[str],
            **kwargs: Any) -> tuple[dict[str, Any], list[str]]:
    """A batch inference job over one input file; (the job as described, the output lines)."""
    s3.put_object(Bucket="user-data", Key=f"batch/{name}/in.json", Body=("\n".join(lines) + "\n").encode())
    arn = personalize.create_batch_inference_job(
        jobName=name, solutionVersionArn=version, roleArn=ROLE,
        jobInput={"s3DataSource": {"path": f"s3://user-data/batch/{name}/in.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://user-data/out/{name}/"}}, **kwargs,
    )["batchInferenceJobArn"]
    tailor.wait()
    job = personalize.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
    if job["status"] != "ACTIVE":
        return job, []
    body = s3.get_object(Bucket="user-data", Key=f"out/{name}/in.json.out")["Body"].read().decode()
    assert body.endswith("\n")
    return job, body.splitlines()


ID_LIST = r'\[("\d+"(,"\d+")*)?\]'
SCORE_LIST = r"\[(\d\.\d{1,7}(,\d\.\d{1,7})*)?\]"


def test_each_recipe_type_writes_the_documented_line_shapes(personalize, tailor, s3, ml):
    """The document's own input lines, per recipe type; each output line has exactly the documented bytes around
    the ids and scores: compact JSON, input echoed, recommendedItems, scores only where the recipe scores,
    "error":null."""
    cases = {
        "up": (USER_PERSONALIZATION, ['{"userId": "4638"}', '{"userId": "663"}', '{"userId": "3384"}'], True),
        "popular": (POPULARITY, ['{"userId": "12"}', '{"userId": "105"}', '{"userId": "41"}'], False),
        "ranking": (RANKING, ['{"userId": "891", "itemList": ["27", "886", "101"]}',
                              '{"userId": "445", "itemList": ["527", "55", "901"]}',
                              '{"userId": "71", "itemList": ["29", "351", "199"]}'], True),
        "related": (SIMS, ['{"itemId": "105"}', '{"itemId": "106"}', '{"itemId": "441"}'], False),
    }
    for name, (recipe, lines, scored) in cases.items():
        version = version_of(personalize, tailor, ml["group"], recipe, name)
        job, out = run_job(personalize, tailor, s3, version, f"doc-{name}", lines, numResults=3)
        assert job["status"] == "ACTIVE", job.get("failureReason")
        assert len(out) == len(lines)
        for line_in, line_out in zip(lines, out, strict=True):
            echoed = json.dumps(json.loads(line_in), separators=(",", ":"))
            pattern = (re.escape(f'{{"input":{echoed},"output":{{"recommendedItems":') + ID_LIST
                       + (r',"scores":' + SCORE_LIST if scored else "") + re.escape('},"error":null}'))
            assert re.fullmatch(pattern, line_out), (name, line_out)
            output = json.loads(line_out)["output"]
            assert len(output["recommendedItems"]) == 3
            if scored:
                assert output["scores"] == sorted(output["scores"], reverse=True)
        if name == "ranking":
            for line_in, line_out in zip(lines, out, strict=True):
                assert sorted(json.loads(line_out)["output"]["recommendedItems"]) == sorted(
                    json.loads(line_in)["itemList"])
                assert sum(json.loads(line_out)["output"]["scores"]) == pytest.approx(1.0, abs=1e-5)
        if name == "related":
            assert set(json.loads(out[0])["output"]["recommendedItems"]) <= set(HORROR)  # the other horror films
        if name == "popular":
            assert len({tuple(json.loads(line)["output"]["recommendedItems"]) for line in out}) == 1


def test_batch_answers_match_get_recommendations(personalize, tailor, s3, ml):
    """A batch line is the campaign's answer to the same request (exploration off in both)."""
    version = version_of(personalize, tailor, ml["group"], USER_PERSONALIZATION, "up")
    campaign = personalize.create_campaign(name="up", solutionVersionArn=version, campaignConfig={
        "itemExplorationConfig": {"explorationWeight": "0"}})["campaignArn"]
    tailor.wait()
    users = [*DOC_USERS, *HORROR_FANS[:3], "never-seen"]
    job, out = run_job(personalize, tailor, s3, version, "same", [json.dumps({"userId": u}) for u in users],
                       numResults=10, batchInferenceJobConfig={"itemExplorationConfig": {"explorationWeight": "0"}})
    assert job["status"] == "ACTIVE", job.get("failureReason")
    runtime = tailor.client("personalize-runtime")
    for user, line in zip(users, out, strict=True):
        answer = runtime.get_recommendations(campaignArn=campaign, userId=user, numResults=10)["itemList"]
        output = json.loads(line)["output"]
        assert output["recommendedItems"] == [i["itemId"] for i in answer], user
        assert output["scores"] == pytest.approx([i["score"] for i in answer], abs=1e-7)


def test_a_malformed_line_gets_an_error_line_and_the_job_goes_on(personalize, tailor, s3, ml):
    version = version_of(personalize, tailor, ml["group"], USER_PERSONALIZATION, "up")
    lines = ['{"userId": "4638"}', '{"userId": "663"', '{"itemId": "27"}', "[1, 2]", '{"userId": 663}',
             '{"userId": "3384"}']
    job, out = run_job(personalize, tailor, s3, version, "malformed", lines, numResults=5)
    assert job["status"] == "ACTIVE"
    assert len(out) == len(lines)
    parsed = [json.loads(line) for line in out]
    good = [0, 5]
    for i, line in enumerate(parsed):
        if i in good:
            assert line["error"] is None and len(line["output"]["recommendedItems"]) == 5
        else:
            assert line["error"].startswith("User error: ") and line["output"] == {"recommendedItems": []}, line
    assert parsed[1]["input"] == '{"userId": "663"'  # not JSON: echoed as the text it was
    assert "userId" in parsed[2]["error"]
    assert parsed[0]["input"] == {"userId": "4638"} and parsed[5]["input"] == {"userId": "3384"}


def test_filters_with_values_per_line_and_a_prefix_of_files(personalize, tailor, s3, ml):
    version = version_of(personalize, tailor, ml["group"], USER_PERSONALIZATION, "up")
    flt = personalize.create_filter(name="genre", datasetGroupArn=ml["group"],
                                    filterExpression="INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)")["filterArn"]
    tailor.wait()
    s3.put_object(Bucket="user-data", Key="many/a.json", Body=b'{"userId": "4638", "filterValues": '
                  b'{"GENRE": "\\"Drama\\""}}\n{"userId": "663", "filterValues": {"GENRE": "\\"Comedy\\""}}\n')
    s3.put_object(Bucket="user-data", Key="many/b.json", Body=b'{"userId": "3384"}\n')
    arn = personalize.create_batch_inference_job(
        jobName="filtered", solutionVersionArn=version, roleArn=ROLE, filterArn=flt, numResults=4,
        jobInput={"s3DataSource": {"path": "s3://user-data/many/"}},
        jobOutput={"s3DataDestination": {"path": "s3://user-data/filtered-out"}},
    )["batchInferenceJobArn"]
    tailor.wait()
    job = personalize.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
    assert job["status"] == "ACTIVE" and job["filterArn"] == flt and job["numResults"] == 4
    a = [json.loads(x) for x in s3.get_object(Bucket="user-data", Key="filtered-out/a.json.out")["Body"].read()
         .decode().splitlines()]
    assert {genre(i) for i in a[0]["output"]["recommendedItems"]} == {"Drama"}
    assert {genre(i) for i in a[1]["output"]["recommendedItems"]} == {"Comedy"}
    b = json.loads(s3.get_object(Bucket="user-data", Key="filtered-out/b.json.out")["Body"].read())
    assert "GENRE" in b["error"] and b["output"] == {"recommendedItems": []}  # the parameter was not given

    listed = personalize.list_batch_inference_jobs(solutionVersionArn=version)["batchInferenceJobs"]
    assert [j["jobName"] for j in listed] == ["filtered"] and listed[0]["status"] == "ACTIVE"
    assert listed[0]["batchInferenceJobMode"] == "BATCH_INFERENCE"


def test_a_missing_input_fails_the_job_with_the_reason(personalize, tailor, s3, ml):
    version = version_of(personalize, tailor, ml["group"], POPULARITY, "pop")
    arn = personalize.create_batch_inference_job(
        jobName="missing", solutionVersionArn=version, roleArn=ROLE,
        jobInput={"s3DataSource": {"path": "s3://user-data/nothing-here.json"}},
        jobOutput={"s3DataDestination": {"path": "s3://user-data/out/"}},
    )["batchInferenceJobArn"]
    tailor.wait()
    job = personalize.describe_batch_inference_job(batchInferenceJobArn=arn)["batchInferenceJob"]
    assert job["status"] == "CREATE FAILED" and "nothing-here.json" in job["failureReason"]


def test_create_refuses_what_cannot_run(personalize, tailor, s3, ml):
    up = version_of(personalize, tailor, ml["group"], USER_PERSONALIZATION, "up")
    trending = version_of(personalize, tailor, ml["group"], TRENDING, "trend")
    segments = version_of(personalize, tailor, ml["group"], ITEM_AFFINITY, "affinity")
    base = {"roleArn": ROLE, "jobInput": {"s3DataSource": {"path": "s3://user-data/in.json"}},
            "jobOutput": {"s3DataDestination": {"path": "s3://user-data/out/"}}}
    errors = personalize.exceptions
    cases = [
        ({"solutionVersionArn": trending}, errors.InvalidInputException, "aws-trending-now"),
        ({"solutionVersionArn": segments}, errors.InvalidInputException, "CreateBatchSegmentJob"),
        ({"solutionVersionArn": up, "numResults": 501}, errors.InvalidInputException, "numResults"),
        ({"solutionVersionArn": up, "batchInferenceJobMode": "THEME_GENERATION"}, errors.InvalidInputException,
         "THEME_GENERATION"),
        ({"solutionVersionArn": up, "jobOutput": {"s3DataDestination": {"path": "user-data/out"}}},
         errors.InvalidInputException, "jobOutput"),
        ({"solutionVersionArn": up, "batchInferenceJobConfig": {"itemExplorationConfig": {"explorationWeight": "2"}}},
         errors.InvalidInputException, "explorationWeight"),
        ({"solutionVersionArn": up + "0"}, errors.ResourceNotFoundException, "solution version"),
        ({"solutionVersionArn": up, "filterArn": up.replace(":solution/up/", ":filter/x").rsplit("/", 1)[0]},
         errors.ResourceNotFoundException, "filter"),
    ]
    for i, (override, error, words) in enumerate(cases):
        with pytest.raises(error, match=words):
            personalize.create_batch_inference_job(jobName=f"bad{i}", **{**base, **override})
    with pytest.raises(errors.InvalidInputException, match="USER_SEGMENTATION"):
        personalize.create_batch_segment_job(jobName="seg", solutionVersionArn=up, **base)
    with pytest.raises(errors.ResourceNotFoundException):
        personalize.describe_batch_inference_job(
            batchInferenceJobArn="arn:aws:personalize:us-east-1:123456789012:batch-inference-job/none")


def run_segment_job(personalize: Any, tailor: Any, s3: Any, version: str, name: str, lines: list[str],
                    **kwargs: Any) -> list[dict[str, Any]]:
    s3.put_object(Bucket="user-data", Key=f"seg/{name}.json", Body=("\n".join(lines) + "\n").encode())
    arn = personalize.create_batch_segment_job(
        jobName=name, solutionVersionArn=version, roleArn=ROLE,
        jobInput={"s3DataSource": {"path": f"s3://user-data/seg/{name}.json"}},
        jobOutput={"s3DataDestination": {"path": f"s3://user-data/seg-out/{name}/"}}, **kwargs,
    )["batchSegmentJobArn"]
    tailor.wait()
    job = personalize.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]
    assert job["status"] == "ACTIVE", job.get("failureReason")
    body = s3.get_object(Bucket="user-data", Key=f"seg-out/{name}/{name}.json.out")["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_segments_rank_the_users_known_to_like_the_item(personalize, tailor, s3, ml):
    """Only the horror fans ever watch horror films: they are the top of both recipes' segments, and a UserID
    filter takes the gold members out."""
    n = len(HORROR_FANS)
    affinity = version_of(personalize, tailor, ml["group"], ITEM_AFFINITY, "affinity")
    lines = run_segment_job(personalize, tailor, s3, affinity, "fans", ['{"itemId": "105"}', '{"itemId": "nope"}'],
                            numResults=n)
    assert set(lines[0]["output"]["recommendedUsers"]) == set(HORROR_FANS)
    assert lines[0]["input"] == {"itemId": "105"} and lines[0]["error"] is None
    assert lines[1]["error"].startswith("User error: ") and lines[1]["output"] == {"recommendedUsers": []}

    attributes = version_of(personalize, tailor, ml["group"], ATTRIBUTE_AFFINITY, "attributes")
    query = 'ITEMS.GENRE = "Horror"'
    [line] = run_segment_job(personalize, tailor, s3, attributes, "horror", [json.dumps({"itemAttributes": query})],
                             numResults=n)
    assert set(line["output"]["recommendedUsers"]) == set(HORROR_FANS)

    no_gold = personalize.create_filter(name="no-gold", datasetGroupArn=ml["group"],
                                        filterExpression='EXCLUDE UserID WHERE Users.MEMBERSHIP IN ("gold")')
    tailor.wait()
    [line] = run_segment_job(personalize, tailor, s3, affinity, "no-gold", ['{"itemId": "105"}'], numResults=n - 3,
                             filterArn=no_gold["filterArn"])
    assert set(line["output"]["recommendedUsers"]) == set(HORROR_FANS[3:])
    listed = personalize.list_batch_segment_jobs(solutionVersionArn=affinity)["batchSegmentJobs"]
    assert {j["jobName"] for j in listed} == {"fans", "no-gold"}


def test_batch_job_through_tailor_serve(served, monkeypatch):
    """The document's USER_PERSONALIZATION input, plus one malformed line, through `tailor serve` over HTTP."""
    import boto3
    from botocore.config import Config

    monkeypatch.setenv("AWS_ENDPOINT_URL", served)
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    client = lambda name: session.client(name, config=Config(retries={"max_attempts": 1}))  # noqa: E731
    s3, personalize = client("s3"), client("personalize")

    s3.create_bucket(Bucket="batch-http")
    s3.put_object(Bucket="batch-http", Key="interactions.csv", Body=ml_interactions_csv().encode())
    group, dataset = active_interactions_dataset(personalize, "batch-http", "batch-http")
    job = personalize.create_dataset_import_job(jobName="batch-http", datasetArn=dataset, roleArn=ROLE,
                                                dataSource={"dataLocation": "s3://batch-http/interactions.csv"})
    assert wait_status(lambda: personalize.describe_dataset_import_job(
        datasetImportJobArn=job["datasetImportJobArn"])["datasetImportJob"]["status"]) == "ACTIVE"
    solution = personalize.create_solution(name="batch-http", datasetGroupArn=group, recipeArn=USER_PERSONALIZATION)
    assert wait_status(lambda: personalize.describe_solution(solutionArn=solution["solutionArn"])["solution"][
        "status"]) == "ACTIVE"
    version = personalize.create_solution_version(solutionArn=solution["solutionArn"])["solutionVersionArn"]
    assert wait_status(lambda: personalize.describe_solution_version(
        solutionVersionArn=version)["solutionVersion"]["status"]) == "ACTIVE"

    lines = ['{"userId": "4638"}', '{"userId": "663"}', "not json", '{"userId": "3384"}']
    s3.put_object(Bucket="batch-http", Key="in/users.json", Body=("\n".join(lines) + "\n").encode())
    arn = personalize.create_batch_inference_job(
        jobName="batch-http", solutionVersionArn=version, roleArn=ROLE,
        jobInput={"s3DataSource": {"path": "s3://batch-http/in/users.json"}},
        jobOutput={"s3DataDestination": {"path": "s3://batch-http/out/"}},
    )["batchInferenceJobArn"]
    assert wait_status(lambda: personalize.describe_batch_inference_job(
        batchInferenceJobArn=arn)["batchInferenceJob"]["status"]) == "ACTIVE"
    out = s3.get_object(Bucket="batch-http", Key="out/users.json.out")["Body"].read().decode().splitlines()
    assert len(out) == 4
    for line_in, line_out in zip([lines[0], lines[1], lines[3]], [out[0], out[1], out[3]], strict=True):
        echoed = json.dumps(json.loads(line_in), separators=(",", ":"))
        pattern = (re.escape(f'{{"input":{echoed},"output":{{"recommendedItems":') + ID_LIST + r',"scores":'
                   + SCORE_LIST + re.escape('},"error":null}'))
        assert re.fullmatch(pattern, line_out), line_out
        assert len(json.loads(line_out)["output"]["recommendedItems"]) == 25  # the default numResults
    bad = json.loads(out[2])
    assert bad["input"] == "not json" and bad["error"].startswith("User error: ")
    assert bad["output"] == {"recommendedItems": []}
