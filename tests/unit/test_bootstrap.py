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
