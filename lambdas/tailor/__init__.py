"""Tailor: a self-hosted, wire-compatible Amazon Personalize."""

from __future__ import annotations

__version__ = "0.1.0"
