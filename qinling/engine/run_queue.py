"""Sync executions of qinling-api, taken by engines from a queue on RabbitMQ.

An oslo.messaging call hands the message from a listener thread to a worker
thread at each end and waits for the broker to confirm the publish: about
1.8 ms a round trip on the 2-core VMs of ``bench/``, against 1.0 ms for the
same round trip over kombu with RabbitMQ's direct reply-to, where the thread
that waits is the one that reads. So ``qinling-api`` sends a sync execution
(``EngineManager.run_recorded``) as one message to the queue
``<[engine] topic>.runs`` of the bus of ``[DEFAULT] transport_url``, and
waits on its own connection for the answer (``run_queue_client``); each
consumer here owns its connection, takes one message at a time and runs it
itself. Everything else still goes over oslo.messaging.

Delivery is at most once, as an RPC call's: a message that comes back
(``redelivered``: the engine that took it lost its connection, or died,
perhaps after running it) is answered with an error, not run again. The
queue is not durable and is deleted with its last consumer, so that
qinling-api's publish comes back at once while no engine consumes it (it
then uses RPC) instead of waiting for an engine that is gone.

No AMQP heartbeats: a consumer runs what it takes on its own thread and
could not answer them during a long run. py-amqp's TCP keepalive (a probe
after 60 s of silence, nine 10 s apart) finds a peer that is gone.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import amqp.exceptions
import kombu
import kombu.exceptions
import oslo_messaging as messaging

from qinling import exceptions, rpc
from qinling.context import RequestContext

LOG = logging.getLogger(__name__)

REPLY_TO = "amq.rabbitmq.reply-to"  # RabbitMQ's direct reply-to: no queue to declare
# Consumers each engine keeps however idle; more start while all are busy.
MIN_CONSUMERS = 2
# A consumer beyond MIN_CONSUMERS idle this long stops.
IDLE_CONSUMER_SECONDS = 60.0
# How often an idle consumer looks whether the engine is stopping.
POLL_SECONDS = 1.0
RECONNECT_SECONDS = (0.5, 1, 2, 5)
REDELIVERED = (
    "The engine that took execution {} lost its connection to the bus before it "
    "answered; it may or may not have run."
)

# What a lost or refused connection to the bus raises, through kombu or py-amqp.
BUS_ERRORS = (OSError, amqp.exceptions.AMQPError, kombu.exceptions.KombuError)

Connect = Callable[[], kombu.Connection]
RunRecorded = Callable[
    [RequestContext, dict[str, Any], dict[str, Any], dict[str, Any]], dict[str, Any] | None
]


def queue_name(conf) -> str:
    return f"{conf.engine.topic}.runs"


def queue(name: str) -> kombu.Queue:
    """The run queue, bound to the default exchange by its name."""
    return kombu.Queue(name, durable=False, auto_delete=True)


def connector(conf) -> Connect | None:
    """Connections to the bus of ``[DEFAULT] transport_url``, or None where
    the run queue is off or the bus is not RabbitMQ (``rabbit://``)."""
    if not conf.engine.run_queue:
        return None
    rpc.register_messaging_opts(conf)
    url = messaging.TransportURL.parse(conf, conf.transport_url)
    if url.transport != "rabbit" or not url.hosts:
        return None
    brokers = addresses(url)
    options = ssl_options(conf.oslo_messaging_rabbit)

    def connect() -> kombu.Connection:
        connection = kombu.Connection(
            ";".join(brokers), ssl=options, connect_timeout=5, failover_strategy="round-robin"
        )
        # Each broker once, without kombu's pause of 2 s between tries: a
        # caller falls back to RPC, a consumer retries on its own schedule.
        connection.ensure_connection(
            max_retries=len(brokers) - 1, interval_start=0, interval_step=0
        )
        return connection

    return connect


def addresses(url: messaging.TransportURL) -> list[str]:
    """kombu's URL of each broker of a ``rabbit://`` transport URL."""
    return [
        kombu.Connection(
            hostname=host.hostname,
            port=host.port or 5672,
            userid=host.username or "guest",
            password=host.password or "guest",
            virtual_host=url.virtual_host or "/",
        ).as_uri(include_password=True)
        for host in url.hosts
    ]


def ssl_options(rabbit) -> dict[str, Any] | bool:
    """kombu's form of ``[oslo_messaging_rabbit] ssl*``, as oslo.messaging's
    rabbit driver builds it for its own connections."""
    if not rabbit.ssl:
        return False
    options: dict[str, Any] = {}
    if rabbit.ssl_key_file:
        options["keyfile"] = rabbit.ssl_key_file
    if rabbit.ssl_cert_file:
        options["certfile"] = rabbit.ssl_cert_file
    if rabbit.ssl_ca_file:
        options |= {"ca_certs": rabbit.ssl_ca_file, "cert_reqs": ssl.CERT_REQUIRED}
    return options or True


class RunQueueServer:
    """Consumer threads of the run queue, each with its own connection.

    ``handle``: the engine's ``Gate.run_recorded``. At least MIN_CONSUMERS
    consume; when every one is running an execution another starts, up to
    ``max_consumers`` (``[engine] execution_threads``), and one idle for
    IDLE_CONSUMER_SECONDS stops again.
    """

    def __init__(
        self, connect: Connect, handle: RunRecorded, name: str, *, max_consumers: int
    ) -> None:
        self._connect = connect
        self._handle = handle
        self._queue = queue(name)
        self._max = max(max_consumers, MIN_CONSUMERS)
        self._lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._busy = 0
        self._stopping = threading.Event()

    def start(self) -> None:
        with self._lock:
            for _ in range(MIN_CONSUMERS):
                self._add_consumer()
        LOG.info("Engine consuming sync executions from queue %s", self._queue.name)

    def close(self) -> None:
        """Take no more messages; each consumer stops within POLL_SECONDS,
        or once the execution it runs has ended."""
        self._stopping.set()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def consumers(self) -> int:
        return len(self._threads)

    def _add_consumer(self) -> None:
        thread = threading.Thread(target=self._consume, name="run-queue", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _consume(self) -> None:
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    with self._connect() as connection:
                        failures = 0
                        self._serve(connection)
                        return
                except BUS_ERRORS as err:
                    LOG.warning("Run queue consumer lost the bus: %s", err)
                except Exception:  # a consumer that ended here would go unnoticed
                    LOG.exception("Run queue consumer failed")
                pause = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                self._stopping.wait(pause)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _serve(self, connection: kombu.Connection) -> None:
        """Consume until the engine stops or this consumer is not needed."""
        channel = connection.channel()
        channel.basic_qos(0, 1, False)  # one at a time: it runs what it takes
        replies = kombu.Producer(channel)
        consumer = kombu.Consumer(
            channel,
            [self._queue],
            callbacks=[lambda body, message: self._on_message(replies, body, message)],
            accept=["json"],
        )
        consumer.consume()
        idle_since = time.monotonic()
        while not self._stopping.is_set():
            try:
                connection.drain_events(timeout=POLL_SECONDS)
                idle_since = time.monotonic()
            except TimeoutError:
                if time.monotonic() - idle_since >= IDLE_CONSUMER_SECONDS and self._retire():
                    break
        consumer.cancel()

    def _retire(self) -> bool:
        with self._lock:
            if len(self._threads) > MIN_CONSUMERS:
                self._threads.discard(threading.current_thread())
                return True
            return False

    def _on_message(self, replies: kombu.Producer, body: Any, message: kombu.Message) -> None:
        reply_to = message.properties.get("reply_to")
        self._begin()
        try:
            reply = self._reply(body, message)
        finally:
            self._end()
        if reply_to:
            self._answer(replies, reply, reply_to, message.properties.get("correlation_id"))
        else:
            LOG.warning("Run queue message without reply_to dropped")
        message.ack()

    @staticmethod
    def _answer(replies: kombu.Producer, reply: dict, reply_to: str, correlation_id) -> None:
        try:
            body = json.dumps(reply)
        except (TypeError, ValueError) as err:  # not the bus's fault: no reconnect
            LOG.error("Run queue answer not JSON (%s); answering with an error", err)
            failure = exceptions.QinlingError("The engine could not encode the outcome.")
            body = json.dumps(exceptions.to_wire(failure))
        replies.publish(
            body,
            routing_key=reply_to,
            correlation_id=correlation_id,
            content_type="application/json",
            content_encoding="utf-8",
            retry=False,
        )

    def _begin(self) -> None:
        with self._lock:
            self._busy += 1
            grow = self._busy >= len(self._threads) and len(self._threads) < self._max
            if grow and not self._stopping.is_set():
                self._add_consumer()

    def _end(self) -> None:
        with self._lock:
            self._busy -= 1

    def _reply(self, body: Any, message: kombu.Message) -> dict[str, Any]:
        if not _well_formed(body):
            return exceptions.to_wire(exceptions.InputError("Malformed run queue message."))
        execution_id = body["execution"].get("id")
        if message.delivery_info.get("redelivered"):
            LOG.warning("Execution %s came back from the bus; not running it again", execution_id)
            gone = exceptions.ServiceUnavailable(REDELIVERED.format(execution_id))
            return exceptions.to_wire(gone)
        try:
            ctx = RequestContext.from_dict(body["context"])
            outcome = self._handle(ctx, body["execution"], body["spec"], body["request"])
        except exceptions.QinlingError as err:
            return exceptions.to_wire(err)
        except Exception as err:
            LOG.exception("Execution %s failed in the engine", execution_id)
            failure = exceptions.QinlingError(f"The engine failed: {type(err).__name__}")
            return exceptions.to_wire(failure)
        return {"outcome": outcome}


def _well_formed(body: Any) -> bool:
    return isinstance(body, dict) and all(
        isinstance(body.get(key), dict) for key in ("context", "execution", "spec", "request")
    )
