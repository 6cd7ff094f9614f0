"""Request bodies: the plain check that spares jsonschema on the common case
never accepts what jsonschema rejects, and covers the hot schemas."""

from __future__ import annotations

import importlib
import itertools
import pkgutil

import jsonschema
import pytest

from qinling import exceptions
from qinling.api import body, v1
from qinling.api.v1 import executions


def _schemas() -> list[tuple[str, dict]]:
    found = []
    for info in pkgutil.iter_modules(v1.__path__):
        module = importlib.import_module(f"qinling.api.v1.{info.name}")
        for name, value in vars(module).items():
            if name.endswith("SCHEMA") and isinstance(value, dict):
                found.append((f"{info.name}.{name}", value))
    return found


SCHEMAS = _schemas()
ODD_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    7,
    body.MAX_INTEGER,
    body.MAX_INTEGER + 1,
    1.0,
    2.5,
    -0.5,
    "",
    "x",
    "x" * 36,
    "x" * 37,
    "x" * 255,
    "x" * 256,
    "é" * 36,
    [],
    [1],
    {},
    {"a": 1},
]


def _bodies(schema: dict):
    names = list(schema.get("properties", {})) + ["not_a_field"]
    yield {}
    yield "a string"
    yield [1]
    for name, value in itertools.product(names, ODD_VALUES):
        yield {name: value}
    for first, second in itertools.combinations(names[:6], 2):
        for value in ODD_VALUES[::3]:
            yield {first: value, second: value}


@pytest.mark.parametrize("name,schema", SCHEMAS, ids=[n for n, _ in SCHEMAS])
def test_the_plain_check_never_accepts_what_jsonschema_rejects(name, schema):
    validator = jsonschema.Draft202012Validator(schema)
    for data in _bodies(schema):
        if body._plainly_valid(data, schema):
            assert validator.is_valid(data), (name, data)


def test_the_execution_schema_takes_the_plain_check():
    assert body._plain_fields(executions.CREATE_SCHEMA) is not None
    assert body._plainly_valid({"function_id": "f", "sync": True}, executions.CREATE_SCHEMA)


def test_errors_still_come_from_jsonschema():
    with pytest.raises(exceptions.InputError) as refused:
        body.validate({"function_id": 7}, executions.CREATE_SCHEMA)
    assert refused.value.message == (
        "Invalid value for 'function_id': 7 is not of type 'string', 'null'."
    )
