"""Options of the local sandbox orchestrator ([sandbox])."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "sandbox"

OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "unsafe_development_mode",
        default=False,
        help="Run functions without isolation when the host cannot sandbox "
        "them (not root, no cgroups). NEVER on a host with more than one "
        "user: any function can read the service's files. The runtime pool "
        "reports a warning while this is in effect.",
    ),
    cfg.StrOpt(
        "work_dir",
        help="Directory of the local orchestrator's own files: extracted "
        "packages, the workers' common root, zygote logs. Emptied when the "
        "service stops. Unset: 'sandbox' in [DEFAULT] state_dir.",
    ),
    cfg.StrOpt(
        "runtimes_dir",
        help="Directory of the local runtime definitions (one subdirectory "
        "with a runtime.json per runtime). A runtime's image names one of "
        "them. Unset: the 'runtimes' directory shipped with Qinling.",
    ),
    cfg.BoolOpt(
        "allow_egress",
        default=False,
        help="Let functions use the host's network. When false every worker "
        "has its own network namespace with only a loopback interface, so a "
        "function can reach nothing outside itself, the host's 127.0.0.1 "
        "included.",
    ),
    cfg.IntOpt(
        "uid_range_start",
        default=2000000,
        min=1000,
        help="First uid (and gid) given to workers. Each live worker gets its "
        "own uid from [uid_range_start, uid_range_start + uid_range_size); "
        "make sure no user or file on the host owns one.",
    ),
    cfg.IntOpt(
        "uid_range_size",
        default=65536,
        min=1,
        help="How many uids workers may use; also the most workers at once.",
    ),
    cfg.IntOpt(
        "max_workers",
        default=200,
        min=1,
        help="Most workers on this host, all runtimes together. Beyond it an "
        "execution first evicts an idle worker of another function, then "
        "waits in its function's queue.",
    ),
    cfg.IntOpt(
        "spare_workers",
        default=2,
        min=0,
        help="Workers of each runtime kept started and sandboxed ahead of "
        "need, not yet given a function. A cold start attaches the function "
        "to one of them (milliseconds faster than forking and sandboxing a "
        "new one) and another is started in the background. Spares run no "
        "function code, use a worker uid each and a little memory, and do "
        "not count against max_workers. 0: every cold start forks its worker.",
    ),
    cfg.IntOpt(
        "tmp_size",
        default=64 * 1024 * 1024,
        min=1024 * 1024,
        help="Size in bytes of each worker's private writable /tmp (a tmpfs; "
        "what a function writes there also counts against its memory).",
    ),
    cfg.IntOpt(
        "max_pids",
        default=64,
        min=4,
        help="Most processes and threads a worker may have at once (the pids "
        "cgroup limit); stops fork bombs.",
    ),
    cfg.IntOpt(
        "max_open_files",
        default=1024,
        min=64,
        help="RLIMIT_NOFILE of a worker.",
    ),
    cfg.IntOpt(
        "max_queued_executions",
        default=100,
        min=0,
        help="Executions of one function version that may wait for a worker "
        "once it has as many workers as its concurrency limit allows. "
        "Beyond that an execution fails at once.",
    ),
    cfg.FloatOpt(
        "queue_wait_timeout",
        default=30.0,
        min=0,
        help="Seconds an execution may wait for a free worker before it fails.",
    ),
    cfg.FloatOpt(
        "worker_start_timeout",
        default=20.0,
        min=1,
        help="Seconds a new worker may take to start and load its function "
        "before the start counts as failed.",
    ),
    cfg.IntOpt(
        "max_output_size",
        default=1024 * 1024,
        min=1024,
        help="Largest function result in bytes (as JSON); a larger one is cut and a note says so.",
    ),
    cfg.IntOpt(
        "max_log_size",
        default=1024 * 1024,
        min=1024,
        help="Largest log (stdout and stderr) kept per execution in bytes; "
        "the rest is dropped and a note says so.",
    ),
    cfg.IntOpt(
        "max_package_size",
        default=200 * 1024 * 1024,
        min=1024,
        help="Largest size in bytes of a function package once extracted.",
    ),
    cfg.IntOpt(
        "max_package_files",
        default=20000,
        min=1,
        help="Most entries a function package may hold.",
    ),
]
