"""The deployment as `cdk deploy` would create it, read from the synthesized template: functions, routes, roles, the
jobs state machine, the Fargate task and the schedule, with every CloudFormation intrinsic resolved to the names and
ARNs a deployment in one account and region would get."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"  # moto's default account: the ARNs moto builds match the ones resolved here
REGION = "us-east-1"
PARTITION = "aws"
# Lambda's default /tmp (MB) and Fargate's default task storage (GiB) when the template sets none.
LAMBDA_DEFAULT_TMP_MB = 512
FARGATE_DEFAULT_STORAGE_GIB = 20

Statement = dict[str, Any]


@dataclass(frozen=True)
class LambdaSpec:
    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    memory_mb: int
    timeout_s: int
    tmp_mb: int
    role_arn: str
    statements: list[Statement]


@dataclass(frozen=True)
class MountPoint:
    container_path: str
    source_volume: str
    read_only: bool


@dataclass(frozen=True)
class TaskSpec:
    arn: str
    family: str
    container_name: str
    environment: dict[str, str]
    readonly_root: bool
    mount_points: list[MountPoint]
    volumes: list[dict[str, Any]]
    cpu: int
    memory_mb: int
    storage_gib: int
    stop_timeout_s: int
    role_arn: str
    execution_role_arn: str
    statements: list[Statement]


@dataclass(frozen=True)
class TableSpec:
    name: str
    key_schema: list[dict[str, str]]
    attributes: list[dict[str, str]]
    indexes: list[dict[str, Any]]


@dataclass(frozen=True)
class Topology:
    stack_name: str
    functions: dict[str, LambdaSpec]  # by logical id
    routes: dict[str, str]  # API path ("/", "/{proxy+}", "/recommendations", ...) → function logical id
    tables: list[TableSpec]
    buckets: list[str]
    state_machine_arn: str
    state_machine_definition: dict[str, Any]
    state_machine_statements: list[Statement]
    task: TaskSpec
    schedules: list[dict[str, Any]]  # {"target": arn, "input": {...}, "expression": ...}
    roles: dict[str, list[Statement]] = field(default_factory=dict)  # role ARN → its statements
    outputs: dict[str, str] = field(default_factory=dict)  # the stack's outputs (DataBucketName, ...)

    def function_by_handler(self, handler: str) -> LambdaSpec:
        found = [f for f in self.functions.values() if f.handler == handler]
        if len(found) != 1:
            raise LookupError(f"{len(found)} functions run {handler}")
        return found[0]

    def function_by_arn(self, arn: str) -> LambdaSpec:
        for function in self.functions.values():
            if arn in (function.arn, function.name) or arn.startswith(function.arn + ":"):
                return function
        raise LookupError(f"no function {arn}")

    def route(self, path: str) -> LambdaSpec:
        """The function API Gateway sends a POST on `path` to: an exact resource, else the greedy {proxy+}."""
        logical_id = self.routes.get(path) or self.routes.get("/{proxy+}")
        if logical_id is None:
            raise LookupError(f"no API route for {path}")
        return self.functions[logical_id]


class Resolver:
    """Fn::* and Ref of one template, with physical names chosen as CloudFormation would (stack-name-LogicalId)."""

    def __init__(self, template: dict[str, Any], stack_name: str) -> None:
        self.resources: dict[str, Any] = template["Resources"]
        self.stack_name = stack_name
        self.pseudo = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": stack_name,
        }

    def name(self, logical_id: str) -> str:
        """A resource's physical name: its explicit name property, else one derived as CloudFormation does."""
        resource = self.resources[logical_id]
        props = resource.get("Properties", {})
        explicit = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::S3::Bucket": "BucketName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::IAM::Role": "RoleName",
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::StepFunctions::StateMachine": "StateMachineName",
            "AWS::ECS::Cluster": "ClusterName",
            "AWS::ECS::TaskDefinition": "Family",
        }.get(resource["Type"])
        if explicit and explicit in props:
            return str(self.resolve(props[explicit]))
        generated = f"{self.stack_name}-{logical_id}"
        if resource["Type"] == "AWS::S3::Bucket":
            return generated.lower()[:63]
        return generated[:64]

    def ref(self, logical_id: str) -> str:
        if logical_id in self.pseudo:
            return self.pseudo[logical_id]
        kind = self.resources[logical_id]["Type"]
        if kind in ("AWS::StepFunctions::StateMachine", "AWS::ECS::TaskDefinition", "AWS::Lambda::LayerVersion",
                    "AWS::IAM::ManagedPolicy"):
            return self.arn(logical_id)
        if kind == "AWS::EC2::Subnet":
            return f"subnet-{abs(hash(logical_id)) % 10**8:08d}"
        return self.name(logical_id)

    def arn(self, logical_id: str) -> str:
        kind, name = self.resources[logical_id]["Type"], self.name(logical_id)
        head = f"arn:{PARTITION}"
        return {
            "AWS::DynamoDB::Table": f"{head}:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::S3::Bucket": f"{head}:s3:::{name}",
            "AWS::Lambda::Function": f"{head}:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::IAM::Role": f"{head}:iam::{ACCOUNT}:role/{name}",
            "AWS::IAM::ManagedPolicy": f"{head}:iam::{ACCOUNT}:policy/{name}",
            "AWS::Logs::LogGroup": f"{head}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::StepFunctions::StateMachine": f"{head}:states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            "AWS::ECS::Cluster": f"{head}:ecs:{REGION}:{ACCOUNT}:cluster/{name}",
            "AWS::ECS::TaskDefinition": f"{head}:ecs:{REGION}:{ACCOUNT}:task-definition/{name}:1",
            "AWS::Lambda::LayerVersion": f"{head}:lambda:{REGION}:{ACCOUNT}:layer:{name}:1",
        }.get(kind, f"{head}:unknown:{REGION}:{ACCOUNT}:{logical_id}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        if attribute in ("Name", "TableName"):
            return self.name(logical_id)
        if attribute == "GroupId":
            return f"sg-{abs(hash(logical_id)) % 10**8:08d}"
        return f"{logical_id}.{attribute}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(part)) for part in self.resolve(parts))
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise ValueError(f"the deployed tier cannot resolve {key}")
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", one, text)


def read(template: dict[str, Any], stack_name: str = "tailor-dev") -> Topology:
    """The topology of one synthesized template (the JSON CloudFormation receives)."""
    resolver = Resolver(template, stack_name)
    resources = resolver.resources
    by_type: dict[str, list[str]] = {}
    for logical_id, resource in resources.items():
        by_type.setdefault(resource["Type"], []).append(logical_id)

    roles = {resolver.arn(role): _role_statements(resolver, role) for role in by_type.get("AWS::IAM::Role", [])}

    functions: dict[str, LambdaSpec] = {}
    for logical_id in by_type.get("AWS::Lambda::Function", []):
        props = resolver.resolve(resources[logical_id]["Properties"])
        if not str(props.get("Handler", "")).startswith("tailor."):
            continue  # CDK's own custom-resource handlers
        functions[logical_id] = LambdaSpec(
            logical_id=logical_id,
            name=resolver.name(logical_id),
            arn=resolver.arn(logical_id),
            handler=props["Handler"],
            environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_s=int(props.get("Timeout", 3)),
            tmp_mb=int(props.get("EphemeralStorage", {}).get("Size", LAMBDA_DEFAULT_TMP_MB)),
            role_arn=props["Role"],
            statements=roles.get(props["Role"], []),
        )

    routes: dict[str, str] = {}
    for logical_id in by_type.get("AWS::ApiGateway::Method", []):
        props = resources[logical_id]["Properties"]
        if props.get("HttpMethod") != "POST":
            continue
        uri = str(resolver.resolve(props["Integration"]["Uri"]))
        target = next((f for f in functions.values() if f"/functions/{f.arn}/invocations" in uri), None)
        if target is not None:
            routes[_path(resources, props["ResourceId"])] = target.logical_id

    tables = []
    for logical_id in by_type.get("AWS::DynamoDB::Table", []):
        props = resolver.resolve(resources[logical_id]["Properties"])
        tables.append(TableSpec(
            name=resolver.name(logical_id),
            key_schema=props["KeySchema"],
            attributes=props["AttributeDefinitions"],
            indexes=props.get("GlobalSecondaryIndexes", []),
        ))

    (machine_id,) = by_type["AWS::StepFunctions::StateMachine"]
    machine = resolver.resolve(resources[machine_id]["Properties"])
    (task_id,) = by_type["AWS::ECS::TaskDefinition"]
    task_props = resolver.resolve(resources[task_id]["Properties"])
    (container,) = task_props["ContainerDefinitions"]
    schedules = []
    for logical_id in by_type.get("AWS::Scheduler::Schedule", []):
        props = resolver.resolve(resources[logical_id]["Properties"])
        schedules.append({"target": props["Target"]["Arn"], "input": json.loads(props["Target"].get("Input", "{}")),
                          "expression": props["ScheduleExpression"], "role_arn": props["Target"]["RoleArn"]})
    return Topology(
        stack_name=stack_name,
        functions=functions,
        routes=routes,
        tables=tables,
        buckets=[resolver.name(b) for b in by_type.get("AWS::S3::Bucket", [])],
        state_machine_arn=resolver.arn(machine_id),
        state_machine_definition=json.loads(machine["DefinitionString"]),
        state_machine_statements=roles.get(machine["RoleArn"], []),
        task=TaskSpec(
            arn=resolver.arn(task_id),
            family=resolver.name(task_id),
            container_name=container["Name"],
            environment={e["Name"]: str(e["Value"]) for e in container.get("Environment", [])},
            readonly_root=bool(container.get("ReadonlyRootFilesystem", False)),
            mount_points=[MountPoint(m["ContainerPath"], m["SourceVolume"], bool(m.get("ReadOnly", False)))
                          for m in container.get("MountPoints", [])],
            volumes=task_props.get("Volumes", []),
            cpu=int(task_props["Cpu"]),
            memory_mb=int(task_props["Memory"]),
            storage_gib=int(task_props.get("EphemeralStorage", {}).get("SizeInGiB", FARGATE_DEFAULT_STORAGE_GIB)),
            stop_timeout_s=int(container.get("StopTimeout", 30)),
            role_arn=task_props["TaskRoleArn"],
            execution_role_arn=task_props["ExecutionRoleArn"],
            statements=roles.get(task_props["TaskRoleArn"], []),
        ),
        schedules=schedules,
        roles=roles,
        outputs={name: str(resolver.resolve(output["Value"])) for name, output in template.get("Outputs", {}).items()},
    )


def _role_statements(resolver: Resolver, role_id: str) -> list[Statement]:
    """Every Allow/Deny that applies to a role: its inline policies and the AWS::IAM::Policy resources naming it."""
    statements: list[Statement] = []
    role = resolver.resources[role_id]
    for policy in role.get("Properties", {}).get("Policies", []):
        statements.extend(resolver.resolve(policy["PolicyDocument"]["Statement"]))
    for resource in resolver.resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if {"Ref": role_id} in resource["Properties"].get("Roles", []):
            statements.extend(resolver.resolve(resource["Properties"]["PolicyDocument"]["Statement"]))
    for policy_arn in role.get("Properties", {}).get("ManagedPolicyArns", []):
        # Its statements are not in the template: evaluating a call against this role fails rather than guessing.
        statements.append({"Effect": "Unknown", "ManagedPolicyArn": resolver.resolve(policy_arn)})
    return statements


def _path(resources: dict[str, Any], resource_id: Any) -> str:
    """The API path of a method's resource: the root, or the chain of PathParts up to it."""
    if isinstance(resource_id, dict) and "Fn::GetAtt" in resource_id:
        return "/"  # RestApi.RootResourceId
    logical_id = resource_id["Ref"]
    props = resources[logical_id]["Properties"]
    parent = _path(resources, props["ParentId"])
    return f"{parent.rstrip('/')}/{props['PathPart']}"
