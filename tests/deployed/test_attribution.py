"""Metric attribution in the deployed topology: an import publishes its report to the user's S3 location (the task
role), and events put through the events function count in the next report."""

from __future__ import annotations

from tests.contract.test_metric_attributions import (
    shop,
    test_an_import_publishes_the_metrics_of_the_bulk_data_to_s3,
    test_put_events_sources_count_in_the_next_report,
)

__all__ = ["shop", "test_an_import_publishes_the_metrics_of_the_bulk_data_to_s3",
           "test_put_events_sources_count_in_the_next_report"]
