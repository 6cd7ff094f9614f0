"""Reading request bodies: JSON, url-encoded forms, with schema checks.

python-qinlingclient sends JSON for most calls but form fields (all
strings) for function create/update, so ``fields`` accepts both and
``coerce`` turns form strings into the types the schema asks for.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import falcon
import jsonschema

from qinling import exceptions

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded",)
# The largest value an INTEGER column holds on every backend.
MAX_INTEGER = 2**31 - 1
VERSION_NUMBER = {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_INTEGER}


def read_json(
    req: falcon.Request,
    schema: dict[str, Any],
    *,
    max_size: int,
    optional: bool = False,
    unchanged_if_null: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The JSON object in the body, checked against ``schema``.

    ``unchanged_if_null`` is for updates: python-qinlingclient sends every
    option of an update command, ``null`` for those the user left out, and
    Qinling read ``null`` as "leave unchanged"; those keys are dropped. Integers given as
    strings of digits (the client sends version numbers that way) are taken
    as integers.
    """
    if not req.content_length and optional:
        return validate({}, schema)
    _check_json_type(req)
    raw = _read_bounded(req, max_size)
    if not raw.strip():
        if optional:
            return validate({}, schema)
        raise exceptions.InputError("The request needs a JSON body.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise exceptions.InputError(f"The body is not valid JSON: {err}.") from err
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if v is not None or k not in unchanged_if_null}
        data = _digits_to_int(data, schema)
    return validate(data, schema)


def _digits_to_int(data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    props = schema.get("properties", {})
    result = dict(data)
    for name, value in data.items():
        types = props.get(name, {}).get("type", ())
        types = types if isinstance(types, list) else [types]
        if "integer" in types and isinstance(value, str) and value.isdigit() and len(value) < 10:
            result[name] = int(value)
    return result


def read_form(req: falcon.Request, schema: dict[str, Any], *, max_size: int) -> dict[str, Any]:
    """Fields of a url-encoded form, or of a JSON body, typed by ``schema``."""
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        raw = _read_bounded(req, max_size).decode("utf-8", "replace")
        fields = falcon.uri.parse_query_string(raw, keep_blank=True, csv=False)
        return validate(coerce(fields, schema), schema)
    return read_json(req, schema, max_size=max_size, optional=True)


def _check_json_type(req: falcon.Request) -> None:
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    if content_type and content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise exceptions.UnsupportedMediaType(
            f"This request takes a JSON body with 'Content-Type: application/json', "
            f"not '{content_type}'."
        )


def _read_bounded(req: falcon.Request, max_size: int) -> bytes:
    if req.content_length and req.content_length > max_size:
        raise exceptions.PayloadTooLarge(f"The request body is larger than {max_size} bytes.")
    data = req.bounded_stream.read(max_size + 1)
    if len(data) > max_size:
        raise exceptions.PayloadTooLarge(f"The request body is larger than {max_size} bytes.")
    return data


def coerce(fields: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Turn form strings into the schema's types; leave what does not parse."""
    props = schema.get("properties", {})
    result: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, list):
            raise exceptions.InputError(f"Field '{name}' is given more than once.")
        result[name] = _coerce_one(value, props.get(name, {}))
    return result


def _coerce_one(value: str, prop: dict[str, Any]) -> Any:
    types = prop.get("type", "string")
    types = types if isinstance(types, list) else [types]
    if value == "" and "null" in types:
        return None
    if "integer" in types:
        try:
            return int(value)
        except ValueError:
            return value
    if "boolean" in types and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if "object" in types:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclasses.dataclass(frozen=True)
class _Checks:
    """What checks bodies against one schema, built once per schema."""

    schema: dict[str, Any]
    validator: jsonschema.protocols.Validator
    plain_fields: dict[str, dict[str, Any]] | None  # see _plain_fields


# Schemas are module constants: build their checks once, not per request.
_CHECKS: dict[int, _Checks] = {}


def _checks(schema: dict[str, Any]) -> _Checks:
    found = _CHECKS.get(id(schema))
    if found is None or found.schema is not schema:
        validator = jsonschema.Draft202012Validator(schema)
        found = _CHECKS[id(schema)] = _Checks(schema, validator, _plain_fields(schema))
    return found


def validate(data: Any, schema: dict[str, Any]) -> dict[str, Any]:
    if not _plainly_valid(data, schema):
        _validate_fully(data, schema)
    _refuse_nul(data, "")
    return data


def _validate_fully(data: Any, schema: dict[str, Any]) -> None:
    validator = _checks(schema).validator
    if not validator.is_valid(data):
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
        raise exceptions.InputError(_describe(error))


# A request body is checked on every call, the warm path of an execution
# included, where jsonschema's generality costs ~50-90 us a request. Most of
# the API's schemas are flat objects of typed fields: for those a plain check
# says "certainly valid" for the common case and leaves everything else
# (errors, and what it is not sure of) to jsonschema, whose verdict and
# messages stay the only ones.
_PLAIN_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
    "integer": (int,),
    "object": (dict,),
    "array": (list,),
}
_PLAIN_KEYWORDS = frozenset({"type", "maxLength", "minimum", "maximum"})


def _plainly_valid(data: Any, schema: dict[str, Any]) -> bool:
    """True only when ``data`` is valid for ``schema`` beyond doubt."""
    fields = _checks(schema).plain_fields
    if fields is None or not isinstance(data, dict):
        return False
    if any(name not in data for name in schema.get("required", ())):
        return False
    for name, value in data.items():
        field = fields.get(name)
        if field is None or not _plain_value_ok(value, field):
            return False
    return True


def _plain_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """The properties of a flat object schema with additionalProperties false,
    each with its types as Python types; None for any other schema."""
    if set(schema) - {"type", "properties", "additionalProperties", "required"}:
        return None
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        return None
    fields = {}
    for name, prop in schema.get("properties", {}).items():
        if set(prop) - _PLAIN_KEYWORDS:
            return None
        types = prop.get("type")
        names = [] if types is None else types if isinstance(types, list) else [types]
        if any(t not in _PLAIN_TYPES for t in names):
            return None
        python_types = tuple(p for t in names for p in _PLAIN_TYPES[t]) if names else None
        fields[name] = prop | {"python_types": python_types}
    return fields


def _plain_value_ok(value: Any, field: dict[str, Any]) -> bool:
    types = field["python_types"]
    if types is not None:
        if type(value) not in types:  # exact: a bool is no integer, 1.0 is left to jsonschema
            return False
    if isinstance(value, str) and len(value) > field.get("maxLength", len(value)):
        return False
    if type(value) is int:
        if value < field.get("minimum", value) or value > field.get("maximum", value):
            return False
    elif type(value) is float and ("minimum" in field or "maximum" in field):
        return False  # left to jsonschema
    return True


def _refuse_nul(value: Any, where: str) -> None:
    """PostgreSQL cannot store text holding NUL, wherever in the body it is."""
    if isinstance(value, str) and "\x00" in value:
        raise exceptions.InputError(
            f"Invalid value for '{where or 'body'}': it holds a NUL character (\\u0000)."
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key, where)
            _refuse_nul(item, f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, f"{where}.{index}" if where else str(index))


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        return f"Unknown field in the request: {error.message}."
    if error.validator == "required":
        inside = f" in '{where}'" if where else ""
        return f"Missing field{inside}: {error.message}."
    if where:
        return f"Invalid value for '{where}': {error.message}."
    return f"Invalid request body: {error.message}."


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise exceptions.InputError(f"'{name}' must be true or false.")
