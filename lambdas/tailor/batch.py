"""The batch inference and batch segment jobs: S3 JSON lines in, `<input-file-name>.out` JSON lines out.

Each input object (the named object, or every object under the named prefix) gets its own output object under the
output path, written as it is read (a block of lines at a time, never the whole file in memory) and published when
complete. A line that cannot be answered gets an error line and the job goes on; only a job-wide problem (the input is
missing, the solution version is gone, the output cannot be written) fails the job, with the reason on the resource.
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from tailor.imports import ImportFailed, data_files
from tailor.jobs import fail
from tailor.operations import common
from tailor.ports import Resource
from tailor.service import Service
from tailor.serving.batch import BatchRecommender, BatchSegmenter

logger = logging.getLogger("tailor.batch")

PROGRESS_EVERY = 10_000  # lines between progress log records


def _lines(stream: IO[bytes]) -> Iterator[str]:
    """The stream's lines as text; bytes that are not UTF-8 become U+FFFD, so the line gets its own JSON error."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    for chunk in iter(lambda: stream.read(1 << 20), b""):
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        yield from complete
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def output_uri(output_path: str, input_uri: str) -> str:
    """<output path>/<input file name>.out, as Personalize names batch output objects."""
    name = input_uri.rsplit("/", 1)[-1]
    return f"{output_path if output_path.endswith('/') else output_path + '/'}{name}.out"


def _started(svc: Service, arn: str) -> tuple[Resource, Resource] | None:
    """The job, now CREATE IN_PROGRESS, and its solution version; None (the job failed) if the version is gone."""
    job = common.advance(svc, arn, common.CREATE_PENDING, common.CREATE_IN_PROGRESS)
    version = svc.store.get(job.doc["solutionVersionArn"])
    if version is None or version.status != common.ACTIVE or not version.internal.get("artifact"):
        fail(svc, job.arn, f"Solution version {job.doc['solutionVersionArn']} is no longer ACTIVE")
        return None
    return job, version


def _run(svc: Service, job: Resource, answer: Callable[[Iterable[str]], Iterator[str]]) -> None:
    try:
        inputs = [uri for uri, _ in data_files(svc.blobs, job.doc["jobInput"]["s3DataSource"]["path"])]
    except ImportFailed as failure:
        fail(svc, job.arn, failure.reason)
        return
    output_path = job.doc["jobOutput"]["s3DataDestination"]["path"]
    total = 0
    for uri in inputs:
        target = output_uri(output_path, uri)
        logger.info("batch job %s: %s -> %s", job.arn, uri, target)
        try:
            source = svc.blobs.open(uri)
        except FileNotFoundError:
            fail(svc, job.arn, f"The input file {uri} disappeared while the job ran")
            return
        with source, svc.blobs.create(target) as out:
            for line in answer(_lines(source)):
                out.write(line.encode("utf-8") + b"\n")
                total += 1
                if total % PROGRESS_EVERY == 0:
                    logger.info("batch job %s: %d lines answered", job.arn, total)
    logger.info("batch job %s: %d lines answered from %d file(s)", job.arn, total, len(inputs))
    common.advance(svc, job.arn, common.CREATE_IN_PROGRESS, common.ACTIVE)


def batch_inference(svc: Service, arn: str) -> None:
    started = _started(svc, arn)
    if started is not None:
        job, version = started
        recommender = BatchRecommender(svc, version, num_results=int(job.doc["numResults"]),
                                       filter_arn=job.doc.get("filterArn"),
                                       job_config=job.doc.get("batchInferenceJobConfig"))
        _run(svc, job, recommender.answer)


def batch_segment(svc: Service, arn: str) -> None:
    started = _started(svc, arn)
    if started is not None:
        job, version = started
        segmenter = BatchSegmenter(svc, version, num_results=int(job.doc["numResults"]),
                                   filter_arn=job.doc.get("filterArn"))
        _run(svc, job, segmenter.answer)
