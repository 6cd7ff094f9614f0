"""The driver's view of its configuration, read once from oslo.config."""

from __future__ import annotations

import dataclasses
import os

from oslo_config import cfg

from qinling.orchestrator.local import runtimes


@dataclasses.dataclass(frozen=True)
class Settings:
    work_dir: str
    runtimes_dir: str
    unsafe_development_mode: bool = False
    allow_egress: bool = False
    uid_range_start: int = 2000000
    uid_range_size: int = 65536
    max_workers: int = 200
    spare_workers: int = 2
    tmp_size: int = 64 * 1024 * 1024
    max_pids: int = 64
    max_open_files: int = 1024
    max_queued_executions: int = 100
    queue_wait_timeout: float = 30.0
    worker_start_timeout: float = 20.0
    max_output_size: int = 1024 * 1024
    max_log_size: int = 1024 * 1024
    max_package_size: int = 200 * 1024 * 1024
    max_package_files: int = 20000

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> Settings:
        group = conf.sandbox
        fields = {f.name for f in dataclasses.fields(cls)} - {"work_dir", "runtimes_dir"}
        return cls(
            work_dir=group.work_dir or os.path.join(conf.state_dir, "sandbox"),
            runtimes_dir=group.runtimes_dir or runtimes.default_runtimes_dir(),
            **{name: getattr(group, name) for name in fields},
        )
