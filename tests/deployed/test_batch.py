"""Batch inference and batch segment jobs on the Fargate task: read the users' files from a data location, write the
answers back there (the task role's grants), spooling through the task's /tmp volume."""

from __future__ import annotations

from tests.contract.test_batch_jobs import (
    ml,
    test_a_malformed_line_gets_an_error_line_and_the_job_goes_on,
    test_batch_answers_match_get_recommendations,
    test_segments_rank_the_users_known_to_like_the_item,
)

__all__ = ["ml", "test_a_malformed_line_gets_an_error_line_and_the_job_goes_on",
           "test_batch_answers_match_get_recommendations", "test_segments_rank_the_users_known_to_like_the_item"]
