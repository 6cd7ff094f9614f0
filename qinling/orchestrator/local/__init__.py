"""The local sandbox orchestrator (``[engine] orchestrator = local``)."""

from __future__ import annotations

from qinling.orchestrator.local.driver import LocalOrchestrator

__all__ = ["LocalOrchestrator"]
