"""BlobStore on S3 (the artifacts bucket and the user's own buckets)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

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


class _MultipartWriter(io.RawIOBase):
    """A write-only stream that uploads an object in parts, so only one part is ever held in memory.

    Objects smaller than a part go up in one PutObject; larger ones as a multipart upload, completed by `commit` and
    aborted by `abort` (S3 then keeps nothing of it)."""

    PART = 64 << 20  # bytes per part: S3 needs at least 5 MiB (but the last) and at most 10,000 parts (640 GiB here)

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self._s3, self._bucket, self._key = client, bucket, key
        self._buffer = bytearray()
        self._written = 0
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        self._written += len(view)
        while len(self._buffer) >= self.PART:
            self._upload(bytes(self._buffer[: self.PART]))
            del self._buffer[: self.PART]
        return len(view)

    def _upload(self, chunk: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._s3.create_multipart_upload(Bucket=self._bucket, Key=self._key)["UploadId"]
        number = len(self._parts) + 1
        etag = self._s3.upload_part(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                    PartNumber=number, Body=chunk)["ETag"]
        self._parts.append({"ETag": etag, "PartNumber": number})

    def commit(self) -> None:
        if self._upload_id is None:
            self._s3.put_object(Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer))
        else:
            if self._buffer:
                self._upload(bytes(self._buffer))
            self._s3.complete_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
                                               MultipartUpload={"Parts": self._parts})
        self._buffer.clear()
        super().close()

    def abort(self) -> None:
        if self._upload_id is not None:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
            self._upload_id = None
        self._buffer.clear()
        super().close()


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
        writer = _MultipartWriter(self._s3, bucket, key)
        try:
            yield writer  # type: ignore[misc]  # a RawIOBase is a binary stream
        except BaseException:
            writer.abort()
            raise
        writer.commit()

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
