"""personalize-runtime through stock boto3 clients: recommendations, rankings, real-time fold-in, filters, scores,
exploration, metadata, explanations and the modelled errors."""

from __future__ import annotations

import json
import tempfile
import time
from typing import Any

import pytest
from botocore.config import Config

from tests.contract.conftest import POPULARITY, USER_PERSONALIZATION, import_and_wait, make_solution, train
from tests.samples import (
    STORY_CLICKED,
    STORY_RELATED,
    STORY_USER,
    story_interactions_csv,
    story_item_ids,
    story_items_csv,
)

RANKING = "arn:aws:personalize:::recipe/aws-personalized-ranking"
SIMS = "arn:aws:personalize:::recipe/aws-sims"
N_ITEMS = 30


@pytest.fixture
def story(personalize: Any, tailor: Any, s3: Any, group: str, make_dataset: Any) -> dict[str, str]:
    """The story's group: interactions and items imported, an ACTIVE event tracker."""
    interactions = make_dataset("INTERACTIONS")
    items = make_dataset("ITEMS")
    s3.put_object(Bucket="user-data", Key="i.csv", Body=story_interactions_csv().encode())
    s3.put_object(Bucket="user-data", Key="items.csv", Body=story_items_csv().encode())
    assert import_and_wait(personalize, tailor, interactions, "s3://user-data/i.csv", "events")["status"] == "ACTIVE"
    assert import_and_wait(personalize, tailor, items, "s3://user-data/items.csv", "items")["status"] == "ACTIVE"
    tracker = personalize.create_event_tracker(name="clicks", datasetGroupArn=group)
    tailor.wait()
    return {"group": group, "items": items, "trackingId": tracker["trackingId"]}


def deploy(personalize: Any, tailor: Any, group: str, recipe: str, name: str, **config: Any) -> str:
    solution = make_solution(personalize, tailor, group, name=name, recipe=recipe)
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    kwargs = {"campaignConfig": config} if config else {}
    arn = personalize.create_campaign(name=name, solutionVersionArn=version["solutionVersionArn"], **kwargs)
    tailor.wait()
    return str(arn["campaignArn"])


def click(events: Any, tracking_id: str, user: str, item: str, times: int = 1, event_type: str = "Click") -> None:
    """The walkthrough's own put_events shape: itemId and eventValue inside `properties`."""
    for _ in range(times):
        events.put_events(
            trackingId=tracking_id, userId=user, sessionId="session_id",
            eventList=[{"sentAt": int(time.time()), "eventType": event_type,
                        "properties": json.dumps({"itemId": item, "eventValue": float("20")})}],
        )


def make_filter(personalize: Any, tailor: Any, group: str, name: str, expression: str) -> str:
    arn = personalize.create_filter(name=name, datasetGroupArn=group, filterExpression=expression)["filterArn"]
    tailor.wait()
    return str(arn)


def test_the_walkthrough_ranking_moves_after_put_events(personalize, tailor, story):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    campaign = deploy(personalize, tailor, story["group"], RANKING, "ranking")
    candidates = [STORY_RELATED, "p0", "p1", "p2", "p5", STORY_CLICKED, "p9"]

    def ranking() -> list[dict[str, Any]]:
        response = runtime.get_personalized_ranking(campaignArn=campaign, userId=STORY_USER, inputList=candidates)
        assert response["recommendationId"].startswith("RID-") and len(response["recommendationId"]) <= 40
        return list(response["personalizedRanking"])

    before = ranking()
    assert sorted(i["itemId"] for i in before) == sorted(candidates)
    assert [i["itemId"] for i in before].index(STORY_RELATED) > 0
    click(events, story["trackingId"], STORY_USER, STORY_CLICKED, times=3)
    after = ranking()
    order = [i["itemId"] for i in after]
    # The item others take right after the clicked one moves to the top at once; the clicked item itself is not
    # blindly boosted to first place.
    assert order[0] == STORY_RELATED, order
    assert order[0] != STORY_CLICKED
    scores = [i["score"] for i in after]
    assert all(0 < s <= 1 for s in scores) and scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-6)


def test_user_personalization_scores_filters_and_cold_users(personalize, tailor, story):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    campaign = deploy(personalize, tailor, story["group"], USER_PERSONALIZATION, "up",
                      itemExplorationConfig={"explorationWeight": "0"})

    # Scores: a softmax over the catalog, descending, in (0, 1]; the whole catalog sums to 1.
    full = runtime.get_recommendations(campaignArn=campaign, userId=STORY_USER, numResults=N_ITEMS)["itemList"]
    assert sorted(i["itemId"] for i in full) == sorted(story_item_ids())
    scores = [i["score"] for i in full]
    assert all(0 < s <= 1 for s in scores) and scores == sorted(scores, reverse=True)
    assert sum(scores) == pytest.approx(1.0, abs=1e-6)
    assert len(runtime.get_recommendations(campaignArn=campaign, userId=STORY_USER)["itemList"]) == 25  # default

    # A user the model never saw gets the popular items, said so in `reason`.
    cold = runtime.get_recommendations(campaignArn=campaign, userId="never-seen", numResults=3)["itemList"]
    assert cold[0]["itemId"] == "p0" and cold[0]["reason"] == ["Popular item"]

    # EXCLUDE clicked items takes effect on the next request after PutEvents.
    exclude = make_filter(personalize, tailor, story["group"], "no-clicked",
                          'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")')
    new_user = "fresh-user"
    first = runtime.get_recommendations(campaignArn=campaign, userId=new_user, filterArn=exclude)["itemList"]
    top = first[0]["itemId"]
    click(events, story["trackingId"], new_user, top)
    second = runtime.get_recommendations(campaignArn=campaign, userId=new_user, filterArn=exclude)["itemList"]
    assert top not in [i["itemId"] for i in second]
    # ... and the user is no longer cold: their click changed what they are shown.
    assert second[0].get("reason") != ["Popular item"]

    # INCLUDE with a parameter returns only that genre (multi-valued "Action|Comedy" items count as Comedy).
    genre = make_filter(personalize, tailor, story["group"], "genre", "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)")
    comedies = runtime.get_recommendations(campaignArn=campaign, userId=STORY_USER, numResults=N_ITEMS,
                                           filterArn=genre, filterValues={"GENRE": '"Comedy"'})["itemList"]
    genres = dict(zip(story_item_ids(), [("Comedy", "Drama", "Action|Comedy", "Horror")[i % 4]
                                        for i in range(N_ITEMS)], strict=True))
    assert comedies and all("Comedy" in genres[i["itemId"]] for i in comedies)
    assert len(comedies) == sum("Comedy" in g for g in genres.values())
    # A missing INCLUDE parameter is the caller's error, named.
    with pytest.raises(runtime.exceptions.InvalidInputException, match=r"\$GENRE"):
        runtime.get_recommendations(campaignArn=campaign, userId=STORY_USER, filterArn=genre)


def test_put_items_are_filterable_and_explored_without_retraining(personalize, tailor, story):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    campaign = deploy(personalize, tailor, story["group"], USER_PERSONALIZATION, "explore",
                      itemExplorationConfig={"explorationWeight": "1", "explorationItemAgeCutOff": "30"})
    events.put_items(datasetArn=story["items"], items=[
        {"itemId": "brand-new", "properties": json.dumps({"genre": "Documentary", "price": 3.5})}])
    docs = make_filter(personalize, tailor, story["group"], "docs",
                       'INCLUDE ItemID WHERE Items.GENRE IN ("Documentary")')
    only = runtime.get_recommendations(campaignArn=campaign, userId=STORY_USER, filterArn=docs)["itemList"]
    assert [i["itemId"] for i in only] == ["brand-new"]
    assert 0 < only[0]["score"] <= 1
    # With explorationWeight 1 half of the slots explore items without training events: the new one is among them.
    listed = runtime.get_recommendations(campaignArn=campaign, userId=STORY_USER, numResults=10)["itemList"]
    explored = [i["itemId"] for i in listed if "Exploration" in i.get("reason", [])]
    assert explored == ["brand-new"]


def test_related_and_popular_items_have_no_scores(personalize, tailor, story):
    runtime = tailor.client("personalize-runtime")
    sims = deploy(personalize, tailor, story["group"], SIMS, "sims")
    related = runtime.get_recommendations(campaignArn=sims, itemId=STORY_CLICKED, numResults=5)["itemList"]
    assert related[0]["itemId"] == STORY_RELATED
    assert STORY_CLICKED not in [i["itemId"] for i in related]
    assert all("score" not in i for i in related)
    unknown = runtime.get_recommendations(campaignArn=sims, itemId="no-such-item", numResults=3)["itemList"]
    assert unknown[0]["itemId"] == "p0"  # popular items, as Personalize answers for an unknown item
    with pytest.raises(runtime.exceptions.InvalidInputException, match="itemId is required"):
        runtime.get_recommendations(campaignArn=sims, userId=STORY_USER)

    popular = deploy(personalize, tailor, story["group"], POPULARITY, "popular")
    top = runtime.get_recommendations(campaignArn=popular, userId="anyone", numResults=3)["itemList"]
    assert top[0]["itemId"] == "p0" and all("score" not in i for i in top)


def test_metadata_and_explanations(personalize, tailor, story):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    plain = deploy(personalize, tailor, story["group"], USER_PERSONALIZATION, "plain")
    with pytest.raises(runtime.exceptions.InvalidInputException, match="enableMetadataWithRecommendations"):
        runtime.get_recommendations(campaignArn=plain, userId=STORY_USER, metadataColumns={"ITEMS": ["GENRE"]})
    ranking = deploy(personalize, tailor, story["group"], RANKING, "meta", enableMetadataWithRecommendations=True)
    ranked = runtime.get_personalized_ranking(campaignArn=ranking, userId=STORY_USER, inputList=["p1", "p2"],
                                              metadataColumns={"ITEMS": ["GENRE", "PRICE"]})
    meta = {i["itemId"]: i["metadata"] for i in ranked["personalizedRanking"]}
    assert meta == {"p1": {"GENRE": "Drama", "PRICE": "11"}, "p2": {"GENRE": "Action|Comedy", "PRICE": "12"}}

    # Opt-in explanations name the user's recent item that lifted the related one.
    click(events, story["trackingId"], STORY_USER, STORY_CLICKED, times=2)
    explained = runtime.get_personalized_ranking(campaignArn=ranking, userId=STORY_USER,
                                                 inputList=[STORY_RELATED, "p0"],
                                                 context={"TAILOR_EXPLAIN": "true"})["personalizedRanking"]
    assert explained[0]["itemId"] == STORY_RELATED
    assert explained[0]["reason"][0].startswith(f"Recent item {STORY_CLICKED}")
    # Without the opt-in stock responses stay as Personalize's.
    quiet = runtime.get_personalized_ranking(campaignArn=ranking, userId=STORY_USER, inputList=[STORY_RELATED, "p0"])
    assert all("reason" not in i for i in quiet["personalizedRanking"])


def test_runtime_errors_are_the_modelled_ones(personalize, tailor, story):
    runtime = tailor.client("personalize-runtime")
    raw = tailor.client("personalize-runtime", config=Config(parameter_validation=False))
    campaign = deploy(personalize, tailor, story["group"], USER_PERSONALIZATION, "errors")
    missing = campaign.replace("campaign/errors", "campaign/nope")
    with pytest.raises(runtime.exceptions.ResourceNotFoundException) as err:
        runtime.get_recommendations(campaignArn=missing, userId=STORY_USER)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    cases = [
        ({"campaignArn": campaign}, "userId is required"),
        ({"campaignArn": campaign, "userId": "u" * 257}, "userId"),
        ({"campaignArn": campaign, "userId": STORY_USER, "numResults": 501}, "numResults"),
        ({"userId": STORY_USER}, "campaignArn or recommenderArn"),
    ]
    for kwargs, message in cases:
        with pytest.raises(raw.exceptions.InvalidInputException, match=message) as err:
            raw.get_recommendations(**kwargs)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(runtime.exceptions.InvalidInputException, match="PERSONALIZED_RANKING"):
        runtime.get_personalized_ranking(campaignArn=campaign, userId=STORY_USER, inputList=["p1"])
    with pytest.raises(raw.exceptions.InvalidInputException, match="inputList"):
        raw.get_personalized_ranking(campaignArn=campaign, userId=STORY_USER, inputList=[f"x{i}" for i in range(501)])
    unknown_filter = campaign.replace("campaign/errors", "filter/nope")
    with pytest.raises(runtime.exceptions.ResourceNotFoundException, match="filter"):
        runtime.get_recommendations(campaignArn=campaign, userId=STORY_USER, filterArn=unknown_filter)


def test_promotions_and_anonymous_sessions(personalize, tailor, story):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    campaign = deploy(personalize, tailor, story["group"], USER_PERSONALIZATION, "promo",
                      itemExplorationConfig={"explorationWeight": "0"})
    horror = make_filter(personalize, tailor, story["group"], "horror",
                         'INCLUDE ItemID WHERE Items.GENRE IN ("Horror")')
    no_horror = make_filter(personalize, tailor, story["group"], "no-horror",
                            'EXCLUDE ItemID WHERE Items.GENRE IN ("Horror")')
    listed = runtime.get_recommendations(
        campaignArn=campaign, userId=STORY_USER, numResults=10, filterArn=no_horror,
        promotions=[{"name": "spooky", "percentPromotedItems": 20, "filterArn": horror}])["itemList"]
    genre = {item: ("Comedy", "Drama", "Action|Comedy", "Horror")[i % 4] for i, item in enumerate(story_item_ids())}
    promoted = [i for i in listed if i.get("promotionName") == "spooky"]
    # 20% of 10 slots go to the promotion's items (the request filter does not apply to them), the rest obey it
    assert len(listed) == 10 and len(promoted) == 2
    assert all(genre[i["itemId"]] == "Horror" and i["reason"] == ["Promoted item"] for i in promoted)
    assert all(genre[i["itemId"]] != "Horror" for i in listed if i not in promoted)
    promoted_scores = [i["score"] for i in promoted]
    assert promoted_scores == sorted(promoted_scores, reverse=True)  # in order among themselves

    # Events put without a userId count for the session: a request with the sessionId as userId sees them.
    events.put_events(trackingId=story["trackingId"], sessionId="anon-42", eventList=[
        {"sentAt": int(time.time()), "eventType": "Click", "itemId": STORY_CLICKED}])
    anonymous = runtime.get_recommendations(campaignArn=campaign, userId="anon-42", numResults=3)["itemList"]
    assert anonymous[0]["itemId"] == STORY_RELATED and "reason" not in anonymous[0]


def test_streamed_events_and_items_train_the_next_version(personalize, tailor, story):
    runtime, events = tailor.client("personalize-runtime"), tailor.client("personalize-events")
    # Sixty users put events on an item that only exists through PutItems; a model trained before knows nothing of it.
    events.put_items(datasetArn=story["items"], items=[
        {"itemId": "streamed-hit", "properties": json.dumps({"genre": "Drama", "price": 9.0})}])
    now = int(time.time())
    for u in range(60):
        events.put_events(trackingId=story["trackingId"], userId=f"u{u + 1}", sessionId=f"s{u}", eventList=[
            {"sentAt": now + k, "eventType": "Click", "itemId": "streamed-hit", "eventId": f"{u}-{k}"}
            for k in range(5)])
    solution = make_solution(personalize, tailor, story["group"], name="popular-now", recipe=POPULARITY)
    version = train(personalize, tailor, solution)
    assert version["status"] == "ACTIVE", version.get("failureReason")
    arn = personalize.create_campaign(name="popular-now", solutionVersionArn=version["solutionVersionArn"])
    tailor.wait()
    top = runtime.get_recommendations(campaignArn=arn["campaignArn"], userId="anyone", numResults=1)["itemList"]
    assert top[0]["itemId"] == "streamed-hit"  # 300 streamed events: the most popular item of the new version


def test_a_dataset_fed_only_by_put_events_trains(personalize, tailor, group, make_dataset):
    make_dataset("INTERACTIONS")
    events = tailor.client("personalize-events")
    tracking_id = personalize.create_event_tracker(name="only-stream", datasetGroupArn=group)["trackingId"]
    tailor.wait()
    for u in range(60):  # 1,200 events: Personalize's minimum, all streamed (no import job at all)
        for batch in range(2):
            events.put_events(trackingId=tracking_id, userId=f"user{u}", sessionId=f"s{u}", eventList=[
                {"sentAt": 1_700_000_000 + 20 * u + k, "eventType": "click", "itemId": f"i{(u + k) % 25}",
                 "properties": json.dumps({"eventValue": 1.0})} for k in range(10 * batch, 10 * batch + 10)])
    version = train(personalize, tailor, make_solution(personalize, tailor, group, name="streamed"))
    assert version["status"] == "ACTIVE", version.get("failureReason")


def test_the_runtime_serves_a_model_without_writing_a_temporary_file(personalize, tailor, trained_group, monkeypatch):
    # Given a deployed aws-user-personalization campaign whose model the runtime has not loaded yet
    runtime = tailor.client("personalize-runtime")
    campaign = deploy(personalize, tailor, trained_group, USER_PERSONALIZATION, "no-tmp")
    blobs = tailor.embedded.service.blobs
    real_open, read = blobs.open_seekable, []

    def open_seekable(uri: str) -> Any:
        read.append(uri)
        return real_open(uri)

    monkeypatch.setattr(blobs, "open_seekable", open_seekable)

    # And a local disk that takes no file at all (in AWS the runtime's /tmp is 512 MB, less than a big model)
    def no_disk(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, no_disk)
    # When a user asks for recommendations
    items = runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=5)["itemList"]
    # Then the model was read from the artifacts bucket and answered
    assert any(uri.endswith(".npz") for uri in read)
    assert len(items) == 5 and all(i["itemId"].startswith("i") for i in items)
