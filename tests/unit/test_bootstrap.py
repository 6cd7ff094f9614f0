"""The split services refuse a database whose schema is not theirs."""

from __future__ import annotations

import pytest

from qinling import bootstrap, exceptions
from qinling.db.session import Database, create_engine


def test_split_services_refuse_an_unmigrated_database_with_the_fix(tmp_path):
    db = Database(create_engine(f"sqlite:///{tmp_path}/q.sqlite"))
    with pytest.raises(exceptions.ConfigurationError) as refused:
        bootstrap.require_schema(db)
    assert "qinling-db-manage" in refused.value.message

    bootstrap.migrate(db)
    bootstrap.require_schema(db)
    db.dispose()


def test_the_wsgi_application_is_qinling_api(tmp_path):
    """uWSGI / mod_wsgi get what qinling-api serves, configured from one file."""
    import falcon.testing

    from qinling.api import wsgi

    db = Database(create_engine(f"sqlite:///{tmp_path}/q.sqlite"))
    bootstrap.migrate(db)
    db.dispose()
    config = tmp_path / "qinling.conf"
    config.write_text(
        f"[DEFAULT]\nstate_dir = {tmp_path}\ntransport_url = fake://\n"
        f"[database]\nconnection = sqlite:///{tmp_path}/q.sqlite\n"
    )

    client = falcon.testing.TestClient(wsgi.build_application(str(config)))

    assert client.simulate_get("/v1/runtimes").json == {"runtimes": []}
