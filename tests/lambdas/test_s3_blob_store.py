"""The S3 blob store's spooled writer under moto: multipart beyond the limit, one put below, nothing on failure."""

from __future__ import annotations

import io

import numpy as np
import pytest

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
