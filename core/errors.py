"""Domain exceptions: each carries the HTTP status a caller should see."""


class DomainError(Exception):
    """An expected refusal, turned into a 4xx response with a message a person can act on."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The request is well-formed but a value is not acceptable."""

    status_code = 422
    code = "invalid_input"


class NotAuthenticated(DomainError):
    """No valid bearer token was presented."""

    status_code = 401
    code = "not_authenticated"


class Forbidden(DomainError):
    """The caller's role may not do this."""

    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    """The thing does not exist, or the caller may not see it."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The move is illegal in the current state, or someone else changed the thing first."""

    status_code = 409
    code = "conflict"
