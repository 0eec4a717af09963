"""Solutions and solution versions: Create/Describe/List/Delete/Update, Stop, GetSolutionMetrics."""

from __future__ import annotations

import secrets
from typing import Any

from tailor.autotrain import schedule_days
from tailor.errors import InvalidInputException, ResourceInUseException
from tailor.operations import common
from tailor.operations.catalog import find_recipe
from tailor.ports import Resource
from tailor.service import Service

KIND = "solution"
VERSION_KIND = "solution-version"
# Tailor's own hyper-parameters, accepted by every recipe (beyond Personalize).
TAILOR_PARAMETERS = {
    "event_weights": "per-event-type weights, e.g. 'purchase:5,click:1' (types not listed weigh 1)",
    "allow_small_data": "'true' trains the popularity fallback below Personalize's minimum instead of failing",
}
UPDATE_RECIPES = frozenset({"aws-user-personalization", "aws-hrnn-coldstart"})  # where trainingMode=UPDATE is allowed
STOPPABLE = frozenset({common.CREATE_PENDING, common.CREATE_IN_PROGRESS})
CREATE_STOPPING = "CREATE STOPPING"
CREATE_STOPPED = "CREATE STOPPED"


def _trainable(recipe_arn: str) -> str:
    """The recipe's name if Tailor can train it; InvalidInputException otherwise."""
    from tailor.training.recipes import RECIPES

    try:
        recipe = find_recipe(recipe_arn)
    except common.ResourceNotFoundException:
        raise InvalidInputException(f"Unknown recipe {recipe_arn}") from None
    if recipe.domain:
        raise InvalidInputException(
            f"{recipe.name} is a {recipe.domain} domain recipe: use it with CreateRecommender, not CreateSolution"
        )
    if recipe.name not in RECIPES:
        raise InvalidInputException(
            f"Tailor cannot train {recipe.name} yet; it trains {', '.join(sorted(RECIPES))}"
        )
    return recipe.name


def _check_config(recipe_name: str, config: dict[str, Any]) -> None:
    from tailor.training.recipes import RECIPES

    known = {**RECIPES[recipe_name].defaults, **TAILOR_PARAMETERS}
    for member in ("algorithmHyperParameters", "featureTransformationParameters"):
        unknown = sorted(set(config.get(member) or {}) - set(known))
        if unknown:
            raise InvalidInputException(
                f"Unknown {member} {', '.join(unknown)} for {recipe_name}; it takes {', '.join(sorted(known))}"
            )
    threshold = config.get("eventValueThreshold")
    if threshold is not None:
        try:
            float(threshold)
        except ValueError:
            raise InvalidInputException(f"eventValueThreshold must be a number; got {threshold!r}") from None


def _search() -> Any:
    """The HPO/AutoML module (numpy) is loaded by the operations that validate with it, not at cold start."""
    from tailor.training import search

    return search


def automl_recipes(config: dict[str, Any]) -> list[str]:
    """What AutoML chooses among: autoMLConfig.recipeList, else every USER_PERSONALIZATION recipe Tailor trains."""
    from tailor.operations.catalog import RECIPES as CATALOG
    from tailor.training.recipes import RECIPES

    automl = config.get("autoMLConfig") or {}
    arns = automl.get("recipeList") or [
        r.arn for r in CATALOG if r.recipe_type == "USER_PERSONALIZATION" and not r.domain and r.name in RECIPES
    ]
    names = []
    for arn in arns:
        name = _trainable(arn)
        if find_recipe(arn).recipe_type != "USER_PERSONALIZATION":
            raise InvalidInputException(f"AutoML chooses among USER_PERSONALIZATION recipes; {name} is not one")
        names.append(name)
    search = _search()
    try:
        search.objective(automl.get("metricName"))
    except search.SearchConfigError as err:
        raise InvalidInputException(f"autoMLConfig: {err}") from None
    return names


def create_solution(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    from tailor.training.recipes import RECIPES

    group = common.get(svc, req["datasetGroupArn"], "dataset-group")
    group = common.require_active(group, svc)
    config = req.get("solutionConfig") or {}
    perform_automl, perform_hpo = bool(req.get("performAutoML")), bool(req.get("performHPO"))
    if perform_automl:
        if req.get("recipeArn"):
            raise InvalidInputException(
                "Give either recipeArn or performAutoML: AutoML chooses the recipe from autoMLConfig.recipeList"
            )
        recipe_names = automl_recipes(config)
    elif req.get("recipeArn"):
        recipe_names = [_trainable(req["recipeArn"])]
    else:
        raise InvalidInputException("recipeArn is required when performAutoML is false")
    schedule_days(config)
    search = _search()
    for name in recipe_names:
        _check_config(name, config)
        if perform_hpo:
            try:
                search.plan_hpo(config.get("hpoConfig"), RECIPES[name].defaults)
            except search.SearchConfigError as err:
                raise InvalidInputException(f"hpoConfig for {name}: {err}") from None
    arn = svc.arn(KIND, req["name"])
    doc = {
        "name": req["name"],
        "solutionArn": arn,
        "performHPO": perform_hpo,
        "performAutoML": perform_automl,
        # Personalize's default since 2024: a new version every 7 days unless the caller turns it off.
        "performAutoTraining": bool(req.get("performAutoTraining", True)),
        "performIncrementalUpdate": bool(req.get("performIncrementalUpdate", False)),
        "recipeArn": req.get("recipeArn"),
        "datasetGroupArn": group.arn,
        "eventType": req.get("eventType"),
        "solutionConfig": config,
        "status": common.CREATE_PENDING,
    }
    common.new_resource(svc, KIND, arn, doc, parent=group.arn, tags=req.get("tags"))
    svc.launcher.launch("activate", arn)
    return {"solutionArn": arn}


def describe_solution(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["solutionArn"], KIND, "solution")


def list_solutions(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "SolutionSummary", "solutions", "datasetGroupArn", "dataset-group")


def update_solution(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    solution = common.get(svc, req["solutionArn"], KIND)
    solution = common.require_active(solution, svc)
    changes: dict[str, Any] = {"lastUpdatedDateTime": svc.now()}
    for flag in ("performAutoTraining", "performIncrementalUpdate"):
        if flag in req:
            changes[flag] = bool(req[flag])
    update_config = req.get("solutionUpdateConfig") or {}
    schedule_days(update_config)
    if update_config:
        changes["solutionConfig"] = {**solution.doc.get("solutionConfig", {}), **update_config}
    now = svc.now()
    changes["latestSolutionUpdate"] = {
        "solutionUpdateConfig": update_config,
        "status": common.ACTIVE,
        "performAutoTraining": changes.get("performAutoTraining", solution.doc.get("performAutoTraining")),
        "performIncrementalUpdate": changes.get("performIncrementalUpdate",
                                                solution.doc.get("performIncrementalUpdate")),
        "creationDateTime": now,
        "lastUpdatedDateTime": now,
    }
    svc.store.update(solution.arn, changes, expect_status=frozenset({common.ACTIVE}))
    return {"solutionArn": solution.arn}


def delete_solution(svc: Service, req: dict[str, Any]) -> None:
    solution = common.get(svc, req["solutionArn"], KIND)
    for version in common.children(svc, VERSION_KIND, solution.arn):
        if version.status in STOPPABLE or version.status == CREATE_STOPPING:
            raise ResourceInUseException(
                f"Cannot delete solution {solution.arn} while version {version.arn} is {version.status}"
            )
    common.refuse_if_children(svc, solution, ("campaign",))
    common.start_delete(svc, solution)


def _version_summary(version: dict[str, Any]) -> dict[str, Any]:
    keys = ("solutionVersionArn", "status", "trainingMode", "trainingType", "creationDateTime",
            "lastUpdatedDateTime", "failureReason")
    return {k: version[k] for k in keys if version.get(k) is not None}


def sync_latest(svc: Service, version: Resource) -> None:
    """Keep Solution.latestSolutionVersion in step with its newest version's status."""
    solution = svc.store.get(version.doc["solutionArn"])
    if solution is None:
        return
    latest = solution.doc.get("latestSolutionVersion") or {}
    if latest.get("solutionVersionArn") in (None, version.arn):
        svc.store.update(solution.arn, {"latestSolutionVersion": _version_summary(version.doc)})


def create_solution_version(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    solution = common.get(svc, req["solutionArn"], KIND)
    solution = common.require_active(solution, svc)
    mode = req.get("trainingMode") or "FULL"
    recipe_arn = solution.doc.get("recipeArn") or (solution.doc.get("autoMLResult") or {}).get("bestRecipeArn")
    if mode == "UPDATE":
        if recipe_arn is None:
            raise InvalidInputException("trainingMode UPDATE needs a trained version (AutoML has not chosen a recipe)")
        recipe_name = find_recipe(recipe_arn).name
        if recipe_name not in UPDATE_RECIPES:
            raise InvalidInputException(
                f"trainingMode UPDATE is only for {' and '.join(sorted(UPDATE_RECIPES))}; {recipe_name} needs FULL"
            )
        if not any(v.status == common.ACTIVE for v in common.children(svc, VERSION_KIND, solution.arn)):
            raise InvalidInputException("trainingMode UPDATE needs an ACTIVE solution version to update; train FULL")
    if mode == "AUTOTRAIN":
        raise InvalidInputException("trainingMode AUTOTRAIN is set by automatic training, not by callers")
    version = start_version(svc, solution, mode=mode, training_type="MANUAL", name=req.get("name"),
                            tags=req.get("tags"))
    return {"solutionVersionArn": version.arn}


def start_version(svc: Service, solution: Resource, *, mode: str, training_type: str, name: str | None = None,
                  tags: list[dict[str, str]] | None = None) -> Resource:
    """A new CREATE PENDING version of `solution` and its training job (by hand or by automatic training)."""
    arn = f"{solution.arn}/{secrets.token_hex(4)}"
    doc = {
        "name": name,
        "solutionVersionArn": arn,
        "solutionArn": solution.arn,
        "performHPO": solution.doc.get("performHPO", False),
        "performAutoML": solution.doc.get("performAutoML", False),
        "performIncrementalUpdate": solution.doc.get("performIncrementalUpdate", False),
        "recipeArn": solution.doc.get("recipeArn"),  # AutoML: set to the chosen recipe when training ends
        "eventType": solution.doc.get("eventType"),
        "datasetGroupArn": solution.doc["datasetGroupArn"],
        "solutionConfig": solution.doc.get("solutionConfig", {}),
        "trainingMode": mode,
        "trainingType": training_type,
        "status": common.CREATE_PENDING,
    }
    version = common.new_resource(svc, VERSION_KIND, arn, doc, parent=solution.arn, tags=tags)
    svc.store.update(solution.arn, {"latestSolutionVersion": _version_summary(version.doc)})
    svc.launcher.launch("train", arn)
    return version


def describe_solution_version(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["solutionVersionArn"], VERSION_KIND, "solutionVersion")


def list_solution_versions(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, VERSION_KIND, "SolutionVersionSummary", "solutionVersions", "solutionArn", KIND)


def stop_solution_version_creation(svc: Service, req: dict[str, Any]) -> None:
    version = common.get(svc, req["solutionVersionArn"], VERSION_KIND)
    if version.status == common.CREATE_PENDING:
        target = CREATE_STOPPED  # nothing has started: stop at once
    elif version.status == common.CREATE_IN_PROGRESS:
        target = CREATE_STOPPING  # the training job sees this between its phases and stops there
    else:
        raise ResourceInUseException(
            f"Solution version {version.arn} is {version.status}; only a version being created can be stopped"
        )
    updated = svc.store.update(version.arn, {"status": target, "lastUpdatedDateTime": svc.now()},
                               expect_status=frozenset({version.status}))
    sync_latest(svc, updated)


def get_solution_metrics(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    version = common.get(svc, req["solutionVersionArn"], VERSION_KIND)
    if version.status != common.ACTIVE:
        raise ResourceInUseException(
            f"Solution version {version.arn} is {version.status}; metrics exist once it is ACTIVE"
        )
    return {"solutionVersionArn": version.arn, "metrics": version.internal.get("metrics", {})}
