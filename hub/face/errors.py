"""The one error every face step raises: a machine code, a message for people, details."""

from __future__ import annotations

from typing import Any


class FaceError(ValueError):
    """A photo or request the face pipeline refuses, with the reason.

    `code` is stable (tests, API clients); `message` is for people (Indonesian first);
    `field` names the request field or input at fault; `status` is the HTTP status the API
    answers with.
    """

    def __init__(self, code: str, message: str, *, field: str | None = None,
                 status: int = 422, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out
