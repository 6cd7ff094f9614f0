"""Orchestrator drivers, loaded by name from ``qinling.orchestrator``."""

from __future__ import annotations

from stevedore import driver

from qinling.orchestrator.base import Orchestrator

__all__ = ["Orchestrator", "load"]


def load(conf, name: str | None = None) -> Orchestrator:
    manager = driver.DriverManager(
        "qinling.orchestrator",
        name or conf.engine.orchestrator,
        invoke_on_load=True,
        invoke_args=(conf,),
    )
    return manager.driver
