"""The operation table: each modelled operation maps to the function named its snake_case."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from tailor.operations import (
    batch_jobs,
    campaigns,
    catalog,
    data_jobs,
    dataset_groups,
    datasets,
    event_trackers,
    events,
    filters,
    import_jobs,
    metric_attributions,
    recommenders,
    runtime,
    schemas,
    solutions,
    tags,
)
from tailor.protocol import model

MODULES: dict[str, tuple[ModuleType, ...]] = {
    "personalize": (
        batch_jobs, campaigns, catalog, data_jobs, dataset_groups, datasets, event_trackers, filters, import_jobs,
        metric_attributions, recommenders, schemas, solutions, tags,
    ),
    "personalize-runtime": (runtime,),
    "personalize-events": (events,),
}


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def operation_table(
    services: Iterable[str] = model.SERVICES,
) -> dict[tuple[str, str], Callable[[Any, dict[str, Any]], dict[str, Any] | None]]:
    """The implemented operations of `services` (only their models are loaded)."""
    table = {}
    for service in services:
        modules = MODULES[service]
        for op_name in model.service_model(service).operation_names:
            func_name = snake_case(op_name)
            for module in modules:
                func = getattr(module, func_name, None)
                if func is not None:
                    table[(service, op_name)] = func
                    break
    return table
