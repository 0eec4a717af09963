"""BlobStore on S3 (the artifacts bucket and the user's own buckets)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri} is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"{uri} names no bucket")
    return bucket, key


class _BodyReader(io.RawIOBase):
    """Adapts a botocore StreamingBody to RawIOBase so it can be buffered and decoded lazily."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._body.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        return n

    def close(self) -> None:
        self._body.close()
        super().close()


# Artifacts are spooled to local disk and uploaded from there: memory holds no second copy of a model that may be
# gigabytes, and one PutObject (streamed from the file) is used up to this size, a multipart upload beyond it.
SINGLE_PUT_LIMIT = 4 << 30  # S3 allows 5 GiB in one PutObject
PART_SIZE = 256 << 20


_MISSING = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "AllAccessDisabled"}


def _translate(err: ClientError, uri: str, what: str) -> Exception:
    """S3's error codes as the exceptions the BlobStore port promises."""
    code = err.response["Error"]["Code"]
    if code in _MISSING:
        return FileNotFoundError(f"{what} does not exist")
    if code in _DENIED:
        return PermissionError(f"Access denied to {uri}")
    return err


class S3BlobStore:
    def __init__(self, client: Any) -> None:
        self._s3 = client

    def open(self, uri: str) -> IO[bytes]:
        bucket, key = split_uri(uri)
        try:
            resp = self._s3.get_object(Bucket=bucket, Key=key)
        except ClientError as err:
            raise _translate(err, uri, uri) from None
        return io.BufferedReader(_BodyReader(resp["Body"]), buffer_size=1 << 20)

    def put(self, uri: str, data: bytes) -> None:
        bucket, key = split_uri(uri)
        self._s3.put_object(Bucket=bucket, Key=key, Body=data)

    @contextmanager
    def create(self, uri: str) -> Iterator[IO[bytes]]:
        bucket, key = split_uri(uri)
        with tempfile.TemporaryFile() as spool:
            yield spool
            spool.seek(0)
            # No threads: local mode serialises every call into moto, which is not thread-safe.
            config = TransferConfig(multipart_threshold=SINGLE_PUT_LIMIT, multipart_chunksize=PART_SIZE,
                                    use_threads=False)
            self._s3.upload_fileobj(spool, bucket, key, Config=config)

    def list(self, uri_prefix: str) -> Iterator[str]:
        bucket, prefix = split_uri(uri_prefix)
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        try:
            while True:  # a plain loop rather than a paginator, so wrapped clients see every call
                page = self._s3.list_objects_v2(**kwargs)
                for obj in page.get("Contents", []):
                    yield f"s3://{bucket}/{obj['Key']}"
                if not page.get("IsTruncated"):
                    return
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
        except ClientError as err:
            raise _translate(err, uri_prefix, f"Bucket {bucket}") from None

    def delete(self, uri: str) -> None:
        bucket, key = split_uri(uri)
        self._s3.delete_object(Bucket=bucket, Key=key)
