"""The contract stories, run through the deployed topology: each API call reaches the function API Gateway routes it
to, with that function's environment and role; every job runs as the state machine runs it (the workflow Lambda, or
the Fargate task as the image's user on a read-only root)."""

from __future__ import annotations

from tests.contract.test_walkthrough import (
    assert_real_time_story,
    assert_walkthrough,
    run_real_time_story,
    run_walkthrough,
)
from tests.deployed.conftest import DeployedFixture


def data_bucket(tailor: DeployedFixture) -> str:
    """Where a user of the deployment puts files to import: the stack's DataBucketName output."""
    return tailor.deployed.topology.outputs["DataBucketName"]


def test_walkthrough(tailor: DeployedFixture) -> None:
    assert_walkthrough(run_walkthrough(tailor.client, bucket=data_bucket(tailor)))
    assert tailor.deployed.denied == []


def test_real_time_story(tailor: DeployedFixture) -> None:
    assert_real_time_story(run_real_time_story(tailor.client, bucket=data_bucket(tailor)))
    assert tailor.deployed.denied == []
