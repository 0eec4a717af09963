"""All three Personalize APIs behind one handler: what local mode (`tailor serve`, the pytest fixture) runs, where
one process answers everything. A deployment routes each API to its own function instead (tailor.handlers.api)."""

from __future__ import annotations

from tailor.handlers.api import handler_for
from tailor.protocol.model import SERVICES

lambda_handler = handler_for(*SERVICES)
