"""In-memory blob store for unit tests of code that reads and writes objects."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO


class MemoryBlobStore:
    def __init__(self) -> None:
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def open(self, uri: str) -> IO[bytes]:
        with self._lock:
            if uri not in self._objects:
                raise FileNotFoundError(uri)
            return io.BytesIO(self._objects[uri])

    def put(self, uri: str, data: bytes) -> None:
        with self._lock:
            self._objects[uri] = bytes(data)

    @contextmanager
    def create(self, uri: str) -> Iterator[IO[bytes]]:
        buffer = io.BytesIO()
        yield buffer
        self.put(uri, buffer.getvalue())

    def list(self, uri_prefix: str) -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(uri_prefix))
        yield from keys

    def delete(self, uri: str) -> None:
        with self._lock:
            self._objects.pop(uri, None)
