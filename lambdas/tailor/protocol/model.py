"""botocore's shipped service models as the contract: lookup, validation beyond botocore's, projection."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StringShape, StructureShape
from botocore.validate import ParamValidator

from tailor.errors import InvalidInputException

SERVICES = ("personalize", "personalize-runtime", "personalize-events")
# The restJson1 ones (the control plane is awsJson): routing a REST path never loads the control plane's model, which
# the runtime and events Lambdas would otherwise parse at every cold start for nothing.
REST_SERVICES = ("personalize-runtime", "personalize-events")


@cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


@cache
def operation_model(service: str, operation: str) -> OperationModel | None:
    model = service_model(service)
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation)


@cache
def rest_routes() -> dict[tuple[str, str], tuple[str, str]]:
    """(method, path) -> (service, operation) for the restJson1 services."""
    routes: dict[tuple[str, str], tuple[str, str]] = {}
    for service in REST_SERVICES:
        model = service_model(service)
        for name in model.operation_names:
            http = model.operation_model(name).http
            routes[(http["method"], http["requestUri"])] = (service, name)
    return routes


def _is_lzn(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LZN"


# Java's \p{...} classes have no equivalent in `re`; the two patterns that use them get a checker.
_JAVA_PATTERNS: dict[str, Callable[[str], bool]] = {
    r"\p{ASCII}{0,1500}": lambda s: len(s) <= 1500 and s.isascii(),
    r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$": lambda s: all(_is_lzn(c) or c in "_.:/=+-@" for c in s),
}


@cache
def _pattern_checker(pattern: str) -> Callable[[str], bool]:
    if pattern in _JAVA_PATTERNS:
        return _JAVA_PATTERNS[pattern]
    compiled = re.compile(pattern)
    # AWS validates the whole value (Java's Pattern.matches), not a prefix.
    return lambda s: compiled.fullmatch(s) is not None


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def _check_constraints(shape: Shape, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    if isinstance(shape, StructureShape):
        if isinstance(value, dict):
            for name, member in shape.members.items():
                if name in value and value[name] is not None:
                    _check_constraints(member, value[name], f"{path}.{name}" if path else name, problems)
        return
    if isinstance(shape, ListShape):
        if isinstance(value, list):
            if "max" in meta and len(value) > meta["max"]:
                problems.append(f"Value at '{path}' failed to satisfy constraint: "
                                f"Member must have length less than or equal to {meta['max']}")
            for i, item in enumerate(value):
                _check_constraints(shape.member, item, f"{path}.{i + 1}.member", problems)
        return
    if isinstance(shape, MapShape):
        if isinstance(value, dict):
            if "max" in meta and len(value) > meta["max"]:
                problems.append(f"Value at '{path}' failed to satisfy constraint: "
                                f"Member must have length less than or equal to {meta['max']}")
            for key, item in value.items():
                _check_constraints(shape.key, key, f"{path}.key", problems)
                _check_constraints(shape.value, item, f"{path}.{key}", problems)
        return
    if shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"Value '{_short(value)}' at '{path}' failed to satisfy constraint: "
                            f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"Value '{_short(value)}' at '{path}' failed to satisfy constraint: "
                            f"Member must have length greater than or equal to {meta['min']}")
        if "pattern" in meta and not _pattern_checker(meta["pattern"])(value):
            problems.append(f"Value '{_short(value)}' at '{path}' failed to satisfy constraint: "
                            f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if isinstance(shape, StringShape) and shape.enum and value not in shape.enum:
            problems.append(f"Value '{_short(value)}' at '{path}' failed to satisfy constraint: "
                            f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    elif shape.type_name in ("integer", "long", "float", "double") and isinstance(value, int | float):
        if "max" in meta and value > meta["max"]:
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                            f"Member must have value less than or equal to {meta['max']}")
        if "min" in meta and value < meta["min"]:
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                            f"Member must have value greater than or equal to {meta['min']}")


_VALIDATOR = ParamValidator()


def validate_input(op: OperationModel, params: dict[str, Any]) -> None:
    """botocore's own client-side checks, then the server-side ones botocore leaves to the service."""
    shape = op.input_shape
    if shape is None:
        if params:
            raise InvalidInputException(f"{op.name} takes no parameters")
        return
    try:
        report = _VALIDATOR.validate(params, shape)
    except (RuntimeError, OverflowError, ValueError, TypeError) as err:
        # botocore's timestamp parsing raises on values such as 1e20 instead of reporting them
        raise InvalidInputException(f"Invalid parameter value: {err}") from None
    if report.has_errors():
        raise InvalidInputException(report.generate_report())
    problems: list[str] = []
    _check_constraints(shape, params, "", problems)
    if problems:
        count = len(problems)
        raise InvalidInputException(
            f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems[:10])
        )


# Members a structure may carry beyond the model: Tailor's own additions (such as an import job's report of the rows
# it dropped). botocore's parsers read only modelled members, so stock clients never see them; raw JSON readers do.
EXTENSION_PREFIX = "tailor"


def project(shape: Shape | None, value: Any) -> Any:
    """Keep only what the shape models, and Tailor's extension members (so internal attributes can never leak onto
    the wire)."""
    if shape is None or value is None:
        return value
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            return value
        out = {}
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                out[name] = project(member, value[name])
        out.update((k, v) for k, v in value.items() if k.startswith(EXTENSION_PREFIX) and v is not None)
        return out
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [project(shape.member, v) for v in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: project(shape.value, v) for k, v in value.items()}
    return value


def shape(service: str, name: str) -> Shape:
    return service_model(service).shape_for(name)


def error_status(op: OperationModel | None, code: str) -> int | None:
    """The HTTP status the model gives an error on this operation, if it models it."""
    if op is None:
        return None
    for err in op.error_shapes:
        if err.name == code:
            status = err.metadata.get("error", {}).get("httpStatusCode")
            return int(status) if status else None
    return None
