"""Recommenders (domain dataset groups) through stock boto3 clients: every ECOMMERCE and VIDEO_ON_DEMAND use case on
synthetic data with a known structure, the lifecycle (create, stop, start, update, delete), listing, the refusals and
a CREATE FAILED a person can act on, and the shipped airline sample in an ECOMMERCE group."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.contract.conftest import import_and_wait
from tests.samples import INTERACTIONS_SCHEMA

RECIPE = "arn:aws:personalize:::recipe/"
T0 = 1_700_000_000
DAY = 86_400
N_SHOPPERS = 120

VOD_ITEMS_SCHEMA = json.dumps({
    "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRES", "type": "string", "categorical": True},
        {"name": "CREATION_TIMESTAMP", "type": "long"},
    ],
    "version": "1.0",
})


# ---- synthetic data --------------------------------------------------------------------------------------------------

# ECOMMERCE: two taste clusters (c* and d* items). Everyone views V a lot and buys it rarely; most people buy the
# best seller S. Shoppers 0-29 buy A and B in one basket and D on another day; B is also bought alone by others.
# Shoppers 30-69 view the camera and then the lens. Shopper s0 bought the lens; s1 never did.
CLUSTERS = ([f"c{i}" for i in range(15)], [f"d{i}" for i in range(15)])


def ecommerce_csv(seed: int = 3) -> str:
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, int, str]] = []
    for u in range(N_SHOPPERS):
        user, cluster = f"s{u}", CLUSTERS[u % 2]
        t = T0 + u * 60
        views = [str(i) for i in rng.choice(cluster, size=8, replace=False)] + ["V", "V", "V"]
        if 30 <= u < 70:
            views += ["camera", "lens"]
        for k, item in enumerate(views):
            rows.append((user, item, t + k * 30, "View"))
        baskets: list[list[str]] = [[str(i) for i in rng.choice(cluster, size=2, replace=False)] for _ in range(4)]
        if u < 30:
            baskets[0] = ["A", "B", baskets[0][0]]
            baskets[2] = ["D", baskets[2][0]]
        elif u < 60:
            baskets[1].append("B")
        if u % 6 != 5:
            baskets[3].append("S")
        if u % 15 == 0:
            baskets[3].append("V")
        if u == 0:
            baskets[1].append("lens")
        for b, basket in enumerate(baskets):
            start = t + (b + 1) * 3 * DAY  # baskets days apart; a basket's items seconds apart
            rows.extend((user, item, start + k * 5, "Purchase") for k, item in enumerate(basket))
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    lines += [f"{u},{i},{ts},{e}," for u, i, ts, e in rows]
    return "\n".join(lines) + "\n"


def views_only_csv() -> str:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    lines += [f"v{u},i{(u + k) % 40},{T0 + u * 100 + k},view," for u in range(60) for k in range(20)]
    return "\n".join(lines) + "\n"


# VIDEO_ON_DEMAND: viewers keep to one genre. Whoever watches the pilot watches the sequel next. The binge video is
# played over and over by five viewers, the hit once by 60. The rising video is watched only in the last hour.
GENRES = ("Comedy", "Drama", "Action", "Horror")
VIDEOS = {genre: [f"{genre.lower()}{i}" for i in range(10)] for genre in GENRES}
N_VIEWERS = 100


def vod_csv(seed: int = 5) -> str:
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str, int, str]] = []
    newest = T0 + 30 * DAY
    for u in range(N_VIEWERS):
        user, genre = f"w{u}", GENRES[u % 4]
        t = T0 + u * 3600
        watched = [str(i) for i in rng.choice(VIDEOS[genre], size=8, replace=False)]
        if u < 40:
            watched += ["pilot", "sequel"]
        if u < 60:
            watched.append("hit")
        if u >= 95:
            watched += ["binge"] * 40
        for k, item in enumerate(watched):
            rows.append((user, item, t + k * 600, "Watch"))
        rows.extend((user, str(item), t + k * 700 + 1, "click") for k, item in
                    enumerate(rng.choice(VIDEOS[genre], size=4)))
        if u < 30:  # the rising video: watched in the newest two hours only
            rows.append((user, "rising", newest - u * 60, "Watch"))
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    lines += [f"{u},{i},{ts},{e}," for u, i, ts, e in rows]
    return "\n".join(lines) + "\n"


def vod_items_csv() -> str:
    lines = ["ITEM_ID,GENRES,CREATION_TIMESTAMP"]
    for genre, videos in VIDEOS.items():
        lines += [f"{video},{genre},{T0 - DAY}" for video in videos]
    lines += [f"{v},Drama,{T0 - DAY}" for v in ("pilot", "sequel", "hit", "binge", "rising")]
    return "\n".join(lines) + "\n"


# ---- helpers ---------------------------------------------------------------------------------------------------------


def domain_group(personalize: Any, tailor: Any, s3: Any, name: str, domain: str | None,
                 interactions: str, items: str | None = None) -> str:
    """An ACTIVE dataset group with its interactions (and items) imported."""
    kwargs = {"domain": domain} if domain else {}
    group = str(personalize.create_dataset_group(name=name, **kwargs)["datasetGroupArn"])
    tailor.wait()
    datasets = [("INTERACTIONS", INTERACTIONS_SCHEMA, interactions)]
    if items is not None:
        datasets.append(("ITEMS", VOD_ITEMS_SCHEMA, items))
    for dataset_type, schema, body in datasets:
        schema_arn = personalize.create_schema(name=f"{name}-{dataset_type.lower()}", schema=schema,
                                               **kwargs)["schemaArn"]
        dataset = personalize.create_dataset(name=f"{name}-{dataset_type.lower()}", schemaArn=schema_arn,
                                             datasetGroupArn=group, datasetType=dataset_type)["datasetArn"]
        tailor.wait()
        key = f"{name}/{dataset_type.lower()}.csv"
        s3.put_object(Bucket="user-data", Key=key, Body=body.encode())
        job = import_and_wait(personalize, tailor, dataset, f"s3://user-data/{key}", f"{name}-{dataset_type.lower()}")
        assert job["status"] == "ACTIVE", job.get("failureReason")
    return group


def create(personalize: Any, tailor: Any, group: str, name: str, use_case: str, **config: Any) -> dict[str, Any]:
    kwargs = {"recommenderConfig": config} if config else {}
    arn = personalize.create_recommender(name=name, datasetGroupArn=group, recipeArn=RECIPE + use_case,
                                         **kwargs)["recommenderArn"]
    tailor.wait()
    recommender: dict[str, Any] = personalize.describe_recommender(recommenderArn=arn)["recommender"]
    return recommender


def active(personalize: Any, tailor: Any, group: str, name: str, use_case: str, **config: Any) -> str:
    recommender = create(personalize, tailor, group, name, use_case, **config)
    assert recommender["status"] == "ACTIVE", recommender.get("failureReason")
    return str(recommender["recommenderArn"])


def items_of(runtime: Any, arn: str, **kwargs: Any) -> list[str]:
    return [i["itemId"] for i in runtime.get_recommendations(recommenderArn=arn, **kwargs)["itemList"]]


def error_of(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def shop(personalize: Any, tailor: Any, s3: Any) -> str:
    return domain_group(personalize, tailor, s3, "shop", "ECOMMERCE", ecommerce_csv())


@pytest.fixture
def vod(personalize: Any, tailor: Any, s3: Any) -> str:
    return domain_group(personalize, tailor, s3, "vod", "VIDEO_ON_DEMAND", vod_csv(), vod_items_csv())


# ---- ECOMMERCE -------------------------------------------------------------------------------------------------------


def test_popular_items_by_purchases_and_by_views_count_their_own_events(personalize, tailor, shop):
    runtime = tailor.client("personalize-runtime")
    best_sellers = active(personalize, tailor, shop, "best-sellers", "aws-ecomm-popular-items-by-purchases")
    most_viewed = active(personalize, tailor, shop, "most-viewed", "aws-ecomm-popular-items-by-views")
    by_purchases = items_of(runtime, best_sellers, userId="s1", numResults=5)
    by_views = items_of(runtime, most_viewed, userId="s1", numResults=5)
    assert by_purchases[:2] == ["S", "B"]  # S: 100 buyers; B: 60; V, viewed by all, is bought by 8
    assert by_views[0] == "V" and "S" not in by_views
    assert by_purchases != by_views
    described = personalize.describe_recommender(recommenderArn=best_sellers)["recommender"]
    assert {"coverage", "precision_at_10", "normalized_discounted_cumulative_gain_at_10"} <= set(
        described["modelMetrics"])
    assert described["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 1
    # Personalize documents userId as required for both popular-items use cases.
    code, message, status = error_of(lambda: runtime.get_recommendations(recommenderArn=best_sellers))
    assert (code, status) == ("InvalidInputException", 400) and "userId" in message


def test_frequently_bought_together_counts_baskets_not_whole_histories(personalize, tailor, shop):
    runtime = tailor.client("personalize-runtime")
    together = active(personalize, tailor, shop, "fbt", "aws-ecomm-frequently-bought-together")
    recommended = runtime.get_recommendations(recommenderArn=together, itemId="A", numResults=5)["itemList"]
    # B is in every basket with A. D was bought by exactly A's buyers, but always on another day: whole-history
    # co-occurrence (aws-sims) would put D first.
    assert recommended[0]["itemId"] == "B"
    assert "D" not in [i["itemId"] for i in recommended[:2]]
    assert all("score" not in i for i in recommended)  # related items carry no score, as in Personalize
    code, _, _ = error_of(lambda: runtime.get_recommendations(recommenderArn=together, userId="s1"))
    assert code == "InvalidInputException"  # itemId is required

    solution = personalize.create_solution(name="whole-history", datasetGroupArn=shop, recipeArn=RECIPE + "aws-sims",
                                           eventType="Purchase")["solutionArn"]
    tailor.wait()
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    tailor.wait()
    campaign = personalize.create_campaign(name="whole-history", solutionVersionArn=version)["campaignArn"]
    tailor.wait()
    whole_history = runtime.get_recommendations(campaignArn=campaign, itemId="A", numResults=1)["itemList"]
    assert [i["itemId"] for i in whole_history] == ["D"]


def test_customers_who_viewed_x_use_views_and_leave_out_what_the_user_bought(personalize, tailor, shop):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    also_viewed = active(personalize, tailor, shop, "also-viewed", "aws-ecomm-customers-who-viewed-x-also-viewed")
    assert items_of(runtime, also_viewed, itemId="camera", userId="s1", numResults=3)[0] == "lens"
    assert "lens" not in items_of(runtime, also_viewed, itemId="camera", userId="s0", numResults=10)  # s0 bought it
    # A purchase put a moment ago counts too (event types match in any case).
    tracker = personalize.create_event_tracker(name="shop-events", datasetGroupArn=shop)
    tailor.wait()
    events.put_events(trackingId=tracker["trackingId"], userId="s1", sessionId="s1-session",
                      eventList=[{"sentAt": int(time.time()), "eventType": "purchase", "itemId": "lens"}])
    assert "lens" not in items_of(runtime, also_viewed, itemId="camera", userId="s1", numResults=10)


def test_recommended_for_you_follows_the_users_taste_without_what_they_bought(personalize, tailor, shop):
    runtime = tailor.client("personalize-runtime")
    for_you = active(personalize, tailor, shop, "for-you", "aws-ecomm-recommended-for-you")
    for user, cluster in (("s2", CLUSTERS[0]), ("s3", CLUSTERS[1])):
        response = runtime.get_recommendations(recommenderArn=for_you, userId=user, numResults=8)["itemList"]
        recommended = [i["itemId"] for i in response]
        assert sum(item in cluster for item in recommended) >= 5, recommended
        assert all(0 < i["score"] <= 1 for i in response)
        bought = {line.split(",")[1] for line in ecommerce_csv().splitlines()
                  if line.startswith(f"{user},") and line.endswith(",Purchase,")}
        assert bought and not bought & set(recommended)


def test_domain_refusals(personalize, tailor, s3, shop):
    code, message, _ = error_of(lambda: personalize.create_recommender(
        name="wrong-domain", datasetGroupArn=shop, recipeArn=RECIPE + "aws-vod-top-picks"))
    assert code == "InvalidInputException" and "VIDEO_ON_DEMAND" in message
    assert "aws-ecomm-recommended-for-you" in message  # the use cases the group's domain has
    code, message, _ = error_of(lambda: personalize.create_recommender(
        name="custom-recipe", datasetGroupArn=shop, recipeArn=RECIPE + "aws-user-personalization"))
    assert code == "InvalidInputException" and "CreateSolution" in message
    custom = str(personalize.create_dataset_group(name="custom")["datasetGroupArn"])
    tailor.wait()
    code, message, _ = error_of(lambda: personalize.create_recommender(
        name="in-custom", datasetGroupArn=custom, recipeArn=RECIPE + "aws-ecomm-recommended-for-you"))
    assert code == "InvalidInputException" and "custom dataset group" in message
    code, _, _ = error_of(lambda: personalize.create_recommender(
        name="bad-exploration", datasetGroupArn=shop, recipeArn=RECIPE + "aws-ecomm-recommended-for-you",
        recommenderConfig={"itemExplorationConfig": {"explorationWeight": "2"}}))
    assert code == "InvalidInputException"
    missing = "arn:aws:personalize:us-east-1:123456789012:dataset-group/nope"
    code, _, _ = error_of(lambda: personalize.create_recommender(
        name="nowhere", datasetGroupArn=missing, recipeArn=RECIPE + "aws-ecomm-recommended-for-you"))
    assert code == "ResourceNotFoundException"
    active(personalize, tailor, shop, "taken", "aws-ecomm-popular-items-by-views")
    code, _, _ = error_of(lambda: personalize.create_recommender(
        name="taken", datasetGroupArn=shop, recipeArn=RECIPE + "aws-ecomm-popular-items-by-views"))
    assert code == "ResourceAlreadyExistsException"
    code, _, _ = error_of(lambda: personalize.delete_dataset_group(datasetGroupArn=shop))
    assert code == "ResourceInUseException"  # its recommenders go first


def test_missing_event_type_fails_with_a_reason(personalize, tailor, s3):
    group = domain_group(personalize, tailor, s3, "browsing", "ECOMMERCE", views_only_csv())
    failed = create(personalize, tailor, group, "best-sellers", "aws-ecomm-popular-items-by-purchases")
    assert failed["status"] == "CREATE FAILED"
    assert "Purchase" in failed["failureReason"] and "has 0" in failed["failureReason"]
    assert "'view' (1,200)" in failed["failureReason"]
    assert "modelMetrics" not in failed
    # The same data in any case is enough for the views use case.
    assert create(personalize, tailor, group, "most-viewed", "aws-ecomm-popular-items-by-views")["status"] == "ACTIVE"
    runtime = tailor.client("personalize-runtime")
    code, message, status = error_of(lambda: runtime.get_recommendations(recommenderArn=failed["recommenderArn"],
                                                                          userId="v1"))
    assert (code, status) == ("InvalidInputException", 400) and "CREATE FAILED" in message
    personalize.delete_recommender(recommenderArn=failed["recommenderArn"])  # a failed one can be deleted
    tailor.wait()
    assert len(personalize.list_recommenders(datasetGroupArn=group)["recommenders"]) == 1


# ---- VIDEO_ON_DEMAND -------------------------------------------------------------------------------------------------


def test_because_you_watched_and_more_like_x_leave_out_watched_videos(personalize, tailor, vod):
    runtime = tailor.client("personalize-runtime")
    because = active(personalize, tailor, vod, "because", "aws-vod-because-you-watched-x")
    more_like = active(personalize, tailor, vod, "more-like", "aws-vod-more-like-x")
    assert items_of(runtime, because, itemId="pilot", userId="w99", numResults=3)[0] == "sequel"
    assert "sequel" not in items_of(runtime, because, itemId="pilot", userId="w0", numResults=10)  # w0 watched it
    # w1 watches dramas (8 of the 10): more like drama0 leaves those out, so the genre has little left for w1.
    watched_by_w1 = {line.split(",")[1] for line in vod_csv().splitlines() if line.startswith("w1,")
                     and ",Watch," in line}
    assert not watched_by_w1 & set(items_of(runtime, more_like, itemId="drama0", userId="w1", numResults=10))
    similar = items_of(runtime, more_like, itemId="drama0", userId="w2", numResults=6)  # w2 watches action
    assert sum(item in VIDEOS["Drama"] for item in similar) >= 5, similar
    # A request the use case cannot answer is refused naming the recommender (not a campaign)
    code, message, _ = error_of(lambda: runtime.get_recommendations(recommenderArn=because, userId="w1"))
    assert code == "InvalidInputException"
    assert message == f"itemId is required: recommender {because} serves a RELATED_ITEMS recipe"


def test_most_popular_counts_viewers_and_trending_now_finds_the_rising_video(personalize, tailor, vod):
    runtime = tailor.client("personalize-runtime")
    most_popular = active(personalize, tailor, vod, "most-popular", "aws-vod-most-popular")
    trending = active(personalize, tailor, vod, "trending", "aws-vod-trending-now")
    popular = items_of(runtime, most_popular, userId="w3", numResults=10)
    assert popular[0] == "hit"  # 60 viewers; binge has 200 plays by 5 viewers
    assert "binge" not in popular[:3]
    assert items_of(runtime, trending, numResults=1) == ["rising"]  # no userId needed


def test_top_picks_with_exploration_and_metadata(personalize, tailor, vod):
    runtime = tailor.client("personalize-runtime")
    picks = active(personalize, tailor, vod, "picks", "aws-vod-top-picks",
                   itemExplorationConfig={"explorationWeight": "0", "explorationItemAgeCutOff": "30"})
    response = runtime.get_recommendations(recommenderArn=picks, userId="w2", numResults=5)["itemList"]
    watched = {line.split(",")[1] for line in vod_csv().splitlines() if line.startswith("w2,") and ",Watch," in line}
    assert sum(i["itemId"] in VIDEOS["Action"] for i in response) >= 2, response
    assert not watched & {i["itemId"] for i in response}
    code, message, _ = error_of(lambda: runtime.get_recommendations(
        recommenderArn=picks, userId="w2", metadataColumns={"ITEMS": ["GENRES"]}))
    assert code == "InvalidInputException" and "enableMetadataWithRecommendations" in message

    personalize.update_recommender(recommenderArn=picks, recommenderConfig={"enableMetadataWithRecommendations": True})
    tailor.wait()
    described = personalize.describe_recommender(recommenderArn=picks)["recommender"]
    assert described["status"] == "ACTIVE"
    assert described["latestRecommenderUpdate"]["status"] == "ACTIVE"
    assert described["recommenderConfig"]["enableMetadataWithRecommendations"] is True
    with_metadata = runtime.get_recommendations(recommenderArn=picks, userId="w2", numResults=3,
                                                metadataColumns={"ITEMS": ["GENRES"]})["itemList"]
    assert all(i["metadata"]["GENRES"] in GENRES for i in with_metadata)


# ---- lifecycle -------------------------------------------------------------------------------------------------------


def test_lifecycle_create_stop_start_update_delete(personalize, tailor, vod):
    runtime = tailor.client("personalize-runtime")
    arn = personalize.create_recommender(name="lifecycle", datasetGroupArn=vod,
                                         recipeArn=RECIPE + "aws-vod-more-like-x")["recommenderArn"]
    first = personalize.describe_recommender(recommenderArn=arn)["recommender"]
    assert first["status"] in ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    tailor.wait()
    described = personalize.describe_recommender(recommenderArn=arn)["recommender"]
    assert described["status"] == "ACTIVE" and described["modelMetrics"]
    assert described["recipeArn"] == RECIPE + "aws-vod-more-like-x" and described["datasetGroupArn"] == vod
    before = items_of(runtime, arn, itemId="comedy1", userId="w0", numResults=5)

    # Stop: INACTIVE, and GetRecommendations is refused with the modelled error naming the status.
    assert personalize.stop_recommender(recommenderArn=arn)["recommenderArn"] == arn
    assert personalize.describe_recommender(recommenderArn=arn)["recommender"]["status"] in (
        "STOP PENDING", "STOP IN_PROGRESS", "INACTIVE")
    tailor.wait()
    assert personalize.describe_recommender(recommenderArn=arn)["recommender"]["status"] == "INACTIVE"
    code, message, status = error_of(lambda: runtime.get_recommendations(recommenderArn=arn, itemId="comedy1"))
    assert (code, status) == ("InvalidInputException", 400) and "INACTIVE" in message
    code, _, _ = error_of(lambda: personalize.stop_recommender(recommenderArn=arn))
    assert code == "ResourceInUseException"
    code, _, _ = error_of(lambda: personalize.update_recommender(recommenderArn=arn, recommenderConfig={}))
    assert code == "ResourceInUseException"

    # Start: ACTIVE again with the same model.
    personalize.start_recommender(recommenderArn=arn)
    tailor.wait()
    assert personalize.describe_recommender(recommenderArn=arn)["recommender"]["status"] == "ACTIVE"
    assert items_of(runtime, arn, itemId="comedy1", userId="w0", numResults=5) == before
    code, _, _ = error_of(lambda: personalize.start_recommender(recommenderArn=arn))
    assert code == "ResourceInUseException"

    # Update the training columns: the model is retrained; a column the data lacks fails the update only.
    personalize.update_recommender(recommenderArn=arn, recommenderConfig={
        "minRecommendationRequestsPerSecond": 3,
        "trainingDataConfig": {"excludedDatasetColumns": {"ITEMS": ["GENRES"]}}})
    tailor.wait()
    updated = personalize.describe_recommender(recommenderArn=arn)["recommender"]
    assert updated["latestRecommenderUpdate"]["status"] == "ACTIVE"
    assert updated["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 3
    assert updated["recommenderConfig"]["trainingDataConfig"] == {"excludedDatasetColumns": {"ITEMS": ["GENRES"]}}
    personalize.update_recommender(recommenderArn=arn, recommenderConfig={
        "trainingDataConfig": {"excludedDatasetColumns": {"ITEMS": ["RATING"]}}})
    tailor.wait()
    failed_update = personalize.describe_recommender(recommenderArn=arn)["recommender"]
    assert failed_update["status"] == "ACTIVE"
    assert failed_update["latestRecommenderUpdate"]["status"] == "CREATE FAILED"
    assert "RATING" in failed_update["latestRecommenderUpdate"]["failureReason"]
    assert failed_update["recommenderConfig"]["minRecommendationRequestsPerSecond"] == 3  # the previous one stays
    assert items_of(runtime, arn, itemId="comedy1", userId="w0", numResults=5)
    code, _, _ = error_of(lambda: personalize.update_recommender(recommenderArn=arn, recommenderConfig={
        "trainingDataConfig": {"excludedDatasetColumns": {"ITEMS": ["ITEM_ID"]}}}))
    assert code == "InvalidInputException"

    # Delete: DELETE PENDING, then gone with its models (and not found at the runtime: 404).
    s3 = tailor.client("s3")

    def models() -> list[str]:
        return [o["Key"] for b in s3.list_buckets()["Buckets"]
                for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])
                if "recommenders/lifecycle/" in o["Key"] and o["Key"].endswith("model.npz")]

    assert len(models()) == 2  # the model serving and the one it replaced at the update
    personalize.delete_recommender(recommenderArn=arn)
    assert personalize.describe_recommender(recommenderArn=arn)["recommender"]["status"] in (
        "DELETE PENDING", "DELETE IN_PROGRESS")
    tailor.wait()
    code, _, _ = error_of(lambda: personalize.describe_recommender(recommenderArn=arn))
    assert code == "ResourceNotFoundException"
    code, _, status = error_of(lambda: runtime.get_recommendations(recommenderArn=arn, itemId="comedy1"))
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert models() == []


def test_list_recommenders_pages_and_filters_by_dataset_group(personalize, tailor, s3, vod):
    other = domain_group(personalize, tailor, s3, "other", "VIDEO_ON_DEMAND", vod_csv(seed=6))
    for name in ("r1", "r2", "r3"):
        personalize.create_recommender(name=name, datasetGroupArn=vod, recipeArn=RECIPE + "aws-vod-most-popular")
    personalize.create_recommender(name="elsewhere", datasetGroupArn=other, recipeArn=RECIPE + "aws-vod-trending-now",
                                   tags=[{"tagKey": "team", "tagValue": "video"}])
    tailor.wait()
    pages = personalize.get_paginator("list_recommenders").paginate(datasetGroupArn=vod,
                                                                    PaginationConfig={"PageSize": 2})
    listed = [page["recommenders"] for page in pages]
    assert [len(p) for p in listed] == [2, 1]
    summaries = [s for page in listed for s in page]
    assert {s["name"] for s in summaries} == {"r1", "r2", "r3"}
    assert all(s["status"] == "ACTIVE" and s["datasetGroupArn"] == vod and "recommenderConfig" in s
               for s in summaries)
    everything = personalize.list_recommenders()["recommenders"]
    assert {s["name"] for s in everything} == {"r1", "r2", "r3", "elsewhere"}
    elsewhere = next(s["recommenderArn"] for s in everything if s["name"] == "elsewhere")
    tags = personalize.list_tags_for_resource(resourceArn=elsewhere)["tags"]
    assert tags == [{"tagKey": "team", "tagValue": "video"}]
    code, _, _ = error_of(lambda: personalize.list_recommenders(
        datasetGroupArn="arn:aws:personalize:us-east-1:123456789012:dataset-group/nope"))
    assert code == "ResourceNotFoundException"


def test_data_a_use_case_needs(personalize, tailor, s3):
    group = domain_group(personalize, tailor, s3, "no-items", "VIDEO_ON_DEMAND", vod_csv())
    failed = create(personalize, tailor, group, "more-like", "aws-vod-more-like-x")
    assert failed["status"] == "CREATE FAILED" and "Items dataset" in failed["failureReason"]
    few = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n" + "".join(
        f"u{k % 10},i{k % 7},{T0 + k},Watch,\n" for k in range(300))
    small = domain_group(personalize, tailor, s3, "small", "VIDEO_ON_DEMAND", few)
    failed = create(personalize, tailor, small, "trending", "aws-vod-trending-now")
    assert failed["status"] == "CREATE FAILED"
    assert "at least 1000 interactions" in failed["failureReason"] and "has 300" in failed["failureReason"]


# ---- the shipped airline sample --------------------------------------------------------------------------------------


def test_airline_sample_in_an_ecommerce_group(personalize, tailor, s3):
    """The demo's sample has one event type (RATING): Recommended for you (events of any type) trains on it, Best
    sellers says which event type it lacks."""
    from importlib import resources

    folder = resources.files("tailor.local").joinpath("sample/airline")
    spec = json.loads(folder.joinpath("schemas.json").read_text())["INTERACTIONS"]
    group = str(personalize.create_dataset_group(name="airline", domain="ECOMMERCE")["datasetGroupArn"])
    tailor.wait()
    schema = personalize.create_schema(name="airline-interactions", schema=json.dumps(spec["schema"]),
                                       domain="ECOMMERCE")["schemaArn"]
    dataset = personalize.create_dataset(name="airline-interactions", schemaArn=schema, datasetGroupArn=group,
                                         datasetType="INTERACTIONS")["datasetArn"]
    tailor.wait()
    s3.put_object(Bucket="user-data", Key="airline.csv", Body=folder.joinpath(spec["file"]).read_bytes())
    assert import_and_wait(personalize, tailor, dataset, "s3://user-data/airline.csv", "airline")["status"] == "ACTIVE"
    for_you = active(personalize, tailor, group, "airline-for-you", "aws-ecomm-recommended-for-you")
    traveller = "8120125224640029423"
    recommended = tailor.client("personalize-runtime").get_recommendations(
        recommenderArn=for_you, userId=traveller, numResults=5)["itemList"]
    assert len(recommended) == 5 and all(0 < i["score"] < 1 for i in recommended)
    failed = create(personalize, tailor, group, "airline-best-sellers", "aws-ecomm-popular-items-by-purchases")
    assert failed["status"] == "CREATE FAILED" and "'RATING' (34,853)" in failed["failureReason"]
