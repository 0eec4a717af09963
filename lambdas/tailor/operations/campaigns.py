"""CreateCampaign, DescribeCampaign, ListCampaigns, UpdateCampaign, DeleteCampaign.

A campaign serves one ACTIVE solution version. There is no provisioned capacity behind it: minProvisionedTPS is
stored and shown (clients that set it keep working) but costs nothing, as Tailor's runtime is billed per request.
UpdateCampaign records the change in `latestCampaignUpdate` and applies it when the update job finishes, so until
then the campaign keeps its previous version, TPS and configuration (and requests keep being served by them).
"""

from __future__ import annotations

import math
from typing import Any

from tailor.errors import InvalidInputException, LimitExceededException, ResourceInUseException
from tailor.operations import common
from tailor.ports import Resource
from tailor.service import Service

KIND = "campaign"
MAX_CAMPAIGNS_PER_GROUP = 5  # Personalize's quota (reference: limits, per dataset group)
UPDATABLE = common.UPDATABLE_CAMPAIGN
EXPLORATION_KEYS = ("explorationWeight", "explorationItemAgeCutOff")


def _active_version(svc: Service, arn: str) -> Resource:
    version = common.get(svc, arn, "solution-version")
    if version.status != common.ACTIVE:
        raise ResourceInUseException(
            f"Solution version {arn} is in status {version.status}; a campaign needs an ACTIVE solution version"
        )
    return version


def check_exploration(config: dict[str, Any]) -> None:
    exploration = config.get("itemExplorationConfig") or {}
    unknown = sorted(set(exploration) - set(EXPLORATION_KEYS))
    if unknown:
        raise InvalidInputException(
            f"Unknown itemExplorationConfig key(s) {', '.join(unknown)}; expected {' and '.join(EXPLORATION_KEYS)}"
        )
    for key, low, high, closed in (("explorationWeight", 0.0, 1.0, True), ("explorationItemAgeCutOff", 0.0,
                                                                             math.inf, False)):
        if key not in exploration:
            continue
        try:
            value = float(exploration[key])
        except ValueError:
            value = math.nan
        inside = (low <= value <= high) if closed else (low < value < high)
        if not inside:
            expected = "a number from 0.0 to 1.0" if closed else "a number of days greater than 0"
            raise InvalidInputException(f"itemExplorationConfig.{key} must be {expected}; got {exploration[key]!r}")


def _campaigns_in_group(svc: Service, group_arn: str) -> int:
    solutions = common.children(svc, "solution", group_arn)
    return sum(
        1 for solution in solutions for c in common.children(svc, KIND, solution.arn)
        if c.status not in common.DELETING
    )


LATEST = "/$LATEST"


def _serving_version(svc: Service, arn: str, config: dict[str, Any]) -> Resource:
    """The version a campaign serves: the one named, or with syncWithLatestSolutionVersion (and the ARN
    `<solutionArn>/$LATEST`) the solution's newest ACTIVE version, which the campaign then follows."""
    follows = bool(config.get("syncWithLatestSolutionVersion"))
    if arn.endswith(LATEST) != follows:
        raise InvalidInputException(
            "syncWithLatestSolutionVersion true goes with solutionVersionArn <solutionArn>/$LATEST, and only with it"
        )
    if not follows:
        return _active_version(svc, arn)
    solution = common.get(svc, arn.removesuffix(LATEST), "solution")
    active = [v for v in common.children(svc, "solution-version", solution.arn) if v.status == common.ACTIVE]
    if not active:
        raise ResourceInUseException(f"Solution {solution.arn} has no ACTIVE solution version to serve yet")
    return max(active, key=lambda v: float(v.doc["creationDateTime"]))


def create_campaign(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    config = req.get("campaignConfig") or {}
    version = _serving_version(svc, req["solutionVersionArn"], config)
    check_exploration(config)
    solution_arn = version.parent or version.doc["solutionArn"]
    group_arn = common.get(svc, solution_arn, "solution").doc["datasetGroupArn"]
    if _campaigns_in_group(svc, group_arn) >= MAX_CAMPAIGNS_PER_GROUP:
        raise LimitExceededException(
            f"Dataset group {group_arn} already has {MAX_CAMPAIGNS_PER_GROUP} campaigns, the most it can have"
        )
    arn = svc.arn(KIND, req["name"])
    doc = {
        "name": req["name"],
        "campaignArn": arn,
        "solutionVersionArn": version.arn,
        "minProvisionedTPS": int(req.get("minProvisionedTPS") or 1),
        "campaignConfig": config,
        "status": common.CREATE_PENDING,
    }
    common.new_resource(svc, KIND, arn, doc, parent=solution_arn, tags=req.get("tags"))
    svc.launcher.launch("activate", arn)
    return {"campaignArn": arn}


def describe_campaign(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["campaignArn"], KIND, "campaign")


def list_campaigns(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "CampaignSummary", "campaigns", "solutionArn", "solution")


def update_campaign(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    campaign = common.get(svc, req["campaignArn"], KIND)
    if campaign.status not in UPDATABLE:
        raise ResourceInUseException(
            f"Campaign {campaign.arn} is in status {campaign.status}; it can be updated when ACTIVE or CREATE FAILED"
        )
    _no_update_in_flight(campaign)
    config = req["campaignConfig"] if "campaignConfig" in req else campaign.doc.get("campaignConfig") or {}
    version_arn = req.get("solutionVersionArn") or (
        f"{campaign.parent}{LATEST}" if config.get("syncWithLatestSolutionVersion")
        else campaign.doc["solutionVersionArn"])
    version = _serving_version(svc, version_arn, config)
    if (version.parent or version.doc["solutionArn"]) != campaign.parent:
        raise InvalidInputException(
            f"Solution version {version_arn} belongs to another solution; a campaign serves versions of "
            f"{campaign.parent}"
        )
    check_exploration(config)
    _start_update(svc, campaign, version.arn,
                  int(req.get("minProvisionedTPS") or campaign.doc.get("minProvisionedTPS") or 1), config)
    return {"campaignArn": campaign.arn}


def _start_update(svc: Service, campaign: Resource, version_arn: str, tps: int, config: dict[str, Any]) -> None:
    now = svc.now()
    update = {
        "solutionVersionArn": version_arn,
        "minProvisionedTPS": tps,
        "campaignConfig": config,
        "status": common.CREATE_PENDING,
        "creationDateTime": now,
        "lastUpdatedDateTime": now,
    }
    # Checked again at the write: of two UpdateCampaign calls racing, one wins and the other is refused.
    svc.store.update(campaign.arn, {"latestCampaignUpdate": update, "lastUpdatedDateTime": now},
                     expect_status=UPDATABLE, check=_no_update_in_flight)
    svc.launcher.launch("update-campaign", campaign.arn)


def follow(svc: Service, campaign: Resource, version_arn: str) -> None:
    """A campaign with syncWithLatestSolutionVersion moves to a new ACTIVE version of its solution (automatic
    training's, or one trained by hand), through the same update as UpdateCampaign: no gap in serving. A campaign
    busy with another update, or being deleted, is left alone (it follows the next version)."""
    if campaign.status not in UPDATABLE or campaign.doc.get("solutionVersionArn") == version_arn:
        return
    try:
        _start_update(svc, campaign, version_arn, int(campaign.doc.get("minProvisionedTPS") or 1),
                      campaign.doc.get("campaignConfig") or {})
    except ResourceInUseException:
        return


def delete_campaign(svc: Service, req: dict[str, Any]) -> None:
    campaign = common.get(svc, req["campaignArn"], KIND)
    _no_update_in_flight(campaign)
    common.start_delete(svc, campaign)


def _no_update_in_flight(campaign: Resource) -> None:
    pending = (campaign.doc.get("latestCampaignUpdate") or {}).get("status")
    if pending in common.IN_FLIGHT:
        raise ResourceInUseException(f"Campaign {campaign.arn} has an update in status {pending}; wait for it")
