"""README's "What runs where" table (under "Deploy to AWS") says what the default cdk.json deploys: each row is checked
against the synthesized template, and the jobs it lists against tailor.config.CONTAINER_JOBS and tailor.jobs.JOBS."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra import constants
from infra.config import ROOT
from tailor import config as tailor_config
from tailor import jobs
from tests.infra.template import function, only, state_machine_definition

SECTION = "### What runs where"
TASK_ROW = "Fargate job task"
# Row → the handler of its function (the task row has none); API rows → the API they serve.
FUNCTION_ROWS = {
    "Control-plane Lambda": constants.CONTROL_PLANE_HANDLER,
    "Runtime Lambda": constants.RUNTIME_HANDLER,
    "Events Lambda": constants.EVENTS_HANDLER,
    "Workflow Lambda": constants.WORKFLOW_HANDLER,
}
APIS = {"Control-plane Lambda": "personalize", "Runtime Lambda": "personalize-runtime",
        "Events Lambda": "personalize-events"}
# What CloudFormation leaves out means the default: Lambda's /tmp is 512 MB, Fargate's task storage 20 GiB
# (platform 1.4.0 and later).
LAMBDA_DEFAULT_TMP_MB = 512
FARGATE_DEFAULT_STORAGE_GIB = 20
_SIZE_MB = {"MB": 1, "GB": 1024}
_SECONDS = {"s": 1, "min": 60, "h": 3600}


def _table() -> dict[str, dict[str, str]]:
    """Row name → {column header → cell} of the first table after the section heading."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index(SECTION)
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    header, _separator, *body = rows
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def _parts(pattern: str, cell: str) -> tuple[str, ...]:
    match = re.fullmatch(pattern, cell)
    assert match, f"{cell!r} does not read as {pattern}"
    return match.groups()


def _megabytes(cell: str) -> int:
    number, unit = _parts(r"(\d+) (MB|GB)", cell)
    return int(number) * _SIZE_MB[unit]


def _seconds(cell: str) -> int:
    number, unit = _parts(r"(\d+) (s|min|h)", cell)
    return int(number) * _SECONDS[unit]


def _named(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_table_has_a_row_for_every_function_and_the_task() -> None:
    assert set(_table()) == {*FUNCTION_ROWS, TASK_ROW}


@pytest.mark.parametrize("row", sorted(FUNCTION_ROWS))
def test_each_lambda_row_is_what_the_template_deploys(template: Template, row: str) -> None:
    cells = _table()[row]
    properties: dict[str, Any] = function(template, FUNCTION_ROWS[row])[1]["Properties"]

    assert _megabytes(cells["Memory"]) == properties["MemorySize"]
    assert _megabytes(cells["/tmp"]) == properties.get("EphemeralStorage", {}).get("Size", LAMBDA_DEFAULT_TMP_MB)
    assert _seconds(cells["Time limit"]) == properties["Timeout"]
    assert cells["CPU"] == "\N{EN DASH}"  # a Lambda's CPU follows its memory
    if row in APIS:
        assert _named(cells["Runs"]) == {APIS[row]}


def test_the_fargate_row_is_the_task_definition_and_the_tasks_timeout(template: Template) -> None:
    cells = _table()[TASK_ROW]
    properties = only(template, "AWS::ECS::TaskDefinition")[1]["Properties"]
    task_state = state_machine_definition(template)["States"][constants.RUN_CONTAINER_JOB_TASK_ID]

    (vcpus,) = _parts(r"(\d+) vCPU", cells["CPU"])
    assert int(vcpus) * 1024 == int(properties["Cpu"])
    assert _megabytes(cells["Memory"]) == int(properties["Memory"])
    storage_gib = properties.get("EphemeralStorage", {}).get("SizeInGiB", FARGATE_DEFAULT_STORAGE_GIB)
    assert _megabytes(cells["/tmp"]) == storage_gib * 1024
    assert _seconds(cells["Time limit"]) == task_state["TimeoutSeconds"]


def test_the_jobs_listed_are_where_the_state_machine_sends_them() -> None:
    table = _table()

    assert _named(table[TASK_ROW]["Runs"]) == tailor_config.CONTAINER_JOBS
    assert _named(table["Workflow Lambda"]["Runs"]) == set(jobs.JOBS) - tailor_config.CONTAINER_JOBS
