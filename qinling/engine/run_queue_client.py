"""qinling-api's side of the run queue (``engine.run_queue``).

Each request thread has a connection of its own to the bus: it publishes a
sync execution to the run queue and reads the engine's answer itself, from
RabbitMQ's direct reply-to, without a hand-off between threads.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import kombu

from qinling import exceptions
from qinling.context import RequestContext
from qinling.engine.invoker import RecordingEngine
from qinling.engine.run_queue import BUS_ERRORS, REPLY_TO, Connect

LOG = logging.getLogger(__name__)

UNANSWERED = "{} Execution {} is recorded: GET /v1/executions/{} shows how it ended."


class _Line:
    """One thread's connection: sends runs and reads their answers."""

    def __init__(self, connection: kombu.Connection, queue_name: str) -> None:
        self.connection = connection
        self._queue_name = queue_name
        channel = connection.channel()
        self._replies: dict[str, Any] = {}
        self._returned: set[str] = set()
        self._producer = kombu.Producer(channel, on_return=self._on_return)
        consumer = kombu.Consumer(
            channel,
            [kombu.Queue(REPLY_TO, no_ack=True)],
            no_ack=True,
            callbacks=[self._on_reply],
            accept=["json"],
        )
        consumer.consume()

    def _on_return(self, exception, exchange, routing_key, message) -> None:
        self._returned.add(message.properties.get("correlation_id"))

    def _on_reply(self, body: Any, message: kombu.Message) -> None:
        self._replies[message.properties.get("correlation_id")] = body

    def send(self, body: dict[str, Any], correlation_id: str, ttl: float) -> None:
        """Publish; raises BUS_ERRORS, before anything is sent, on a
        connection the broker has closed."""
        self._discard_stale()
        self._producer.publish(
            body,
            routing_key=self._queue_name,
            reply_to=REPLY_TO,
            correlation_id=correlation_id,
            mandatory=True,  # comes back when no engine consumes the queue
            expiration=ttl,  # not taken by then: dropped, not run late
            serializer="json",
            retry=False,
        )

    def wait(self, correlation_id: str, deadline: float) -> dict[str, Any] | None:
        """The answer; None when the message came back unrouted. Raises
        TimeoutError at ``deadline``."""
        while True:
            if correlation_id in self._replies:
                return self._replies.pop(correlation_id)
            if correlation_id in self._returned:
                self._returned.discard(correlation_id)
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            try:
                self.connection.drain_events(timeout=left)
            except TimeoutError:
                pass

    def _discard_stale(self) -> None:
        # Answers to calls that gave up waiting; reading also finds a
        # connection the broker closed (a restart) before we publish on it.
        self._replies.clear()
        self._returned.clear()
        try:
            while True:
                self.connection.drain_events(timeout=0)
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self.connection.release()
        except BUS_ERRORS:
            pass


class RunQueueClient:
    """``run_recorded`` over the run queue; over RPC (``fallback``) while no
    engine consumes the queue, or the bus cannot be reached to send."""

    def __init__(
        self, connect: Connect, queue_name: str, fallback: RecordingEngine, *, margin: int
    ) -> None:
        self._connect = connect
        self._queue_name = queue_name
        self._fallback = fallback
        self._margin = margin
        self._local = threading.local()
        self._lines: list[_Line] = []
        self._lock = threading.Lock()

    def run_recorded(
        self,
        ctx: RequestContext,
        execution: dict[str, Any],
        spec: dict[str, Any],
        request: dict[str, Any],
        *,
        timeout: int,
    ) -> dict[str, Any] | None:
        execution_id = execution["id"]
        body = {"context": ctx.to_dict(), "execution": execution, "spec": spec, "request": request}
        ttl = timeout + self._margin
        correlation_id = uuid.uuid4().hex
        try:
            line = self._send(body, correlation_id, ttl)
        except BUS_ERRORS as err:
            LOG.warning("Run queue unreachable (%s); execution %s goes over RPC", err, execution_id)
            return self._fallback.run_recorded(ctx, execution, spec, request, timeout=timeout)
        reply = self._answer(line, correlation_id, ttl, execution_id)
        if reply is None:
            LOG.debug("No engine consumes the run queue; execution %s goes over RPC", execution_id)
            return self._fallback.run_recorded(ctx, execution, spec, request, timeout=timeout)
        if "error" in reply:
            raise _rebuilt(reply["error"], execution_id)
        return reply.get("outcome")

    def _send(self, body: dict[str, Any], correlation_id: str, ttl: float) -> _Line:
        """Publish on this thread's line, on a new one if it was broken."""
        line = self._line()
        try:
            line.send(body, correlation_id, ttl)
            return line
        except BUS_ERRORS:
            self._drop(line)
        line = self._line()
        line.send(body, correlation_id, ttl)
        return line

    def _answer(
        self, line: _Line, correlation_id: str, ttl: float, execution_id: str
    ) -> dict[str, Any] | None:
        try:
            return line.wait(correlation_id, time.monotonic() + ttl)
        except TimeoutError:
            reason = "The engine did not answer in time."
        except BUS_ERRORS as err:
            self._drop(line)
            reason = f"The connection to the bus was lost while the engine ran it: {err}."
        raise exceptions.ServiceUnavailable(UNANSWERED.format(reason, execution_id, execution_id))

    def _line(self) -> _Line:
        line = getattr(self._local, "line", None)
        if line is None:
            line = _Line(self._connect(), self._queue_name)
            self._local.line = line
            with self._lock:
                self._lines.append(line)
        return line

    def _drop(self, line: _Line) -> None:
        self._local.line = None
        with self._lock:
            if line in self._lines:
                self._lines.remove(line)
        line.close()

    def close(self) -> None:
        with self._lock:
            lines, self._lines = self._lines, []
        for line in lines:
            line.close()


def _rebuilt(error: Any, execution_id: str) -> exceptions.QinlingError:
    rebuilt = exceptions.from_wire(error)
    if isinstance(rebuilt, exceptions.ServiceUnavailable):
        message = UNANSWERED.format(rebuilt.message, execution_id, execution_id)
        return exceptions.ServiceUnavailable(message)
    return rebuilt
