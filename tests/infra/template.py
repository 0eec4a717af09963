"""Reading a synthesized template: resources by type, a role's statements, a function by handler, the jobs ASL."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Template

Resource = dict[str, Any]


def resources(template: Template, type_name: str, props: Any = None) -> dict[str, Resource]:
    return {name: dict(resource) for name, resource in template.find_resources(type_name, props).items()}


def only(template: Template, type_name: str, props: Any = None) -> tuple[str, Resource]:
    found = resources(template, type_name, props)
    assert len(found) == 1, f"expected one {type_name} matching {props}, found {sorted(found)}"
    return next(iter(found.items()))


def statements(template: Template, role_logical_id: str) -> list[Resource]:
    statements: list[Resource] = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def bucket_id(template: Template, access_logs_prefix: str) -> str:
    """A bucket by the prefix its access logs go under (each logged bucket has its own)."""
    bucket_id, _ = only(template, "AWS::S3::Bucket", {"Properties": {"LoggingConfiguration": {
        "LogFilePrefix": access_logs_prefix}}})
    return bucket_id


def function(template: Template, handler: str) -> tuple[str, Resource]:
    return only(template, "AWS::Lambda::Function", {"Properties": {"Handler": handler}})


def state_machine_definition(template: Template) -> dict[str, Any]:
    """The ASL of the jobs state machine, each CloudFormation intrinsic in it written as a placeholder: <Id> for a
    Ref, <Id.Attribute> for a GetAtt, INTRINSIC for anything else."""
    _, state_machine = only(template, "AWS::StepFunctions::StateMachine")
    definition = state_machine["Properties"]["DefinitionString"]
    if isinstance(definition, dict):
        separator, parts = definition["Fn::Join"]
        definition = separator.join(_placeholder(part) for part in parts)
    parsed: dict[str, Any] = json.loads(definition)
    return parsed


def _placeholder(part: Any) -> str:
    if isinstance(part, str):
        return part
    if "Ref" in part:
        return f"<{part['Ref']}>"
    if "Fn::GetAtt" in part:
        return "<{}.{}>".format(*part["Fn::GetAtt"])
    return "INTRINSIC"


