"""IAM as AWS applies it to one role: each AWS call a function or task makes is turned into the actions and resources
IAM authorizes, evaluated against that role's statements from the template, and refused with AccessDenied when no
statement allows it. The hook runs inside the test process (Lambdas) and inside the job container (a subprocess)."""

from __future__ import annotations

import fnmatch
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

Statement = dict[str, Any]
# A line the job container prints for every call its role refused, so the tier can report it.
DENIED_MARKER = "TAILOR-DEPLOYED-TIER-DENIED "


@dataclass(frozen=True)
class Request:
    """One authorization IAM makes: an action on a resource, with the condition keys the request carries."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


def allows(statements: Iterable[Statement], request: Request) -> bool:
    """IAM's identity-policy evaluation: an explicit Deny wins, else any matching Allow, else implicit deny."""
    allowed = False
    for statement in statements:
        if statement.get("Effect") == "Unknown":
            raise ValueError(f"the role has a managed policy the template does not define: {statement}")
        if not _matches_action(statement, request.action):
            continue
        if not _matches_resource(statement, request.resource):
            continue
        if not _conditions_hold(statement.get("Condition") or {}, request.context):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _like(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _matches_action(statement: Statement, action: str) -> bool:
    if "NotAction" in statement:
        return not any(_like(p, action, False) for p in _as_list(statement["NotAction"]))
    return any(_like(p, action, False) for p in _as_list(statement.get("Action", [])))


def _matches_resource(statement: Statement, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(_like(p, resource) for p in _as_list(statement["NotResource"]))
    return any(_like(p, resource) for p in _as_list(statement.get("Resource", [])))


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda want, got: want == got,
    "StringNotEquals": lambda want, got: want != got,
    "StringLike": lambda want, got: _like(want, got),
    "StringNotLike": lambda want, got: not _like(want, got),
    "ArnEquals": lambda want, got: want == got,
    "ArnLike": lambda want, got: _like(want, got),
}


def _conditions_hold(conditions: dict[str, Any], context: dict[str, str]) -> bool:
    for operator, keys in conditions.items():
        if_exists = operator.endswith("IfExists")
        test = _OPERATORS.get(operator.removesuffix("IfExists"))
        if test is None:
            raise ValueError(f"the deployed tier does not evaluate the condition operator {operator}")
        for key, wanted in keys.items():
            got = context.get(key.lower())
            if got is None:
                if if_exists:
                    continue
                return False
            negated = operator.startswith(("StringNot",))
            results = [test(str(w), got) for w in _as_list(wanted)]
            if not (all(results) if negated else any(results)):
                return False
    return True


# ---- AWS calls → the authorizations IAM makes for them ----

def requests_for(service: str, operation: str, params: dict[str, Any], region: str, account: str,
                 bucket_keys: Callable[[str], str | None] = lambda bucket: None) -> list[Request]:
    """What IAM checks for one API call (the service's signing name, the operation's name and its parameters).
    `bucket_keys` names the customer-managed KMS key a bucket encrypts its objects with, if any."""
    if service == "dynamodb":
        return _dynamodb(operation, params, region, account)
    if service == "s3":
        return _s3(operation, params, bucket_keys, region, account)
    if service == "states":
        arn = params.get("stateMachineArn") or params.get("executionArn") or "*"
        return [Request(f"states:{operation}", arn)]
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # needs no permission
    if service == "monitoring":
        return [Request(f"cloudwatch:{operation}", "*", {"cloudwatch:namespace": str(params.get("Namespace", ""))})]
    return [Request(f"{service}:{operation}", "*")]


def _table_arn(region: str, account: str, table: str, index: str | None = None) -> str:
    arn = table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb(operation: str, params: dict[str, Any], region: str, account: str) -> list[Request]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Request(f"dynamodb:{operation}", _table_arn(region, account, table))
                for table in params.get("RequestItems", {})]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        found = []
        for item in params.get("TransactItems", []):
            for kind, body in item.items():
                action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}[kind]
                found.append(Request(f"dynamodb:{action}", _table_arn(region, account, body["TableName"])))
        return found
    table = params.get("TableName")
    if not table:
        return [Request(f"dynamodb:{operation}", "*")]
    return [Request(f"dynamodb:{operation}", _table_arn(region, account, table, params.get("IndexName")))]


_S3_OBJECT_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
    "DeleteObject": "s3:DeleteObject",
}
_S3_BUCKET_ACTIONS = {"ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket", "HeadBucket": "s3:ListBucket"}
# What S3 asks of KMS for an object encrypted with a customer-managed key (SSE-KMS): reading decrypts the data key,
# writing generates one (and a multipart upload decrypts it again for each part and to complete).
_KMS_FOR = {
    "GetObject": ("kms:Decrypt",),
    "HeadObject": ("kms:Decrypt",),
    "PutObject": ("kms:GenerateDataKey",),
    "CreateMultipartUpload": ("kms:GenerateDataKey",),
    "UploadPart": ("kms:Decrypt",),
    "CompleteMultipartUpload": ("kms:Decrypt",),
}


def _s3(operation: str, params: dict[str, Any], bucket_keys: Callable[[str], str | None], region: str,
        account: str) -> list[Request]:
    bucket = str(params.get("Bucket", ""))
    if operation in _S3_BUCKET_ACTIONS:
        context = {"s3:prefix": str(params.get("Prefix", ""))} if operation.startswith("List") else {}
        return [Request(_S3_BUCKET_ACTIONS[operation], f"arn:aws:s3:::{bucket}", context)]
    if operation == "DeleteObjects":
        return [Request("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o['Key']}")
                for o in params.get("Delete", {}).get("Objects", [])]
    if operation == "CopyObject":
        source = params["CopySource"]
        source = f"{source['Bucket']}/{source['Key']}" if isinstance(source, dict) else str(source).lstrip("/")
        return [Request("s3:GetObject", f"arn:aws:s3:::{source}"),
                Request("s3:PutObject", f"arn:aws:s3:::{bucket}/{params['Key']}")]
    action = _S3_OBJECT_ACTIONS.get(operation)
    if action is None:
        return [Request(f"s3:{operation}", f"arn:aws:s3:::{bucket}" + (f"/{params['Key']}" if "Key" in params else ""))]
    found = [Request(action, f"arn:aws:s3:::{bucket}/{params['Key']}")]
    key = bucket_keys(bucket)
    if key:
        found.extend(Request(kms_action, key) for kms_action in _KMS_FOR.get(operation, ()))
    return found


# ---- the botocore hook ----

@dataclass
class Enforcer:
    """Refuses, as AWS would, every call `statements` do not allow; `denied` lists what was refused."""

    principal: str  # the role's ARN, for the error message
    statements: list[Statement]
    region: str
    account: str
    bucket_keys: Callable[[str], str | None] = lambda bucket: None
    denied: list[str] = field(default_factory=list)
    on_denied: Callable[[str], None] = lambda line: None

    def __call__(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        service = model.service_model.signing_name
        for request in requests_for(service, model.name, params, self.region, self.account, self.bucket_keys):
            if allows(self.statements, request):
                continue
            line = f"{self.principal} {request.action} {request.resource}"
            self.denied.append(line)
            self.on_denied(line)
            code = "AccessDenied" if service == "s3" else "AccessDeniedException"
            role = self.principal.rsplit("/", 1)[-1]
            raise ClientError(
                {"Error": {"Code": code, "Message": (
                    f"User: arn:aws:sts::{self.account}:assumed-role/{role}/session is not authorized to perform: "
                    f"{request.action} on resource: {request.resource} because no identity-based policy allows the "
                    f"{request.action} action")},
                 "ResponseMetadata": {"HTTPStatusCode": 403}},
                model.name,
            )

    def install(self, events: Any) -> None:
        """On one session's or client's event system: before the request is built, after botocore validated it."""
        events.register("before-parameter-build", self)


def install_globally(enforcer: Enforcer) -> None:
    """On every botocore session created from now on (the job container's entry point uses this)."""
    import botocore.handlers

    botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", enforcer))


def enforcer_from_environment(environ: dict[str, str], variable: str) -> Enforcer:
    """The container side: the role's statements travel as JSON in one environment variable."""
    spec = json.loads(environ[variable])

    def report(line: str) -> None:
        print(f"{DENIED_MARKER}{line}", file=sys.stderr, flush=True)

    keys = spec.get("bucket_keys", {})
    return Enforcer(spec["principal"], spec["statements"], spec["region"], spec["account"],
                    bucket_keys=keys.get, on_denied=report)


def denied_lines(output: str) -> list[str]:
    return [line.split(DENIED_MARKER, 1)[1] for line in output.splitlines() if DENIED_MARKER in line]

