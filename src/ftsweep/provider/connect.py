"""Reach the service a sweep names, with credentials from the environment only.

    OpenAI (or any compatible endpoint):  OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID,
                                          OPENAI_PROJECT_ID (read by the client itself)
    Azure OpenAI / AI Foundry:            AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY or
                                          AZURE_OPENAI_AD_TOKEN (Entra ID), and
                                          OPENAI_API_VERSION for a dated API version

`provider: local` trains each trial on this machine instead (`ftsweep.local.backend`): no
credentials, no network.

The sweep file's `service:` section may name the provider, the endpoint and the API version;
`--provider` overrides the provider. Without an API version (or with `v1`) Azure is reached on
its v1 API, which keeps job metadata; a dated version selects the dated API. Keys are handed to
the client and to the scrubber of error messages, and to nothing else.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ftsweep.errors import CredentialsError
from ftsweep.provider.retry import Retry
from ftsweep.provider.service import ServiceBackend

if TYPE_CHECKING:
    from ftsweep.provider.backend import Backend
    from ftsweep.sweep.spec import Service

__all__ = ["Provider", "connect"]

Provider = Literal["openai", "azure", "local"]
_V1 = (None, "", "v1", "latest", "preview")


def connect(
    service: Service,
    provider: Provider | None = None,
    *,
    retry: Retry | None = None,
    base: Path | None = None,
    method: str | None = None,
) -> Backend:
    """The backend for `service` (the sweep file's section), `provider` overriding its own;
    `base` is the sweep file's folder, where the local backend's paths start, and `method` the
    sweep's, which it checks data files against."""
    chosen = provider or service.provider
    if chosen == "local":
        from ftsweep.local.backend import LocalBackend

        return LocalBackend(service, base or Path.cwd(), method)
    if chosen == "azure":
        return _azure(service, retry)
    return _openai(service, retry)


def _openai(service: Service, retry: Retry | None) -> ServiceBackend:
    import openai

    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise CredentialsError(
            "no API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for an endpoint other than "
            "OpenAI's), or use --provider azure"
        )
    base_url = service.base_url or os.environ.get("OPENAI_BASE_URL") or None
    client = openai.OpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=service.timeout)
    return ServiceBackend(
        client,
        "openai",
        where=str(client.base_url).rstrip("/"),
        secrets=[key],
        retry=retry,
        variable="OPENAI_API_KEY",
        timeout=service.timeout,
    )


def _azure(service: Service, retry: Retry | None) -> ServiceBackend:
    import openai

    endpoint = service.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
    if not endpoint:
        raise CredentialsError(
            "no Azure endpoint: set AZURE_OPENAI_ENDPOINT (https://NAME.openai.azure.com) or "
            "service.base_url in the sweep file"
        )
    key = os.environ.get("AZURE_OPENAI_API_KEY") or None
    token = os.environ.get("AZURE_OPENAI_AD_TOKEN") or None
    if key is None and token is None:
        raise CredentialsError(
            "no Azure credentials: set AZURE_OPENAI_API_KEY, or AZURE_OPENAI_AD_TOKEN for an "
            "Entra ID token"
        )
    variable = "AZURE_OPENAI_API_KEY" if key else "AZURE_OPENAI_AD_TOKEN"
    secrets = [s for s in (key, token) if s]
    version = service.api_version or os.environ.get("OPENAI_API_VERSION")
    endpoint = endpoint.rstrip("/")
    if version in _V1:
        headers = {"api-key": key} if key else None
        client: openai.OpenAI = openai.OpenAI(
            api_key=key or token,
            base_url=f"{endpoint}/openai/v1/",
            default_headers=headers,
            max_retries=0,
            timeout=service.timeout,
        )
        where = f"{endpoint}/openai/v1"
        return ServiceBackend(
            client,
            "azure",
            where=where,
            secrets=secrets,
            retry=retry,
            variable=variable,
            timeout=service.timeout,
        )
    client = openai.AzureOpenAI(
        azure_endpoint=endpoint,
        api_version=version,
        api_key=key,
        azure_ad_token=None if key else token,
        max_retries=0,
        timeout=service.timeout,
    )
    where = f"{endpoint} (api-version {version})"
    return ServiceBackend(
        client,
        "azure-dated",
        where=where,
        secrets=secrets,
        retry=retry,
        variable=variable,
        timeout=service.timeout,
    )
