"""The S3 blob store under moto: the spooled writer (multipart beyond the limit, one put below, nothing on failure) and
the seekable reader (ranged GETs: the object's exact bytes however it is read, np.load in few requests)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from tailor.adapters import s3 as s3_adapter
from tailor.adapters.s3 import S3BlobStore


@pytest.fixture
def store(aws, monkeypatch):
    # S3's smallest part and a low threshold, to exercise the multipart path with small data
    monkeypatch.setattr(s3_adapter, "SINGLE_PUT_LIMIT", 8 << 20)
    monkeypatch.setattr(s3_adapter, "PART_SIZE", 5 << 20)
    return S3BlobStore(aws.client("s3"))


def test_a_large_object_goes_up_in_parts_and_reads_back_whole(store, aws):
    data = np.random.default_rng(0).bytes((12 << 20) + 123)
    with store.create("s3://artifacts/big.bin") as out:
        for start in range(0, len(data), 3 << 20):
            out.write(data[start : start + (3 << 20)])
    assert store.open("s3://artifacts/big.bin").read() == data
    head = aws.client("s3").head_object(Bucket="artifacts", Key="big.bin", PartNumber=1)
    assert head["PartsCount"] == 3


def test_an_npz_written_through_the_stream_loads(store):
    arrays = {"b": np.arange(2_000_000, dtype=np.float32).reshape(1000, 2000), "ids": np.array(["a", "b"])}
    with store.create("s3://artifacts/model.npz") as out:
        np.savez(out, allow_pickle=False, **arrays)
    loaded = np.load(io.BytesIO(store.open("s3://artifacts/model.npz").read()), allow_pickle=False)
    assert all(np.array_equal(loaded[k], v) for k, v in arrays.items())


def test_a_small_object_is_one_put(store, aws):
    with store.create("s3://artifacts/small.json") as out:
        out.write(b"{}")
    assert store.open("s3://artifacts/small.json").read() == b"{}"


def test_a_failed_write_leaves_no_object_and_no_upload(store, aws):
    with pytest.raises(RuntimeError), store.create("s3://artifacts/broken.bin") as out:
        out.write(b"x" * (9 << 20))  # past the multipart threshold
        raise RuntimeError("training crashed while writing")
    with pytest.raises(FileNotFoundError):
        store.open("s3://artifacts/broken.bin")
    assert aws.client("s3").list_multipart_uploads(Bucket="artifacts").get("Uploads", []) == []


class CountingClient:
    """An S3 client that records its GetObject calls and may refuse them."""

    def __init__(self, client: Any, deny: bool = False) -> None:
        self._client, self._deny = client, deny
        self.gets: list[dict[str, Any]] = []

    def get_object(self, **kwargs: Any) -> Any:
        self.gets.append(kwargs)
        if self._deny:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
        return self._client.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 KiB, so that objects of a few MiB span many of them."""
    monkeypatch.setattr(s3_adapter, "READ_BLOCK", 64 << 10)


def test_the_seekable_reader_gives_the_objects_bytes_for_any_seeks_and_reads(aws, small_blocks):
    # Given a random object of about 1 MiB (16 blocks)
    rng = np.random.default_rng(7)
    data = rng.bytes((1 << 20) + 4321)
    aws.client("s3").put_object(Bucket="artifacts", Key="random.bin", Body=data)
    with S3BlobStore(aws.client("s3")).open_seekable("s3://artifacts/random.bin") as stream:
        assert stream.seekable() and stream.readable() and not stream.writable()
        # When it is read straight through, reads and readintos of random sizes (as np.load reads an array)
        pieces = []
        while stream.tell() < len(data):
            size = int(rng.integers(1, 300_000))
            if rng.integers(2):
                pieces.append(stream.read(size))
            else:
                buffer = bytearray(size)
                pieces.append(bytes(buffer[: stream.readinto(buffer)]))
        # Then the pieces are the object
        assert b"".join(pieces) == data
        # When it and the same bytes in memory are read by the same random mix of seeks (from the start, here and the
        # end, past the end), reads and readintos of every size (inside a block, across blocks, several blocks at
        # once, to the end and past it)
        expected = io.BytesIO(data)
        expected.seek(len(data))
        for _ in range(600):
            op = rng.integers(6)
            size = int(rng.choice([0, 1, 7, 4096, 60_000, 70_000, 200_000, 700_000, 2 << 20]))
            if op == 0:
                offset = int(rng.integers(0, len(data) + 1000))
                assert stream.seek(offset) == expected.seek(offset)
            elif op == 1:
                offset = int(rng.integers(-len(data) - 100_000, 1000))
                assert stream.seek(offset, io.SEEK_END) == expected.seek(offset, io.SEEK_END)
            elif op == 2:
                offset = int(rng.integers(-300_000, 300_000))
                assert stream.seek(offset, io.SEEK_CUR) == expected.seek(offset, io.SEEK_CUR)
            elif op == 3:
                assert stream.read(size) == expected.read(size)
            elif op == 4:
                got, want = bytearray(size), bytearray(size)
                assert stream.readinto(got) == expected.readinto(want)
                assert got == want
            else:
                got_array, want_array = np.zeros(size // 8 + 1, np.float64), np.zeros(size // 8 + 1, np.float64)
                assert stream.readinto(got_array) == expected.readinto(want_array)
                assert got_array.tobytes() == want_array.tobytes()
            assert stream.tell() == expected.tell()
        # Then every answer matched, and a read of the rest from anywhere is the rest of the object
        stream.seek(12345)
        assert stream.read() == data[12345:]
        assert stream.read() == b""


def test_the_seekable_reader_of_a_missing_or_forbidden_object_fails_like_open(aws):
    # Given an empty object and no object at all
    aws.client("s3").put_object(Bucket="artifacts", Key="empty.bin", Body=b"")
    store = S3BlobStore(aws.client("s3"))
    # Then a missing key or bucket is FileNotFoundError, a denied read PermissionError, and an empty object reads empty
    with pytest.raises(FileNotFoundError):
        store.open_seekable("s3://artifacts/missing.npz")
    with pytest.raises(FileNotFoundError):
        store.open_seekable("s3://no-such-bucket/model.npz")
    with pytest.raises(PermissionError):
        S3BlobStore(CountingClient(aws.client("s3"), deny=True)).open_seekable("s3://artifacts/empty.bin")
    with store.open_seekable("s3://artifacts/empty.bin") as stream:
        assert stream.read() == b"" and stream.seek(0, io.SEEK_END) == 0


def test_an_npz_loads_through_the_seekable_reader_in_few_requests(aws, monkeypatch):
    # Given blocks of 512 KiB (numpy reads an array 256 KiB at a time: less than a block, as with the real 8 MiB) and
    # a model of several arrays (about 6 MiB: 12 blocks) written as training writes one
    monkeypatch.setattr(s3_adapter, "READ_BLOCK", 512 << 10)
    rng = np.random.default_rng(1)
    arrays = {"model.ease_b": rng.random((1200, 1200), dtype=np.float32), "model.ease_items": np.arange(1200),
              "item_ids": np.array([f"item-{i}" for i in range(5000)]), "model.n_items": np.array(1200),
              "history.indptr": rng.integers(0, 100, 20_001), "__meta__": np.array('{"recipe": "x"}')}
    store = S3BlobStore(aws.client("s3"))
    with store.create("s3://artifacts/model.npz") as out:
        np.savez(out, allow_pickle=False, **arrays)
    size = aws.client("s3").head_object(Bucket="artifacts", Key="model.npz")["ContentLength"]
    counting = CountingClient(aws.client("s3"))
    # When it is loaded through the seekable reader, every array read
    with S3BlobStore(counting).open_seekable("s3://artifacts/model.npz") as stream, \
            np.load(stream, allow_pickle=False) as npz:
        loaded = {name: npz[name] for name in npz.files}
    # Then the arrays are identical, read in at most one request per block and a few more (the end, the start)
    assert loaded.keys() == arrays.keys()
    assert all(np.array_equal(loaded[k], v) and loaded[k].dtype == v.dtype for k, v in arrays.items())
    assert len(counting.gets) <= size // (512 << 10) + 3
    assert all("Range" in get for get in counting.gets)


def test_an_object_overwritten_while_it_is_read_fails_the_read(aws, small_blocks):
    # Given an object opened for seekable reading
    s3 = aws.client("s3")
    s3.put_object(Bucket="artifacts", Key="model.npz", Body=b"a" * (1 << 20))
    with S3BlobStore(s3).open_seekable("s3://artifacts/model.npz") as stream:
        # When it is replaced before the reader is done
        s3.put_object(Bucket="artifacts", Key="model.npz", Body=b"b" * (1 << 20))
        # Then reading on fails rather than mixing the two versions
        with pytest.raises(OSError, match="changed"):
            stream.seek(512 << 10)
            stream.read(100)
