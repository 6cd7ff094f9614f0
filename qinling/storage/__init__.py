"""Function package stores, loaded by name from ``qinling.storage``."""

from __future__ import annotations

from stevedore import driver

from qinling.storage.base import PackageStore, StoredPackage

__all__ = ["PackageStore", "StoredPackage", "load"]


def load(conf) -> PackageStore:
    manager = driver.DriverManager(
        "qinling.storage", conf.storage.provider, invoke_on_load=True, invoke_args=(conf,)
    )
    return manager.driver
