"""An S3 stand-in for tests: moto's S3 server on loopback, buckets of a test's own and the settings
that point an app at one. A test module makes its own fixture of ``moto_server``:

    @pytest.fixture(scope="module")
    def s3_endpoint():
        yield from moto_server()
"""

import logging
import uuid

from tests.conftest import free_port, unavailable

REGION = "us-east-1"
# moto's server takes any credentials.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def moto_server():
    """Start moto's S3 server on a free loopback port, yield its address, stop it."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        unavailable("moto is not installed (pip install -r requirements-test.txt)")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # Its request log is werkzeug's, at INFO: keep test output to what matters.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_client(endpoint):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)


def new_bucket(endpoint):
    """A new, empty bucket's name."""
    name = f"peerlearn-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def s3_settings(endpoint, bucket, **extra):
    """The app settings for ``bucket`` at ``endpoint``."""
    return {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": REGION,
        "S3_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "S3_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "S3_PREFIX": "peerlearn-test/",
        "S3_TIMEOUT_SECONDS": 2,
        **extra,
    }
