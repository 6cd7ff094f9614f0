from __future__ import annotations

from oslo_config import cfg

GROUP = "storage"

OPTS = [
    cfg.StrOpt(
        "provider",
        default="local",
        help="Package store, by its entry point name in 'qinling.storage'.",
    ),
    cfg.StrOpt(
        "file_system_dir",
        help="Directory of the local package store. Unset: 'packages' in [DEFAULT] state_dir.",
    ),
    cfg.IntOpt(
        "max_package_size",
        default=50 * 1024 * 1024,
        min=1,
        help="Largest function package in bytes. Uploads are refused with 413 "
        "as soon as they pass this size.",
    ),
    cfg.IntOpt(
        "max_extracted_size",
        default=512 * 1024 * 1024,
        min=1,
        help="Largest size in bytes a function package may have once extracted "
        "(the sum of its members' sizes). Uploads over it are refused with 400; "
        "this stops zip bombs.",
    ),
    cfg.IntOpt(
        "max_package_files",
        default=10000,
        min=1,
        help="Most members (files and directories) a function package may hold. "
        "Uploads with more are refused with 400.",
    ),
]
