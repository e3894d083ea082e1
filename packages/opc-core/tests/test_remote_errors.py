"""s3:// failures a person can act on: no credentials, wrong keys, an unreachable endpoint, a missing bucket
and access denied each end ``opc`` with one error line naming the URI, what failed and what to set, a
non-zero exit and at most 15 lines on stderr, within 30 s.

Against real servers on loopback: the session's moto server (no auth) for the missing bucket, a second
moto server with IAM auth switched on for wrong keys and access denied, a closed port for the endpoint.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

MICRO = Path(__file__).resolve().parents[3] / "tests" / "recipes" / "micro.yaml"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _opc(*args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "OPC_S3_ENDPOINT_URL"}
    full.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                 "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **env})
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "opc_core.cli", *args], capture_output=True, text=True, env=full,
                          timeout=60)
    return proc, time.monotonic() - t0


def _assert_one_actionable_line(proc, seconds, uri: str, *needles: str) -> str:
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) <= 15, proc.stderr
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert uri in errors[0], errors[0]
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert seconds < 30
    return errors[0]


@pytest.fixture(scope="module")
def moto_with_auth():
    """A moto server that checks keys: bucket ``locked`` and a user ``nobody`` without any policy."""
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}  # the set-up below, then every request is checked
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        kw = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "setup",
              "aws_secret_access_key": "setup"}
        boto3.client("s3", **kw).create_bucket(Bucket="locked")
        iam = boto3.client("iam", **kw)
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        yield url, key["AccessKeyId"], key["SecretAccessKey"]
    finally:
        server.kill()
        server.wait()


def test_no_credentials_names_the_uri_and_the_variables_to_set(s3_server):
    uri = "s3://some-bucket/work"
    proc, t = _opc("status", "--workdir", uri, env={"OPC_S3_ENDPOINT_URL": s3_server})
    _assert_one_actionable_line(proc, t, uri, "no S3 credentials", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def test_unreachable_endpoint_names_it_and_says_to_set_the_endpoint(loopback_port):
    uri = "s3://some-bucket/work"
    endpoint = f"http://127.0.0.1:{loopback_port}"  # nothing listens there
    proc, t = _opc("status", "--workdir", uri, env={"OPC_S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "k",
                                                    "AWS_SECRET_ACCESS_KEY": "s"})
    _assert_one_actionable_line(proc, t, uri, "cannot reach", endpoint, "OPC_S3_ENDPOINT_URL")


def test_missing_bucket_is_named(s3_server):
    uri = "s3://no-such-bucket-opc/work"
    proc, t = _opc("run", "data", "--recipe", str(MICRO), f"workdir={uri}",
                   env={"OPC_S3_ENDPOINT_URL": s3_server, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"})
    _assert_one_actionable_line(proc, t, "s3://no-such-bucket-opc/", "'no-such-bucket-opc' does not exist")


def test_wrong_keys_say_to_check_the_keys(moto_with_auth):
    url, _, _ = moto_with_auth
    uri = "s3://locked/work"
    proc, t = _opc("status", "--workdir", uri, env={"OPC_S3_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONG",
                                                    "AWS_SECRET_ACCESS_KEY": "wrong"})
    _assert_one_actionable_line(proc, t, uri, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def test_access_denied_says_what_to_grant(moto_with_auth):
    url, key_id, secret = moto_with_auth
    uri = "s3://locked/work"
    proc, t = _opc("run", "data", "--recipe", str(MICRO), f"workdir={uri}",
                   env={"OPC_S3_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret})
    line = _assert_one_actionable_line(proc, t, "s3://locked/work", "AWS_ACCESS_KEY_ID")
    assert "access denied" in line or "403" in line


def test_a_local_permission_error_is_not_mistaken_for_an_s3_one():
    from opc_core.remote_errors import explain

    assert explain(PermissionError("[Errno 13] Permission denied: '/root/x'")) is None
