"""The three dialects the stand-in speaks and the error answers each one gives."""

from __future__ import annotations

from typing import Literal

#: `openai`: api.openai.com's `/v1`; `azure`: Azure OpenAI's dated API (`/openai/...?api-version=`);
#: `azure_v1`: Azure's `/openai/v1/...`, OpenAI's routes behind Azure's auth.
Dialect = Literal["openai", "azure", "azure_v1"]

AZURE_UNAUTHORIZED = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
    "a valid key for an active subscription and use a correct regional API endpoint for your "
    "resource."
)


class ServiceError(Exception):
    """A refusal the service answers with an HTTP status and its error JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.kind = kind

    def body(self, dialect: Dialect) -> dict[str, object]:
        """OpenAI's `{"error": {message, type, param, code}}`; Azure's dated API adds no type."""
        if dialect == "azure":
            return {"error": {"code": self.code, "message": self.message, "param": self.param}}
        error = {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}
        return {"error": error}


def invalid(message: str, param: str | None, code: str = "invalid_value") -> ServiceError:
    """A 400 for a job or file request the service refuses."""
    return ServiceError(400, message, code=code, param=param)


def not_found(what: str, ident: str, param: str | None = None) -> ServiceError:
    return ServiceError(404, f"No such {what}: {ident}", code=f"{what}_not_found", param=param)


def unauthorized(dialect: Dialect) -> ServiceError:
    if dialect == "openai":
        message = "Incorrect API key provided. You can find your API key in your account settings."
        return ServiceError(401, message, code="invalid_api_key", kind="invalid_request_error")
    return ServiceError(401, AZURE_UNAUTHORIZED, code="401", kind="invalid_request_error")
