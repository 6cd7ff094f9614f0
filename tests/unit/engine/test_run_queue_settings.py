"""How the run queue reaches the bus: ``[DEFAULT] transport_url`` and
``[oslo_messaging_rabbit] ssl*`` as kombu takes them."""

from __future__ import annotations

import ssl

import kombu
import oslo_messaging as messaging
import pytest

from qinling import conf as qconf
from qinling import rpc
from qinling.engine import run_queue


def _config(transport_url: str, **rabbit):
    conf = qconf.new_config([])
    rpc.register_messaging_opts(conf)
    conf.set_override("transport_url", transport_url)
    for name, value in rabbit.items():
        conf.set_override(name, value, group="oslo_messaging_rabbit")
    return conf


def _addresses(transport_url: str) -> list[kombu.Connection]:
    conf = _config(transport_url)
    url = messaging.TransportURL.parse(conf, transport_url)
    return [kombu.Connection(address) for address in run_queue.addresses(url)]


def test_every_broker_of_the_url_is_an_address_with_its_own_credentials():
    first, second = _addresses("rabbit://alice:s3cret@mq-1:5671,bob:other@mq-2/qinling")

    assert (first.hostname, first.port, first.userid, first.password) == (
        "mq-1",
        5671,
        "alice",
        "s3cret",
    )
    assert (second.hostname, second.port, second.userid, second.password) == (
        "mq-2",
        5672,
        "bob",
        "other",
    )
    assert first.virtual_host == second.virtual_host == "qinling"


def test_a_password_with_url_characters_and_the_default_vhost_survive():
    (only,) = _addresses("rabbit://user:p%40ss%2Fw%3Ard@mq:5672/")

    assert (only.password, only.virtual_host) == ("p@ss/w:rd", "/")


def test_no_ssl_unless_asked():
    assert run_queue.ssl_options(_config("rabbit://mq/").oslo_messaging_rabbit) is False


def test_ssl_without_files_is_kombus_default():
    rabbit = _config("rabbit://mq/", ssl=True).oslo_messaging_rabbit

    assert run_queue.ssl_options(rabbit) is True


def test_ssl_with_a_ca_verifies_the_broker_and_presents_the_client_certificate():
    rabbit = _config(
        "rabbit://mq/",
        ssl=True,
        ssl_ca_file="/etc/ca.pem",
        ssl_cert_file="/etc/client.pem",
        ssl_key_file="/etc/client.key",
    ).oslo_messaging_rabbit

    assert run_queue.ssl_options(rabbit) == {
        "ca_certs": "/etc/ca.pem",
        "cert_reqs": ssl.CERT_REQUIRED,
        "certfile": "/etc/client.pem",
        "keyfile": "/etc/client.key",
    }


@pytest.mark.parametrize("transport_url", ["fake://", "kafka://mq:9092/"])
def test_off_where_the_bus_is_not_rabbitmq(transport_url):
    assert run_queue.connector(_config(transport_url)) is None


def test_off_when_turned_off():
    conf = _config("rabbit://guest:guest@127.0.0.1:5672/")
    conf.set_override("run_queue", False, group="engine")

    assert run_queue.connector(conf) is None
