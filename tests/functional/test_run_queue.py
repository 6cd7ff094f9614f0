"""The run queue on the machine's RabbitMQ: qinling-api's sync executions
to engines and their answers back (``qinling.engine.run_queue``).

The engine's side runs a handler of the test's own in place of
``Gate.run_recorded``; each test has a vhost of its own.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator

import kombu
import pytest

from qinling import conf as qconf
from qinling import exceptions, rpc
from qinling.context import RequestContext
from qinling.engine import run_queue
from qinling.engine.run_queue import RunQueueServer
from qinling.engine.run_queue_client import RunQueueClient
from tests import processes

CTX = RequestContext(project_id="project-a", user_id="user-a", request_id="req-1")
SPEC = {"function_id": "f-1", "version": 0}
REQUEST = {"execution_id": "e-1", "input": {"name": "q"}}


def _config(transport_url: str):
    conf = qconf.new_config([])
    rpc.register_messaging_opts(conf)
    conf.set_override("transport_url", transport_url)
    return conf


def _execution(execution_id: str = "e-1") -> dict:
    return {"id": execution_id, "function_id": "f-1"}


class Handler:
    """Stands for the engine: records what it was asked, answers ``answer``."""

    def __init__(self, answer=None) -> None:
        self.answer = answer or (lambda execution: {"status": "success", "id": execution["id"]})
        self.calls: list[tuple] = []
        self._lock = threading.Lock()

    def __call__(self, ctx, execution, spec, request):
        with self._lock:
            self.calls.append((ctx, execution, spec, request))
        return self.answer(execution)


class Fallback:
    """Stands for the RPC client."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def run_recorded(self, ctx, execution, spec, request, *, timeout):
        self.calls.append(execution["id"])
        return {"status": "success", "via": "rpc"}


@pytest.fixture
def bus() -> Iterator[dict]:
    with processes.rabbitmq_vhost() as transport_url:
        conf = _config(transport_url)
        connect = run_queue.connector(conf)
        assert connect is not None
        yield {"conf": conf, "connect": connect, "vhost": transport_url.rsplit("/", 1)[1]}


@pytest.fixture
def served(bus) -> Iterator[dict]:
    """A RunQueueServer with a Handler, a RunQueueClient with a Fallback."""
    handler, fallback = Handler(), Fallback()
    name = run_queue.queue_name(bus["conf"])
    server = RunQueueServer(bus["connect"], handler, name, max_consumers=8)
    client = RunQueueClient(bus["connect"], name, fallback, margin=5)
    server.start()
    _wait_consumers(bus, run_queue.MIN_CONSUMERS)
    try:
        yield {"server": server, "client": client, "handler": handler, "fallback": fallback}
    finally:
        client.close()
        server.close()
        server.join(10)


def _consumers(bus) -> int:
    listed = subprocess.run(
        ["rabbitmqctl", "list_queues", "-q", "-p", bus["vhost"], "name", "consumers"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for line in listed.splitlines():
        fields = line.split()
        if fields and fields[0] == run_queue.queue_name(bus["conf"]):
            return int(fields[1])
    return 0


def _wait_consumers(bus, count: int) -> None:
    processes.wait_for(lambda: _consumers(bus) >= count, what=f"{count} run queue consumers")


def _run(client, execution_id: str = "e-1", timeout: int = 30):
    return client.run_recorded(CTX, _execution(execution_id), SPEC, REQUEST, timeout=timeout)


def test_a_run_reaches_an_engine_and_its_answer_comes_back(served):
    outcome = _run(served["client"])

    assert outcome == {"status": "success", "id": "e-1"}
    ((ctx, execution, spec, request),) = served["handler"].calls
    assert (ctx.project_id, ctx.request_id) == ("project-a", "req-1")
    assert (execution, spec, request) == (_execution(), SPEC, REQUEST)
    assert served["fallback"].calls == []


def test_each_call_gets_its_own_answer(served):
    outcomes = [_run(served["client"], f"e-{n}") for n in range(20)]

    assert [o["id"] for o in outcomes] == [f"e-{n}" for n in range(20)]


def test_an_error_of_the_engine_comes_back_as_the_same_error(served):
    def refuse(execution):
        raise exceptions.NotFound("Function f-1 not found.")

    served["handler"].answer = refuse
    with pytest.raises(exceptions.NotFound, match="Function f-1 not found."):
        _run(served["client"])


def test_a_crash_in_the_engine_is_an_error_that_names_it(served):
    def crash(execution):
        raise RuntimeError("boom")

    served["handler"].answer = crash
    with pytest.raises(exceptions.QinlingError, match="The engine failed: RuntimeError"):
        _run(served["client"])


def test_without_a_consuming_engine_it_goes_over_rpc(bus):
    fallback = Fallback()
    client = RunQueueClient(bus["connect"], run_queue.queue_name(bus["conf"]), fallback, margin=5)
    try:
        assert _run(client) == {"status": "success", "via": "rpc"}
    finally:
        client.close()
    assert fallback.calls == ["e-1"]


def test_an_engine_that_stopped_leaves_its_runs_to_rpc(served, bus):
    served["server"].close()
    served["server"].join(10)
    processes.wait_for(lambda: _consumers(bus) == 0, what="the consumers to stop")

    assert _run(served["client"]) == {"status": "success", "via": "rpc"}
    assert served["handler"].calls == []


def test_an_answer_not_given_in_time_is_a_503_that_says_where_to_look(served):
    release = threading.Event()
    served["handler"].answer = lambda execution: release.wait(10) and None
    try:
        with pytest.raises(exceptions.ServiceUnavailable) as raised:
            served["client"].run_recorded(CTX, _execution("e-9"), SPEC, REQUEST, timeout=0)
    finally:
        release.set()
    assert "did not answer in time" in raised.value.message
    assert "is recorded: GET /v1/executions/e-9" in raised.value.message


def test_busy_consumers_bring_more_up_to_the_limit(served):
    release = threading.Event()
    served["handler"].answer = lambda execution: release.wait(30) and {"id": execution["id"]}
    results: dict[str, object] = {}

    def call(n: int) -> None:
        results[f"e-{n}"] = _run(served["client"], f"e-{n}")

    callers = [threading.Thread(target=call, args=(n,)) for n in range(5)]
    for caller in callers:
        caller.start()
    try:
        processes.wait_for(
            lambda: len(served["handler"].calls) == 5,
            what="five runs at once with two consumers to begin with",
        )
    finally:
        release.set()
        for caller in callers:
            caller.join(30)
    assert results == {f"e-{n}": {"id": f"e-{n}"} for n in range(5)}
    assert served["server"].consumers >= 5


def test_a_run_that_comes_back_from_the_bus_is_not_run_again(bus):
    """A message its first consumer took and never acknowledged (the engine
    lost its connection, perhaps after running it) is answered with an
    error by the next engine, not run a second time."""
    name = run_queue.queue_name(bus["conf"])
    handler, fallback = Handler(), Fallback()
    client = RunQueueClient(bus["connect"], name, fallback, margin=5)
    taken = threading.Event()
    first = bus["connect"]()
    channel = first.channel()
    consumer = kombu.Consumer(
        channel, [run_queue.queue(name)], callbacks=[lambda body, message: taken.set()]
    )
    consumer.consume()
    answer: dict = {}

    def call() -> None:
        try:
            answer["outcome"] = _run(client)
        except exceptions.QinlingError as err:
            answer["error"] = err

    caller = threading.Thread(target=call)
    caller.start()
    server = RunQueueServer(bus["connect"], handler, name, max_consumers=2)
    try:
        while not taken.is_set():
            first.drain_events(timeout=10)
        server.start()
        _wait_consumers(bus, 1 + run_queue.MIN_CONSUMERS)
        first.release()  # unacknowledged: the broker hands it to the server
        caller.join(30)
    finally:
        client.close()
        server.close()
        server.join(10)
    assert isinstance(answer.get("error"), exceptions.ServiceUnavailable), answer
    assert "may or may not have run" in answer["error"].message
    assert handler.calls == [] and fallback.calls == []


def test_connections_the_broker_closed_come_back(served, bus):
    assert _run(served["client"])["id"] == "e-1"
    subprocess.run(
        ["rabbitmqctl", "close_all_connections", "-p", bus["vhost"], "test"],
        capture_output=True,
        timeout=60,
        check=True,
    )

    # The client's line is gone: the next call opens another (over RPC while
    # the engine's consumers are reconnecting), none fails.
    assert _run(served["client"], "e-2")["status"] == "success"
    _wait_consumers(bus, run_queue.MIN_CONSUMERS)
    before = len(served["handler"].calls)
    assert _run(served["client"], "e-3") == {"status": "success", "id": "e-3"}
    assert len(served["handler"].calls) == before + 1


def test_an_outcome_that_is_not_json_is_an_error_and_the_consumer_carries_on(served):
    served["handler"].answer = lambda execution: {"when": object()}
    with pytest.raises(exceptions.QinlingError, match="could not encode the outcome"):
        _run(served["client"])

    served["handler"].answer = lambda execution: {"id": execution["id"]}
    assert _run(served["client"], "e-2") == {"id": "e-2"}


def test_the_next_broker_of_the_url_is_tried_when_one_refuses(bus):
    good = bus["conf"].transport_url
    credentials_and_vhost = good.split("://", 1)[1]
    conf = _config(
        f"rabbit://guest:guest@127.0.0.1:{processes.free_port()},{credentials_and_vhost}"
    )

    connection = run_queue.connector(conf)()
    try:
        assert connection.connected
        assert connection.as_uri().endswith(f":5672/{bus['vhost']}")
    finally:
        connection.release()


def test_a_bus_that_refuses_is_an_error_to_fall_back_on(bus):
    conf = _config(f"rabbit://guest:guest@127.0.0.1:{processes.free_port()}/")
    fallback = Fallback()
    client = RunQueueClient(run_queue.connector(conf), "qinling_engine.runs", fallback, margin=5)

    assert _run(client) == {"status": "success", "via": "rpc"}
    client.close()
