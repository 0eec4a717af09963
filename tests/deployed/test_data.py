"""Exports (Fargate task) and data deletion in the deployed topology."""

from __future__ import annotations

from tests.contract.test_data_jobs import (
    interactions,
    story,
    test_a_malformed_user_list_fails_the_job_and_deletes_nothing,
    test_deleting_a_user_removes_them_everywhere,
    test_export_modes_pick_bulk_put_or_both,
)

__all__ = ["interactions", "story", "test_a_malformed_user_list_fails_the_job_and_deletes_nothing",
           "test_deleting_a_user_removes_them_everywhere", "test_export_modes_pick_bulk_put_or_both"]
