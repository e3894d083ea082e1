"""Remote storage failures as one line a person can act on: the URI, what failed, what to set.

    botocore / s3fs exception chain  ──explain(exc, uri)──▶  OpcError("s3://b/k: access denied ...",
                                                                       hint="set AWS_ACCESS_KEY_ID ...")

Used by ``storage`` (every call that touches a remote URI) and by the CLI's last-resort handler (for code
that talks to a filesystem object directly), and by the Hub publisher for ``hf://``. Recognises: no
credentials, credentials rejected, endpoint unreachable or timing out, missing bucket, access denied.

What it does NOT do: retry (``storage`` bounds the retries and timeouts), or hide errors it does not
recognise (``explain`` returns None and the caller re-raises the original).
"""

from __future__ import annotations

import re

from opc_core.errors import OpcError

CREDENTIALS = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys), or AWS_PROFILE"
ENDPOINT = ("set OPC_S3_ENDPOINT_URL (or AWS_ENDPOINT_URL) to your S3-compatible server's URL, e.g. "
            "http://127.0.0.1:9000; leave both unset for AWS S3")


_REMOTE_MODULES = {"botocore", "aiobotocore", "s3fs", "aiohttp", "urllib3"}


class RemoteStorageError(OpcError):
    """A remote storage request failed for a reason the user can fix (credentials, endpoint, bucket).

    One line: ``<uri>: <what failed>; <what to set>``.
    """

    def __str__(self) -> str:
        return f"{self.where}: {self.message}; {self.hint}"


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def _client_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return None


def _bucket(uri: str | None) -> str:
    if uri and "://" in uri:
        return uri.split("://", 1)[1].split("/", 1)[0]
    return "?"


def _uri_from_message(text: str) -> str | None:
    m = re.search(r"(s3a?://[^\s'\"]+)", text)
    return m.group(1) if m else None


def explain(exc: BaseException, uri: str | None = None) -> RemoteStorageError | None:
    """The user-facing error for a failed remote request, or None when ``exc`` is not one we recognise."""
    chain = _chain(exc)
    if uri is None and not any(type(e).__module__.split(".")[0] in _REMOTE_MODULES for e in chain):
        return None  # e.g. a local PermissionError: not ours to explain
    names = {type(e).__name__ for e in chain}
    text = " ".join(str(e) for e in chain)
    uri = uri or _uri_from_message(text)
    where = uri or "S3"
    codes = {c for c in (_client_code(e) for e in chain) if c}
    if names & {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}:
        return RemoteStorageError("no S3 credentials were found", where=where, hint=CREDENTIALS)
    if codes & {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "AuthFailure"}:
        code = sorted(codes & {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                               "AuthFailure"})[0]
        return RemoteStorageError(f"the S3 server rejected the credentials ({code})", where=where,
                                  hint=f"check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: {CREDENTIALS}")
    if names & {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError",
                "ClientConnectorError", "ServerDisconnectedError", "ConnectTimeout"} or \
            "Could not connect to the endpoint" in text:
        import os

        m = re.search(r'endpoint URL: "?([^"\s]+)', text)
        endpoint = os.environ.get("OPC_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or \
            (m.group(1) if m else "the default AWS endpoint")
        return RemoteStorageError(f"cannot reach the S3 endpoint ({endpoint})", where=where, hint=ENDPOINT)
    if "NoSuchBucket" in codes or "NoSuchBucket" in text or "bucket does not exist" in text:
        return RemoteStorageError(f"the bucket {_bucket(uri)!r} does not exist", where=where,
                                  hint="create it (e.g. `aws s3 mb`), or fix the bucket name in the URI")
    if codes & {"403", "Forbidden"} and "AccessDenied" not in codes:  # a HEAD reply has no body to say why
        return RemoteStorageError("the S3 server refused the request (403 Forbidden: wrong keys, or no permission)",
                                  where=where, hint=f"check the keys ({CREDENTIALS}) and that they may use the bucket")
    if codes & {"AccessDenied", "AllAccessDisabled"} or any(isinstance(e, PermissionError) for e in chain):
        return RemoteStorageError("access denied", where=where,
                                  hint="grant these credentials s3:GetObject/PutObject/ListBucket/DeleteObject on "
                                       f"the bucket, or {CREDENTIALS} for an identity that has them")
    return None


HUB_TOKEN = "set HF_TOKEN to a Hugging Face write token (https://huggingface.co/settings/tokens)"


def explain_hub(exc: BaseException, uri: str) -> RemoteStorageError | None:
    """The same for ``hf://`` (Hugging Face Hub) requests made through ``huggingface_hub``."""
    import os

    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    status = next((getattr(getattr(e, "response", None), "status_code", None) for e in chain
                   if getattr(getattr(e, "response", None), "status_code", None)), None)
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if status == 401:
        return RemoteStorageError("the Hub rejected the token (401 Unauthorized)", where=uri, hint=HUB_TOKEN)
    if status == 403:
        return RemoteStorageError("the token may not write to this repository (403 Forbidden)", where=uri,
                                  hint=f"use a token with write access to the organisation: {HUB_TOKEN}")
    if status == 404 or names & {"RepositoryNotFoundError"}:
        return RemoteStorageError("the repository or organisation was not found (404)", where=uri,
                                  hint="check the hf://<org>/<repo> name and that the token's user belongs to the org")
    if "OfflineModeIsEnabled" in names:
        return RemoteStorageError("Hugging Face offline mode is on, so the Hub cannot be reached", where=uri,
                                  hint="unset HF_HUB_OFFLINE to publish")
    if names & {"ConnectError", "ConnectTimeout", "ReadTimeout", "ConnectionError", "NewConnectionError",
                "MaxRetryError", "TimeoutException", "RemoteProtocolError"}:
        return RemoteStorageError(f"cannot reach the Hugging Face Hub at {endpoint}", where=uri,
                                  hint="check the network, or set HF_ENDPOINT to your Hub mirror")
    return None
