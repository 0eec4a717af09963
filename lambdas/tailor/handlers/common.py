"""The Service the handlers use: built from the environment once per warm container, or injected (local mode)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from tailor.service import Service

_service: Service | None = None
# One invocation's own Service, where one process hosts several functions at once (the deployed-topology tests run
# each function with its own environment and role); it wins over the process-wide one for that thread only.
_invocation: ContextVar[Service | None] = ContextVar("tailor_invocation_service", default=None)


def use_service(service: Service | None) -> None:
    """Run the handlers against a given Service (local mode, tests); None goes back to the environment."""
    global _service
    _service = service


@contextmanager
def serving(service: Service) -> Iterator[Service]:
    """Handlers called inside this block (on this thread) use `service`."""
    token = _invocation.set(service)
    try:
        yield service
    finally:
        _invocation.reset(token)


def service() -> Service:
    global _service
    scoped = _invocation.get()
    if scoped is not None:
        return scoped
    if _service is None:
        from tailor.adapters.env import build_service

        _service = build_service()
    return _service
