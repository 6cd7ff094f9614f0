from __future__ import annotations

from oslo_config import cfg

GROUP = "api"

# [api] processes = 0: sized to the host (see ``process_count``).
AUTO_PROCESSES = 0
MAX_AUTO_PROCESSES = 9

OPTS = [
    cfg.HostAddressOpt("host", default="0.0.0.0", help="Address the API listens on."),
    cfg.PortOpt("port", default=7070, help="Port the API listens on."),
    cfg.IntOpt(
        "api_workers",
        default=64,
        min=1,
        help="Threads serving API requests in qinling-api and qinling-server. A "
        "synchronous execution holds its thread until the function returns, so "
        "this bounds how many sync executions run at once through one process.",
    ),
    cfg.IntOpt(
        "processes",
        default=AUTO_PROCESSES,
        min=0,
        max=64,
        help="Processes serving the API in qinling-server. With 1 the API runs in "
        "the engine's process. With more, the others share the port "
        "(SO_REUSEPORT) and reach the engine over its data socket ([engine] "
        "data_socket): Python runs one thread at a time per process, so this is "
        "how qinling-server uses more than one core. Each has [api] api_workers "
        "threads and costs about 80 MiB. 0 (the default): one more than the "
        "CPUs this process may use (its affinity, and its cgroup's CPU quota), at most "
        f"{MAX_AUTO_PROCESSES}, and 1 on a single core (measured on 2 cores: 3 "
        "processes serve 1.7-2 times the executions per second of 1). Set "
        "1 where memory counts more than throughput, or where a database's "
        "connections are few: each process has its own pool.",
    ),
    cfg.BoolOpt(
        "worker_leases",
        default=True,
        help="With [api] processes > 1 (or qinling-api beside its engine over "
        "[engine] data_socket): the engine lends a warm worker to the API "
        "process whose execution it ran, and that process runs the same "
        "function version's next executions on the worker itself, without "
        "crossing the engine's data socket (measured: about 0.26 ms of CPU "
        "less per execution). A lent worker idle for a second, or lent for "
        "ten, goes back to the engine, which also recalls it when an "
        "execution waits for a worker. Set it on the engine to stop lending.",
    ),
    cfg.URIOpt(
        "public_url",
        help="Base URL clients use to reach the API (used in webhook_url and "
        "pagination links). Defaults to the URL of each request.",
    ),
    cfg.IntOpt(
        "max_limit",
        default=1000,
        min=1,
        help="Largest page size a list request may ask for with 'limit'.",
    ),
    cfg.IntOpt(
        "max_request_body_size",
        default=1048576,
        min=1024,
        help="Largest JSON request body, in bytes. Package uploads are bounded "
        "by [storage] max_package_size instead.",
    ),
    cfg.IntOpt(
        "sync_execution_margin",
        default=30,
        min=1,
        help="Seconds a synchronous execution request waits beyond the "
        "function's own timeout before giving up with 504.",
    ),
    cfg.FloatOpt(
        "sync_execution_write_after",
        default=0.5,
        min=0,
        help="Seconds a synchronous execution runs before it is written to "
        "the database as running. One that ends sooner is written once, as it "
        "ended: one database write instead of two (three in qinling-api over "
        "RPC, where the engine that runs it writes it). Until it is written an "
        "execution is not listed and cannot be cancelled, and if the process "
        "holding it dies nothing of it is recorded (its caller's request "
        "fails). 0 writes every synchronous execution before it starts.",
    ),
    cfg.BoolOpt(
        "batch_scheduling",
        default=True,
        help="Run the threads that serve the API under the kernel's SCHED_BATCH "
        "policy (Linux): a request thread woken by its socket then waits for "
        "the CPU's current task to use up its slice instead of preempting it. "
        "Under load most of those wake-ups preempted another of the process's "
        "threads only to wait for the GIL it held (measured at 32 concurrent "
        "clients on 2 cores: 8.6 context switches per execution instead of "
        "12.9, about 4% less CPU per execution). Their share of the CPU is "
        "the same. Functions' workers keep the normal policy. It applies to "
        "qinling-server and qinling-api, not under uWSGI or mod_wsgi, whose "
        "threads are theirs. Set it to false to leave the threads' policy alone.",
    ),
    cfg.FloatOpt(
        "gate_stuck_after",
        default=30.0,
        min=0,
        help="Seconds after which an API process logs every thread's stack, at "
        "ERROR, when one request has held its work gate all along (it holds it "
        "only while running Python between two waits: milliseconds). Such a "
        "process is almost surely deadlocked and answers no more execution "
        "requests. 0: not watched.",
    ),
]


def process_count(configured: int, cpus: int) -> int:
    """``[api] processes`` as qinling-server runs it on ``cpus`` CPUs
    (``qinling.host_cpus.usable``): ``AUTO_PROCESSES`` resolved to one
    process per CPU plus the engine's own."""
    if configured != AUTO_PROCESSES:
        return configured
    return 1 if cpus < 2 else min(cpus + 1, MAX_AUTO_PROCESSES)
