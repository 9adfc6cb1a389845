"""Domain exceptions: each carries the HTTP status a caller should see and a stable code."""


class DomainError(Exception):
    """An expected refusal, turned into a 4xx response with a message a person can act on.

    `message` is for people (Chinese where the console shows it); `code` is for programs and
    stays stable: a class attribute, or the `code=` argument for a more precise one.
    """

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """The request is well-formed but a value is not acceptable."""

    status_code = 422
    code = "invalid_input"


class NotAuthenticated(DomainError):
    """No valid bearer token or session was presented (or the session has ended)."""

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


class Locked(DomainError):
    """The thing is locked for a while (a login after too many wrong passwords)."""

    status_code = 423
    code = "locked"
