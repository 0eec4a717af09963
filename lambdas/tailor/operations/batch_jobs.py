"""CreateBatchInferenceJob, CreateBatchSegmentJob and their Describe / List operations.

A batch job reads JSON lines from the user's S3 path (one object or every object under a prefix) and writes one
`<input-file-name>.out` per input object under the output path (tailor.batch, run by the jobs workflow like an
import). Statuses follow the create chain every other Tailor job uses (CREATE PENDING, CREATE IN_PROGRESS, then
ACTIVE or CREATE FAILED with failureReason); clients poll for ACTIVE / CREATE FAILED, which is what Personalize
documents as the terminal states.
"""

from __future__ import annotations

from typing import Any

from tailor.errors import InvalidInputException, ResourceInUseException
from tailor.operations import common
from tailor.operations.campaigns import check_exploration
from tailor.operations.catalog import find_recipe
from tailor.ports import Resource
from tailor.service import Service

INFERENCE_KIND = "batch-inference-job"
SEGMENT_KIND = "batch-segment-job"
DEFAULT_RESULTS = 25
MAX_INFERENCE_RESULTS = 500
MAX_SEGMENT_RESULTS = 5_000_000
# Recipes Personalize refuses in batch inference (M-cp CreateBatchInferenceJob): Trending-Now needs the time of the
# request; the others are segmentation / actions recipes with their own jobs.
NO_BATCH_INFERENCE = frozenset({"aws-trending-now"})
INFERENCE_MODES = ("BATCH_INFERENCE", "THEME_GENERATION")


def _version(svc: Service, arn: str) -> tuple[Resource, str, str]:
    """The ACTIVE solution version, its recipe name and recipe type."""
    version = common.get(svc, arn, "solution-version")
    if version.status != common.ACTIVE:
        raise ResourceInUseException(
            f"Solution version {arn} is in status {version.status}; a batch job needs an ACTIVE solution version"
        )
    recipe = find_recipe(version.doc["recipeArn"])
    return version, recipe.name, recipe.recipe_type


def _filter(svc: Service, filter_arn: str | None, group_arn: str) -> str | None:
    if not filter_arn:
        return None
    found = common.get(svc, filter_arn, "filter")
    if found.doc.get("datasetGroupArn") != group_arn:
        raise InvalidInputException(
            f"Filter {filter_arn} belongs to dataset group {found.doc.get('datasetGroupArn')}, not to the solution "
            f"version's ({group_arn})"
        )
    found = common.require_active(found, svc)
    return filter_arn


def _num_results(req: dict[str, Any], most: int) -> int:
    value = req.get("numResults")
    number = DEFAULT_RESULTS if value is None else int(value)
    if not 1 <= number <= most:
        raise InvalidInputException(f"numResults must be from 1 to {most}; got {number}")
    return number


def _paths(svc: Service, req: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    job_input = req["jobInput"]
    job_output = req["jobOutput"]
    common.s3_path(svc, job_input.get("s3DataSource", {}).get("path"), "jobInput.s3DataSource.path")
    common.s3_path(svc, job_output.get("s3DataDestination", {}).get("path"), "jobOutput.s3DataDestination.path")
    return job_input, job_output


def _new_job(svc: Service, req: dict[str, Any], kind: str, arn_key: str, version: Resource, num_results: int,
             job_input: dict[str, Any], job_output: dict[str, Any], extra: dict[str, Any]) -> str:
    """Store a CREATE PENDING batch job under its solution version (what both Create operations share)."""
    arn = svc.arn(kind, req["jobName"])
    doc = {
        "jobName": req["jobName"],
        arn_key: arn,
        "filterArn": _filter(svc, req.get("filterArn"), version.doc["datasetGroupArn"]),
        "solutionVersionArn": version.arn,
        "numResults": num_results,
        "jobInput": job_input,
        "jobOutput": job_output,
        **extra,
        "roleArn": req["roleArn"],
        "status": common.CREATE_PENDING,
    }
    common.new_resource(svc, kind, arn, {k: v for k, v in doc.items() if v is not None}, parent=version.arn,
                        tags=req.get("tags"))
    return arn


def create_batch_inference_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    job_input, job_output = _paths(svc, req)
    mode = req.get("batchInferenceJobMode") or "BATCH_INFERENCE"
    if mode not in INFERENCE_MODES:
        raise InvalidInputException(f"batchInferenceJobMode must be one of {', '.join(INFERENCE_MODES)}; got {mode}")
    if mode == "THEME_GENERATION":
        raise InvalidInputException("THEME_GENERATION (generative themes) is not supported by Tailor; use "
                                    "BATCH_INFERENCE")
    num_results = _num_results(req, MAX_INFERENCE_RESULTS)
    version, recipe, recipe_type = _version(svc, req["solutionVersionArn"])
    if recipe in NO_BATCH_INFERENCE:
        raise InvalidInputException(f"Batch inference is not available for {recipe} solution versions")
    if recipe_type not in ("USER_PERSONALIZATION", "POPULAR_ITEMS", "PERSONALIZED_RANKING", "RELATED_ITEMS"):
        hint = " use CreateBatchSegmentJob" if recipe_type == "USER_SEGMENTATION" else ""
        raise InvalidInputException(f"Solution version {version.arn} is a {recipe_type} recipe ({recipe});{hint}")
    config = req.get("batchInferenceJobConfig") or {}
    unknown = sorted(set(config) - {"itemExplorationConfig"})
    if unknown:
        raise InvalidInputException(f"batchInferenceJobConfig {', '.join(unknown)} is not supported by Tailor")
    check_exploration(config)
    arn = _new_job(svc, req, INFERENCE_KIND, "batchInferenceJobArn", version, num_results, job_input, job_output, {
        "batchInferenceJobConfig": config,
        "batchInferenceJobMode": mode,
    })
    svc.launcher.launch("batch-inference", arn)
    return {"batchInferenceJobArn": arn}


def describe_batch_inference_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["batchInferenceJobArn"], INFERENCE_KIND, "batchInferenceJob")


def list_batch_inference_jobs(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, INFERENCE_KIND, "BatchInferenceJobSummary", "batchInferenceJobs",
                          "solutionVersionArn", "solution-version")


def create_batch_segment_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    job_input, job_output = _paths(svc, req)
    num_results = _num_results(req, MAX_SEGMENT_RESULTS)
    version, recipe, recipe_type = _version(svc, req["solutionVersionArn"])
    if recipe_type != "USER_SEGMENTATION":
        raise InvalidInputException(
            f"Batch segment jobs need a USER_SEGMENTATION solution version (aws-item-affinity or "
            f"aws-item-attribute-affinity); {version.arn} is {recipe}"
        )
    arn = _new_job(svc, req, SEGMENT_KIND, "batchSegmentJobArn", version, num_results, job_input, job_output, {})
    svc.launcher.launch("batch-segment", arn)
    return {"batchSegmentJobArn": arn}


def describe_batch_segment_job(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["batchSegmentJobArn"], SEGMENT_KIND, "batchSegmentJob")


def list_batch_segment_jobs(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, SEGMENT_KIND, "BatchSegmentJobSummary", "batchSegmentJobs",
                          "solutionVersionArn", "solution-version")
