"""The functions and the jobs workflow in the synthesized template: handlers and environment, the state machine's
states and transitions (moto cannot run ecs:runTask.sync, so its structure is checked here and the code each state
runs is tested in tests/lambdas), the Fargate task, and the automatic-training schedule."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from infra import constants
from infra.config import TailorConfig
from infra.stack import TailorStack
from infra.workflows import jobs_state_machine_arn, jobs_state_machine_name
from tailor import config as tailor_config
from tailor import jobs
from tests.infra.template import function, only, resources, state_machine_definition, statements

API_HANDLERS = (constants.CONTROL_PLANE_HANDLER, constants.RUNTIME_HANDLER, constants.EVENTS_HANDLER)
OUR_HANDLERS = (*API_HANDLERS, constants.WORKFLOW_HANDLER)
COMMON_ENVIRONMENT = {
    tailor_config.ENV_RESOURCES_TABLE,
    tailor_config.ENV_EVENTS_TABLE,
    tailor_config.ENV_ARTIFACTS_BUCKET,
    tailor_config.ENV_ACCOUNT_ID,
    constants.ENV_POWERTOOLS_SERVICE_NAME,
}


def _variables(template: Template, handler: str) -> dict[str, Any]:
    variables: dict[str, Any] = function(template, handler)[1]["Properties"]["Environment"]["Variables"]
    return variables


# --- Functions ---------------------------------------------------------------------------------------------


def test_api_functions_runtime_memory_and_timeout(template: Template) -> None:
    memory = {
        constants.CONTROL_PLANE_HANDLER: 1024, constants.RUNTIME_HANDLER: 2048, constants.EVENTS_HANDLER: 1024}
    for handler in API_HANDLERS:
        properties = function(template, handler)[1]["Properties"]
        assert (properties["Runtime"], properties["Architectures"]) == ("python3.12", ["x86_64"])
        assert properties["MemorySize"] == memory[handler]
        # API Gateway gives up after 29 s
        assert properties["Timeout"] == 29


def _task_environment(template: Template) -> dict[str, Any]:
    [container] = only(template, "AWS::ECS::TaskDefinition")[1]["Properties"]["ContainerDefinitions"]
    return {variable["Name"]: variable["Value"] for variable in container["Environment"]}


def test_what_starts_jobs_names_the_jobs_state_machine_and_only_the_control_plane_the_data_locations(
    template: Template, stack: TailorStack
) -> None:
    _, state_machine = only(template, "AWS::StepFunctions::StateMachine")
    jobs_arn = stack.resolve(jobs_state_machine_arn(stack, stack.config))
    control_plane = _variables(template, constants.CONTROL_PLANE_HANDLER)
    workflow = _variables(template, constants.WORKFLOW_HANDLER)

    # The ARN is built from the state machine's fixed name (a Ref would make a cycle through the workflow function)
    assert state_machine["Properties"]["StateMachineName"] == "tailor-dev-jobs"
    assert json.dumps(jobs_arn).endswith(':stateMachine:tailor-dev-jobs"]]}')
    assert set(control_plane) == {
        *COMMON_ENVIRONMENT, tailor_config.ENV_STATE_MACHINE_ARN, tailor_config.ENV_DATA_LOCATIONS}
    assert "s3://" in json.dumps(control_plane[tailor_config.ENV_DATA_LOCATIONS])
    # The hourly sweep and sync_latest start jobs from the workflow Lambda; a finished training from the task.
    starter_environment = {*COMMON_ENVIRONMENT, tailor_config.ENV_STATE_MACHINE_ARN}
    assert set(workflow) == set(_task_environment(template)) == starter_environment
    for variables in (control_plane, workflow, _task_environment(template)):
        assert variables[tailor_config.ENV_STATE_MACHINE_ARN] == jobs_arn
    for handler in (constants.RUNTIME_HANDLER, constants.EVENTS_HANDLER):
        assert set(_variables(template, handler)) == COMMON_ENVIRONMENT, handler


def test_jobs_state_machine_name_fits_step_functions_for_the_longest_stage() -> None:
    assert len(jobs_state_machine_name(TailorConfig(stage="s" * 64))) <= 80  # Step Functions' limit on names


def test_workflow_function_has_room_to_spool_artifacts(template: Template) -> None:
    properties = function(template, constants.WORKFLOW_HANDLER)[1]["Properties"]
    assert properties["Timeout"] == 900
    # Training spools model artifacts to /tmp: more than Lambda's default 512 MB
    assert properties["EphemeralStorage"] == {"Size": 4096}


def test_functions_share_one_dependencies_layer(template: Template) -> None:
    layer_id, layer = only(template, "AWS::Lambda::LayerVersion")

    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    for handler in OUR_HANDLERS:
        assert function(template, handler)[1]["Properties"]["Layers"] == [{"Ref": layer_id}]


def test_function_code_holds_the_whole_tailor_package(synthesized_assembly: str) -> None:
    """The Lambda asset must carry tailor.training (the workflow trains small jobs) but not lambdas/training."""
    from pathlib import Path

    code = [path for path in Path(synthesized_assembly).glob("asset.*") if (path / "tailor" / "handlers").is_dir()
            and not (path / "training" / "Dockerfile").exists()]
    assert code, "no Lambda code asset found"
    for asset in code:
        assert (asset / "tailor" / "training" / "entrypoint.py").is_file()
        assert (asset / "tailor" / "serving").is_dir()
        assert not (asset / "tailor" / "local" / "sample").exists()
        assert not list(asset.rglob("__pycache__"))


# --- The jobs state machine --------------------------------------------------------------------------------


def test_jobs_start_by_choosing_lambda_or_fargate(template: Template) -> None:
    definition = state_machine_definition(template)
    states, start = definition["States"], definition["StartAt"]

    choice = states[start]
    assert (start, choice["Type"]) == (constants.CHOOSE_RUNNER_STATE_ID, "Choice")
    [rule] = choice["Choices"]
    assert rule["Next"] == constants.RUN_CONTAINER_JOB_TASK_ID
    assert {(c["Variable"], c["StringEquals"]) for c in rule["Or"]} == {
        ("$.job", job) for job in tailor_config.CONTAINER_JOBS}
    assert choice["Default"] == constants.RUN_JOB_TASK_ID
    # Every container job is a job the workflow code knows; every other job runs in the Lambda.
    assert set(jobs.JOBS) >= tailor_config.CONTAINER_JOBS


def test_starting_a_container_job_is_retried_on_transient_ecs_errors_only(template: Template) -> None:
    task = state_machine_definition(template)["States"][constants.RUN_CONTAINER_JOB_TASK_ID]

    [retry] = task["Retry"]
    assert set(retry["ErrorEquals"]) == {
        "ECS.AmazonECSException", "ECS.ServerException", "ECS.ThrottlingException", "AmazonECS.Unknown"}
    # A container that ran and exited non-zero (States.TaskFailed) recorded its own failure: never run it twice
    assert not {"States.ALL", "States.TaskFailed"} & set(retry["ErrorEquals"])
    assert (retry["IntervalSeconds"], retry["BackoffRate"], retry["MaxAttempts"], retry["JitterStrategy"]) == (
        10, 2, 5, "FULL")
    # Once the retries are spent, the failure is still recorded on the resource
    assert [catch["Next"] for catch in task["Catch"]] == [constants.RECORD_FAILURE_TASK_ID]


def test_both_runners_catch_every_error_into_the_failure_task(template: Template) -> None:
    states = state_machine_definition(template)["States"]

    for task_id in (constants.RUN_JOB_TASK_ID, constants.RUN_CONTAINER_JOB_TASK_ID):
        task = states[task_id]
        assert task["Type"] == "Task"
        assert task["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": constants.RECORD_FAILURE_TASK_ID}
        ]
        assert states[task["Next"]]["Type"] == "Succeed"
    record_failure = states[constants.RECORD_FAILURE_TASK_ID]
    assert record_failure["Type"] == "Task"
    assert record_failure["Parameters"] == {"job": constants.FAIL_JOB, "arn.$": "$.arn", "cause.$": "$.error"}
    failed = states[record_failure["Next"]]
    assert failed == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}


def test_container_jobs_run_the_training_image_with_ecs_run_task_sync(template: Template) -> None:
    task = state_machine_definition(template)["States"][constants.RUN_CONTAINER_JOB_TASK_ID]
    _, task_definition = only(template, "AWS::ECS::TaskDefinition")

    assert task["Resource"].endswith(":states:::ecs:runTask.sync")
    parameters = task["Parameters"]
    assert parameters["LaunchType"] == "FARGATE"
    assert parameters["TaskDefinition"] == task_definition["Properties"]["Family"]
    assert parameters["Cluster"] == f"<{only(template, 'AWS::ECS::Cluster')[0]}.Arn>"
    assert parameters["NetworkConfiguration"]["AwsvpcConfiguration"]["AssignPublicIp"] == "ENABLED"
    # The job and ARN reach the container as the environment tailor.handlers.container reads
    assert parameters["Overrides"]["ContainerOverrides"] == [{
        "Name": constants.JOB_CONTAINER_NAME,
        "Environment": [
            {"Name": tailor_config.ENV_JOB, "Value.$": "$.job"},
            {"Name": tailor_config.ENV_JOB_ARN, "Value.$": "$.arn"},
        ],
    }]
    # The task times out before the execution does, so a stopped task still goes through the catch path
    assert task["TimeoutSeconds"] < state_machine_definition(template)["TimeoutSeconds"]


def test_lambda_tasks_invoke_the_workflow_function(template: Template) -> None:
    workflow_id, _ = function(template, constants.WORKFLOW_HANDLER)
    states = state_machine_definition(template)["States"]

    for task_id in (constants.RUN_JOB_TASK_ID, constants.RECORD_FAILURE_TASK_ID):
        assert states[task_id]["Resource"] == f"<{workflow_id}.Arn>"


def test_state_machine_logs_every_event(template: Template) -> None:
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {"LoggingConfiguration": Match.object_like({"Level": "ALL"}), "TracingConfiguration": {"Enabled": True}},
    )


# --- The Fargate task --------------------------------------------------------------------------------------


def test_fargate_task_is_sized_from_cdk_json_and_runs_read_only(template: Template) -> None:
    _, task_definition = only(template, "AWS::ECS::TaskDefinition")
    properties = task_definition["Properties"]

    assert (properties["Cpu"], properties["Memory"]) == ("4096", "16384")
    assert properties["RequiresCompatibilities"] == ["FARGATE"]
    [container] = properties["ContainerDefinitions"]
    assert container["Name"] == constants.JOB_CONTAINER_NAME
    assert {variable["Name"] for variable in container["Environment"]} == {
        *COMMON_ENVIRONMENT, tailor_config.ENV_STATE_MACHINE_ARN}
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "scratch"}]


def test_training_image_is_built_from_the_dockerfile_at_deploy(synthesized_assembly: str) -> None:
    from pathlib import Path

    manifest = json.loads((Path(synthesized_assembly) / "Tailor.assets.json").read_text())
    [image] = manifest["dockerImages"].values()
    source = image["source"]
    assert source["dockerFile"] == constants.TRAINING_DOCKERFILE
    staged = Path(synthesized_assembly) / source["directory"]
    assert (staged / "training" / "Dockerfile").is_file()
    assert (staged / "tailor" / "handlers" / "container.py").is_file()


def test_network_has_no_nat_gateway_and_tasks_take_no_inbound_traffic(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    endpoints = resources(template, "AWS::EC2::VPCEndpoint").values()
    assert {json.dumps(e["Properties"]["ServiceName"]).split(".")[-1].strip('"]}') for e in endpoints} == {
        "s3", "dynamodb"}
    for group in resources(template, "AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group["Properties"]
    template.resource_count_is("AWS::EC2::FlowLog", 1)
    # Container Insights would bill custom metrics for a cluster that only runs batch tasks now and then
    template.has_resource_properties(
        "AWS::ECS::Cluster", {"ClusterSettings": [{"Name": "containerInsights", "Value": "disabled"}]})


# --- Automatic training ------------------------------------------------------------------------------------


def test_automatic_training_sweeps_hourly_through_the_jobs_state_machine(template: Template) -> None:
    state_machine_id, _ = only(template, "AWS::StepFunctions::StateMachine")
    _, schedule = only(template, "AWS::Scheduler::Schedule")
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == constants.AUTO_TRAINING_RATE
    target = properties["Target"]
    assert target["Arn"] == {"Ref": state_machine_id}
    assert json.loads(target["Input"]) == {"job": tailor_config.AUTO_TRAIN_JOB, "arn": tailor_config.AUTO_TRAIN_TARGET}
    # The schedule's role may start that state machine and nothing else.
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    assert statements(template, role_id) == [
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": state_machine_id}}]
    # auto-train is small work: the sweep runs in the Lambda
    assert tailor_config.AUTO_TRAIN_JOB not in tailor_config.CONTAINER_JOBS
