"""AWS's notebook style (pandas files, back-to-back calls, cleanup loops) through the deployed topology: the deleted
dataset group is seen being deleted and then removed by whichever function reads it next."""

from __future__ import annotations

from tests.contract.test_notebook_flow import frames, run_notebook
from tests.deployed.conftest import DeployedFixture
from tests.deployed.test_stories import data_bucket

__all__ = ["frames"]


def test_a_notebook_runs_as_written(tailor: DeployedFixture, frames) -> None:
    run_notebook(tailor.client, frames, data_bucket(tailor))
    assert tailor.deployed.denied == []
