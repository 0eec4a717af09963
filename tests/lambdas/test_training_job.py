"""The train job with jobs held by the test: StopSolutionVersionCreation from either in-flight state."""

from __future__ import annotations

from tailor.operations import solutions


def status(svc, arn):
    return svc.store.get(arn).status


def test_stop_while_pending_stops_at_once_and_the_job_does_nothing(svc, launcher, solution):
    version = solutions.create_solution_version(svc, {"solutionArn": solution})["solutionVersionArn"]
    solutions.stop_solution_version_creation(svc, {"solutionVersionArn": version})
    assert status(svc, version) == "CREATE STOPPED"
    launcher.run_all(svc)
    assert status(svc, version) == "CREATE STOPPED"
    assert svc.store.get(solution).doc["latestSolutionVersion"]["status"] == "CREATE STOPPED"


def test_stop_while_training_goes_stopping_then_stopped(svc, launcher, solution, monkeypatch):
    from tailor.training import data as training_data

    version = solutions.create_solution_version(svc, {"solutionArn": solution})["solutionVersionArn"]
    seen = []
    real_check = training_data.check_minimum

    def check_then_user_stops(data, **kwargs):
        real_check(data, **kwargs)
        seen.append(status(svc, version))
        solutions.stop_solution_version_creation(svc, {"solutionVersionArn": version})
        seen.append(status(svc, version))

    monkeypatch.setattr(training_data, "check_minimum", check_then_user_stops)
    launcher.run_all(svc)
    assert seen == ["CREATE IN_PROGRESS", "CREATE STOPPING"]
    assert status(svc, version) == "CREATE STOPPED"
    assert not list(svc.blobs.list("s3://artifacts/models/"))  # no model was written
