"""tailor.cloudwatch.emit: one EMF document, written as a line inside Lambda or put to local mode's CloudWatch."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tailor import cloudwatch
from tailor.cloudwatch import MetricUnit


class Recorder:
    """A CloudWatch client that keeps the PutMetricData requests it gets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.requests.append(kwargs)


VALUES = {"clicks": (2.0, MetricUnit.Count), "value": (3.5, MetricUnit.NoUnit)}
DIMENSIONS = {"MetricAttributionArn": "arn:a", "EventAttributionSource": "web"}
AT = int(time.time()) // 60 * 60 - 60.5  # CloudWatch takes data points up to 14 days old


def test_outside_lambda_the_document_goes_to_the_local_client(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    # Given no Lambda and a local CloudWatch
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    local = Recorder()
    assert cloudwatch.publishing(local) and not cloudwatch.publishing(None)
    # When a line is emitted
    cloudwatch.emit("Tailor/Test", DIMENSIONS, VALUES, timestamp=AT, local=local)
    # Then one PutMetricData carries every metric with the line's dimensions (the service's too), unit and date
    dims = [{"Name": "MetricAttributionArn", "Value": "arn:a"}, {"Name": "EventAttributionSource", "Value": "web"},
            {"Name": "service", "Value": "tailor"}]
    when = datetime.fromtimestamp(int(AT * 1000) / 1000, UTC)
    assert local.requests == [{"Namespace": "Tailor/Test", "MetricData": [
        {"MetricName": "clicks", "Dimensions": dims, "Timestamp": when, "Values": [2.0], "Unit": "Count"},
        {"MetricName": "value", "Dimensions": dims, "Timestamp": when, "Values": [3.5], "Unit": "None"},
    ]}]
    assert capsys.readouterr().out == ""
    # Nothing to say, nothing sent; no client, nothing sent
    cloudwatch.emit("Tailor/Test", DIMENSIONS, {}, local=local)
    cloudwatch.emit("Tailor/Test", DIMENSIONS, VALUES)
    assert len(local.requests) == 1 and capsys.readouterr().out == ""


def test_inside_lambda_the_same_document_is_a_line_and_no_api_call(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tailor-events")
    local = Recorder()
    cloudwatch.emit("Tailor/Test", DIMENSIONS, VALUES, timestamp=AT, local=local)
    assert local.requests == []
    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    # The line, read as CloudWatch Logs reads it, is what local mode would have put
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
    cloudwatch.emit("Tailor/Test", DIMENSIONS, VALUES, timestamp=AT, local=local)
    assert cloudwatch.put_metric_data_requests(line) == local.requests
