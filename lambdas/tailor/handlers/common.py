"""The Service the handlers use: built from the environment once per warm container, or injected (local mode)."""

from __future__ import annotations

from tailor.service import Service

_service: Service | None = None


def use_service(service: Service | None) -> None:
    """Run the handlers against a given Service (local mode, tests); None goes back to the environment."""
    global _service
    _service = service


def service() -> Service:
    global _service
    if _service is None:
        from tailor.adapters.env import build_service

        _service = build_service()
    return _service
