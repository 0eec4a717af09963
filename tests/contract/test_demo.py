"""The README's main command: `tailor demo` completes: every import ACTIVE with its rows, four solution versions
trained with their offline metrics, a campaign, recommendations with metadata changing after PutEvents, a filter,
a batch inference job."""

from __future__ import annotations

from tailor.local.cli import main


def test_demo_runs_the_walkthrough_and_exits_zero(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "INTERACTIONS  ACTIVE          34,853" in out
    assert "USERS         ACTIVE          24,500" in out
    assert "DEMO FAILED" not in out
    # Every recipe's metrics row: four numbers in [0, 1], and user-personalization beats popularity on NDCG@10
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in out.splitlines()
            if line.strip().startswith("aws-")}
    assert set(rows) == {"aws-user-personalization", "aws-sims", "aws-personalized-ranking", "aws-popularity-count"}
    assert all(len(v) == 4 and all(0.0 <= x <= 1.0 for x in v) for v in rows.values())
    assert rows["aws-user-personalization"][0] > rows["aws-popularity-count"][0]
    assert "campaign/airline-demo-campaign  ACTIVE" in out
    # Real time: recommendations with their metadata, a ranking that changes right after PutEvents, explained
    assert "top 5 changed at once after 3 PutEvents" in out
    assert "<- Recent item" in out
    assert "promotion filter kept 5 promoted trips" in out
    # A batch inference job answers every traveller in its input file
    assert "batch job     ACTIVE: 500 of 500 travellers answered, in s3://tailor-demo-data/batch/recommendations/" \
        "travellers.json.out" in out
