"""BlobStore on S3 (the artifacts bucket and the user's own buckets)."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

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


# Seekable reads (np.load of models and snapshots) are served by ranged GETs, never a local copy, READ_BLOCK at a time:
# zipfile's many small reads of headers cost no request each, and memory holds one block besides what the reader keeps.
READ_BLOCK = 8 << 20
_COPY_CHUNK = 1 << 20  # what a readinto straight into the caller's buffer copies from the response at a time


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


class RangedReader(io.BufferedIOBase):
    """One S3 object as a read-only, seekable binary file, read with ranged GetObject calls: no local copy, and in
    memory one READ_BLOCK of it at most, besides what the caller keeps.

    Opening fetches the first block (so a missing object fails at once, and a small one costs one request) and learns
    the object's size from its Content-Range. A read inside the held block costs nothing. A miss that follows on from
    the block streams the rest of the object from there in one request, a block at a time as reads reach it (a big
    array costs no request per block, and a run of reads one request); any other miss fetches the block that starts
    at the read, or that ends at the object's end for a read near it (zipfile's end record and central directory then
    come in one request). A read or readinto of READ_BLOCK or more goes straight into its result. Later requests must
    match the first one's ETag, so an object overwritten while it is read fails the read (OSError) instead of mixing
    two versions."""

    def __init__(self, client: Any, uri: str) -> None:
        super().__init__()
        self._s3, self._uri = client, uri
        self._bucket, self._key = split_uri(uri)
        self._etag: str | None = None
        self._pos = 0
        self._body: Any = None  # the open stream, if any: the object from _body_pos up to _body_end
        self._body_pos = self._body_end = 0
        try:
            resp = self._get(f"bytes=0-{READ_BLOCK - 1}")
        except _EmptyObject:
            resp = self._get(None)  # a range of an empty object is unsatisfiable: ask for all of it (nothing)
        self._etag = resp.get("ETag")
        content_range = resp.get("ContentRange")  # "bytes 0-8388607/123456789"; absent if the range was ignored
        self._size = int(content_range.rpartition("/")[2]) if content_range else int(resp["ContentLength"])
        self._buf: bytes = resp["Body"].read()
        self._buf_start = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """As io.BytesIO seeks: past the end is allowed (reads there return nothing), before the start is clamped to
        it from the current position or the end, and a ValueError as an absolute position."""
        self._check_open()
        if whence == io.SEEK_SET:
            if offset < 0:
                raise ValueError(f"negative seek value {offset}")
            self._pos = offset
        elif whence == io.SEEK_CUR:
            self._pos = max(0, self._pos + offset)
        elif whence == io.SEEK_END:
            self._pos = max(0, self._size + offset)
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        self._check_open()
        start = self._pos
        end = self._size if size is None or size < 0 else min(self._size, start + size)
        if end <= start:
            return b""
        buf_start, buf_end = self._buf_start, self._buf_start + len(self._buf)
        if buf_start <= start and end <= buf_end:
            data = self._buf[start - buf_start : end - buf_start]
        elif end - start >= READ_BLOCK:
            if self._body is not None and self._body_pos == start:
                data = self._read_body(end - start)
            else:  # bytes already held are fetched again rather than copied together
                data = self._fetch(start, end)
        else:
            head = self._buf[start - buf_start :] if buf_start <= start < buf_end else b""
            self._refill(start + len(head))
            data = head + self._buf[start + len(head) - self._buf_start : end - self._buf_start]
        self._pos = end
        return data

    read1 = read

    def readinto(self, buffer: Any) -> int:
        self._check_open()
        with memoryview(buffer) as whole, whole.cast("B") as view:
            start = self._pos
            n = max(0, min(len(view), self._size - start))
            done = 0
            buf_start, buf_end = self._buf_start, self._buf_start + len(self._buf)
            if n and buf_start <= start < buf_end:
                done = min(n, buf_end - start)
                view[:done] = self._buf[start - buf_start : start - buf_start + done]
            rest = n - done
            if rest >= READ_BLOCK:
                if self._body is None or self._body_pos != start + done:
                    self._open_body(start + done, start + n)
                self._body_into(view[done:n])
            elif rest:
                self._refill(start + done)
                offset = start + done - self._buf_start
                view[done:n] = self._buf[offset : offset + rest]
            self._pos = start + n
            return n

    readinto1 = readinto

    def close(self) -> None:
        self._buf = b""
        self._close_body()
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file.")

    def _refill(self, pos: int) -> None:
        """Hold the block at `pos` (< size) in place of the one held."""
        sequential = pos == self._buf_start + len(self._buf)
        self._buf = b""
        if self._body is None or self._body_pos != pos:
            if not sequential:
                start = max(0, min(pos, self._size - READ_BLOCK))
                self._buf, self._buf_start = self._fetch(start, min(self._size, start + READ_BLOCK)), start
                return
            self._open_body(pos, self._size)
        self._buf_start = pos
        self._buf = self._read_body(min(READ_BLOCK, self._body_end - pos))

    def _open_body(self, start: int, end: int) -> None:
        self._close_body()
        self._body = self._get(f"bytes={start}-{end - 1}")["Body"]
        self._body_pos, self._body_end = start, end

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def _read_body(self, n: int) -> bytes:
        """The next `n` bytes of the open stream."""
        parts: list[bytes] = []
        got = 0
        while got < n:
            chunk = self._body.read(n - got)
            if not chunk:
                raise OSError(f"{self._uri}: the response ended {self._body_end - self._body_pos} bytes short")
            parts.append(chunk)
            got += len(chunk)
            self._body_pos += len(chunk)
        if self._body_pos == self._body_end:
            self._close_body()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _body_into(self, view: memoryview) -> None:
        """The next len(view) bytes of the open stream, into `view`."""
        done = 0
        while done < len(view):
            chunk = self._body.read(min(_COPY_CHUNK, len(view) - done))
            if not chunk:
                raise OSError(f"{self._uri}: the response ended {self._body_end - self._body_pos} bytes short")
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
            self._body_pos += len(chunk)
        if self._body_pos == self._body_end:
            self._close_body()

    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes [start, end) in a request of their own (the open stream, if any, is dropped)."""
        self._open_body(start, end)
        return self._read_body(end - start)

    def _get(self, byte_range: str | None) -> Any:
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Key": self._key}
        if byte_range is not None:
            kwargs["Range"] = byte_range
        if self._etag is not None:
            kwargs["IfMatch"] = self._etag
        try:
            return self._s3.get_object(**kwargs)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            if code == "InvalidRange" and self._etag is None:
                raise _EmptyObject from None
            if code in {"PreconditionFailed", "412"}:
                raise OSError(f"{self._uri} changed while it was being read") from None
            raise _translate(err, self._uri, self._uri) from None


class _EmptyObject(Exception):
    """The first ranged GET found an object with no bytes."""


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

    def open_seekable(self, uri: str) -> IO[bytes]:
        return cast(IO[bytes], RangedReader(self._s3, uri))

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
