"""Domain exceptions; the API maps each to its HTTP code in one place."""

from __future__ import annotations


class QinlingError(Exception):
    """Base of every error the service raises on purpose."""

    http_code: int = 500
    title: str = "Internal Server Error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.title
        super().__init__(self.message)


class InputError(QinlingError):
    http_code = 400
    title = "Bad Request"


class Unauthorized(QinlingError):
    http_code = 401
    title = "Unauthorized"


class Forbidden(QinlingError):
    http_code = 403
    title = "Forbidden"


class NotFound(QinlingError):
    http_code = 404
    title = "Not Found"

    @classmethod
    def of(cls, kind: str, ident: object) -> NotFound:
        return cls(f"{kind} {ident} not found.")


class Conflict(QinlingError):
    """A state conflict: the request is valid but not now, or not here."""

    http_code = 409
    title = "Conflict"


class PayloadTooLarge(QinlingError):
    http_code = 413
    title = "Payload Too Large"


class UnsupportedMediaType(QinlingError):
    http_code = 415
    title = "Unsupported Media Type"


class ServiceUnavailable(QinlingError):
    http_code = 503
    title = "Service Unavailable"


class OrchestratorError(QinlingError):
    """The orchestrator cannot do what was asked (host, pool or runtime)."""

    http_code = 500
    title = "Orchestrator Error"


class ConfigurationError(QinlingError):
    """The deployment is not ready to serve; the message says what the operator must do."""

    http_code = 503
    title = "Service Unavailable"


class StorageError(QinlingError):
    http_code = 500
    title = "Storage Error"


def to_wire(err: QinlingError) -> dict:
    """An error answer of the engine's data socket and run queue."""
    return {"error": {"type": type(err).__name__, "message": err.message}}


def from_wire(error: object) -> QinlingError:
    """The exception of an error answer's ``error`` (see ``to_wire``)."""
    fields = error if isinstance(error, dict) else {}
    message = str(fields.get("message") or "")
    return by_name(fields.get("type"), message, message or "The engine failed.")


def by_name(name: str | None, message: str, fallback: str) -> QinlingError:
    """Rebuild a domain exception sent by its class name (over RPC or the
    engine's data socket); ``fallback`` is the message for an unknown class."""
    cls = globals().get(name or "")
    if isinstance(cls, type) and issubclass(cls, QinlingError):
        return cls(message)
    return QinlingError(fallback)
