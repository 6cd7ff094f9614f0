"""Reading request bodies: JSON, url-encoded forms, with schema checks.

python-qinlingclient sends JSON for most calls but form fields (all
strings) for function create/update, so ``fields`` accepts both and
``coerce`` turns form strings into the types the schema asks for.
"""

from __future__ import annotations

import json
from typing import Any

import falcon
import jsonschema

from qinling import exceptions

JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded",)


def read_json(
    req: falcon.Request, schema: dict[str, Any], *, max_size: int, optional: bool = False
) -> dict[str, Any]:
    """The JSON object in the body, checked against ``schema``."""
    if not req.content_length and optional:
        return {}
    raw = _read_bounded(req, max_size)
    if not raw.strip():
        if optional:
            return {}
        raise exceptions.InputError("The request needs a JSON body.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise exceptions.InputError(f"The body is not valid JSON: {err}.") from err
    return validate(data, schema)


def read_form(req: falcon.Request, schema: dict[str, Any], *, max_size: int) -> dict[str, Any]:
    """Fields of a url-encoded form, or of a JSON body, typed by ``schema``."""
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        raw = _read_bounded(req, max_size).decode("utf-8", "replace")
        fields = falcon.uri.parse_query_string(raw, keep_blank=True, csv=False)
        return validate(coerce(fields, schema), schema)
    return read_json(req, schema, max_size=max_size, optional=True)


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


def validate(data: Any, schema: dict[str, Any]) -> dict[str, Any]:
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        raise exceptions.InputError(_describe(error))
    return data


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        return f"Unknown field in the request: {error.message}."
    if error.validator == "required":
        return f"Missing field: {error.message}."
    if where:
        return f"Invalid value for '{where}': {error.message}."
    return f"Invalid request body: {error.message}."


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise exceptions.InputError(f"'{name}' must be true or false.")
