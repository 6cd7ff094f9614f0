from __future__ import annotations

import socket

from oslo_config import cfg

GROUP = "engine"

OPTS = [
    cfg.StrOpt(
        "host",
        default=socket.gethostname(),
        sample_default="<host name>",
        help="Name of this engine on the RPC bus and in execution records.",
    ),
    cfg.StrOpt("topic", default="qinling_engine", help="RPC topic the engines listen on."),
    cfg.StrOpt(
        "data_socket",
        default="",
        help="Unix socket on which the engine serves API processes of its own "
        "host, without the message bus. qinling-server uses <state_dir>/engine.sock "
        "when [api] processes > 1. Set it for qinling-engine and qinling-api on one "
        "host and qinling-api runs sync executions through it (the rest still "
        "goes over RPC). Empty: no data socket (qinling-engine, qinling-api).",
    ),
    cfg.BoolOpt(
        "run_queue",
        default=True,
        help="Where [DEFAULT] transport_url is RabbitMQ (rabbit://): engines "
        "consume the sync executions of qinling-api from the queue "
        "'<topic>.runs', each consumer on a connection of its own, and "
        "qinling-api waits for the answer on RabbitMQ's direct reply-to, "
        "instead of as oslo.messaging calls (measured: about 1 ms less per "
        "execution). qinling-api uses RPC while no engine consumes the queue "
        "(engines of an older release, or with this off). Everything else "
        "goes over RPC either way.",
    ),
    cfg.StrOpt(
        "orchestrator",
        default="local",
        help="Orchestrator driver that runs functions, by its entry point name "
        "in the 'qinling.orchestrator' namespace: 'local' (sandboxed processes "
        "on this host), 'kubernetes', or 'fake' (tests only: runs nothing).",
    ),
    cfg.IntOpt(
        "function_service_expiration",
        default=300,
        min=1,
        help="Seconds a warm worker may stay idle before it is stopped.",
    ),
    cfg.IntOpt(
        "function_concurrency",
        default=10,
        min=1,
        help="Default for a function's concurrency limit: how many workers one "
        "function version may have at once. A function may set its own.",
    ),
    cfg.IntOpt(
        "max_function_concurrency",
        default=100,
        min=1,
        help="Largest concurrency limit a function may ask for.",
    ),
    cfg.IntOpt(
        "execution_threads",
        default=64,
        min=1,
        help="Executions one engine runs at once; more wait in its queue.",
    ),
    cfg.IntOpt(
        "periodic_interval",
        default=10,
        min=1,
        help="Seconds between the engine's periodic tasks (idle reaping, stuck executions).",
    ),
    cfg.IntOpt(
        "job_check_interval",
        default=2,
        min=1,
        help="Seconds between checks for due cron jobs.",
    ),
    cfg.IntOpt(
        "pickup_timeout",
        default=30,
        min=1,
        help="Seconds an accepted execution may wait for an engine to start it. "
        "After that any engine runs it: its RPC message was lost.",
    ),
    cfg.IntOpt(
        "execution_grace",
        default=60,
        min=1,
        help="Seconds beyond a function's timeout after which a running execution "
        "whose engine no longer reports is ended in 'error'. Each engine needs its "
        "own [engine] host for this to be safe.",
    ),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=60,
        min=0,
        help="Seconds a stopping engine (SIGTERM) waits for the executions it is "
        "running to finish. It stops taking new ones at once; accepted executions it "
        "has not started are left for another engine (see pickup_timeout). What is "
        "still running at the deadline is killed and ends in 'error' with a message. "
        "qinling-server and qinling-api give HTTP requests in flight (a synchronous "
        "execution holds its request) the same time to finish.",
    ),
    cfg.IntOpt(
        "execution_retention",
        default=30,
        min=0,
        help="Days finished executions (with their logs and results) are kept; "
        "older ones are deleted by the engine. 0 keeps them forever.",
    ),
    cfg.IntOpt(
        "max_versions",
        default=1000,
        min=1,
        help="Most versions one function may have.",
    ),
]
