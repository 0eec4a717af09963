"""Automatic training and campaigns that follow their solution's latest version.

* A solution with `performAutoTraining` (Personalize's default: true) gets a new solution version every N days,
  `solutionConfig.autoTrainingConfig.schedulingExpression` = `rate(N days)` (1-30, default 7). The first one starts
  within an hour of the solution becoming ACTIVE, unless someone trained a version by hand in that hour (as
  Personalize documents). Automatic versions have trainingMode AUTOTRAIN and trainingType AUTOMATIC.
* Nothing is scheduled per solution: one periodic "auto-train" job (an EventBridge Scheduler schedule in AWS, a timer
  of the local launcher locally) sweeps the solutions and starts the versions that are due. A solution's last sweep
  is claimed with a conditional write, so two sweeps running at once start one version, not two.
* A campaign created with `syncWithLatestSolutionVersion` (solutionVersionArn `<solutionArn>/$LATEST`) moves to each
  new ACTIVE version of its solution through the usual campaign update: it keeps serving the previous version until
  the update is ACTIVE, so there is no gap.
* User-personalization's lightweight updates (Personalize refreshes the model every two hours so new items can be
  explored) need no job here: the runtime reads the Items dataset and PutItems records at request time, so a new item
  is explorable as soon as it is imported or put (tailor.serving.catalog).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from tailor import config
from tailor.errors import InvalidInputException, ResourceInUseException
from tailor.operations import common
from tailor.ports import Resource
from tailor.service import Service

logger = logging.getLogger("tailor.autotrain")

DEFAULT_DAYS = 7
MAX_DAYS = 30
FIRST_VERSION_AFTER_SECONDS = 3600.0
LAST_SWEEP = "autoTrainClaimedAt"  # solution.internal: when a sweep last started a version for it
SWEEP_TARGET = config.AUTO_TRAIN_TARGET  # the "arn" the periodic job is launched with: every solution
_RATE = re.compile(r"rate\(\s*(\d+)\s+(day|days)\s*\)")


def schedule_days(config: dict[str, Any] | None) -> int:
    """The auto-training interval in days from a solutionConfig (InvalidInputException for a bad expression)."""
    expression = ((config or {}).get("autoTrainingConfig") or {}).get("schedulingExpression")
    if expression is None:
        return DEFAULT_DAYS
    match = _RATE.fullmatch(str(expression).strip())
    if match is None or not 1 <= int(match.group(1)) <= MAX_DAYS:
        raise InvalidInputException(
            f"autoTrainingConfig.schedulingExpression must be rate(N days) with N from 1 to {MAX_DAYS}, for example "
            f"rate(7 days); got {expression!r}"
        )
    return int(match.group(1))


def _all(svc: Service, kind: str, parent: str | None) -> list[Resource]:
    found: list[Resource] = []
    cursor = None
    while True:
        page = svc.store.list(kind, parent, 100, cursor)
        found.extend(page.items)
        if not page.cursor:
            return found
        cursor = page.cursor


def due(svc: Service, solution: Resource, now: float) -> bool:
    """Whether an automatic version of `solution` should start now."""
    if solution.status != common.ACTIVE or not solution.doc.get("performAutoTraining"):
        return False
    versions = common.children(svc, "solution-version", solution.arn)
    if any(v.status in common.IN_FLIGHT or v.status == "CREATE STOPPING" for v in versions):
        return False  # one training at a time
    started = [float(v.doc["creationDateTime"]) for v in versions]
    claimed = solution.internal.get(LAST_SWEEP)
    if claimed is not None:
        started.append(float(claimed))
    if not started:
        return now - float(solution.doc["creationDateTime"]) >= FIRST_VERSION_AFTER_SECONDS
    return now - max(started) >= schedule_days(solution.doc.get("solutionConfig")) * 86_400


def sweep(svc: Service, arn: str = SWEEP_TARGET, now: float | None = None) -> list[str]:
    """Start the automatic versions that are due (every solution, or the one named) at `now` (default: the
    service's clock); returns their ARNs."""
    from tailor.operations.solutions import start_version

    solutions = _all(svc, "solution", None) if arn == SWEEP_TARGET else [common.get(svc, arn, "solution")]
    now = svc.now() if now is None else now
    started = []
    for solution in solutions:
        try:
            if not due(svc, solution, now):
                continue
        except InvalidInputException as err:  # a schedule stored before it was checked: say so, skip it
            logger.warning("solution %s: %s", solution.arn, err.message)
            continue
        try:
            claimed = svc.store.update(
                solution.arn, {}, internal_changes={LAST_SWEEP: now}, expect_status=frozenset({common.ACTIVE}),
                check=_unclaimed_since(solution.internal.get(LAST_SWEEP)),
            )
        except ResourceInUseException:
            continue  # another sweep took it, or the solution changed state
        version = start_version(svc, claimed, mode="AUTOTRAIN", training_type="AUTOMATIC")
        logger.info("automatic training of %s: %s", solution.arn, version.arn)
        started.append(version.arn)
    return started


def _unclaimed_since(previous: Any) -> Callable[[Resource], None]:
    """The write's condition: no other sweep claimed the solution since we read it."""

    def check(current: Resource) -> None:
        if current.internal.get(LAST_SWEEP) != previous:
            raise ResourceInUseException(f"Solution {current.arn} was claimed by another automatic-training sweep")

    return check


def follow_latest(svc: Service, version: Resource) -> None:
    """Move the campaigns that follow `version`'s solution onto it (now ACTIVE), each through a campaign update."""
    from tailor.operations.campaigns import follow

    if version.status != common.ACTIVE:
        return
    for campaign in _all(svc, "campaign", version.doc["solutionArn"]):
        if (campaign.doc.get("campaignConfig") or {}).get("syncWithLatestSolutionVersion"):
            follow(svc, campaign, version.arn)
