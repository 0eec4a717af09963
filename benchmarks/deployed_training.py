"""The ML-20M-sized training job of benchmarks/scale.py run as the deployed stack's Fargate task runs it, against the
same job run as scale.py runs it, in the same run.

* **As deployed** (tests/deployed): the stack of the synthesized template, with the data in the stack's data bucket
  (moto), the import and the training started through the control-plane function and the jobs state machine, and
  each job run as the task definition says: the image's user (10001), a read-only root filesystem, /tmp as the
  task's volume, the task's memory limit as a memory cgroup, the task role's permissions on every AWS call.
* **Peer**: scale.py's training job, the container's command in a child process as root, no limits, reaching the
  local endpoint.

Wall time is the task's (the job process from start to exit); peak is the job process's own peak resident memory
(VmHWM), and for the deployed run also the cgroup's high-water mark, which counts page cache as the task's limit
does. Needs Linux and root, as the deployed tier does.

    .venv/bin/python benchmarks/deployed_training.py --write
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the deployed tier lives in tests/deployed

import scale  # noqa: E402
from report import machine, table, write_section  # noqa: E402

MB = 1 << 20


def deployed_job(csv_path: Path, workdir: Path) -> dict[str, Any]:
    """Import and train through the deployed topology; the two task runs' figures."""
    import json

    from tailor import testing
    from tests.conftest import synthesize
    from tests.deployed.conftest import image_from_dockerfile
    from tests.deployed.harness import DeployedTailor

    template = synthesize(str(workdir / "cdk.out")).template.to_json()
    tier = DeployedTailor(template, workdir / "tier", image_from_dockerfile())
    testing.serve_in_process(tier)
    try:
        session = tier.session
        personalize = session.client("personalize", endpoint_url=testing.IN_PROCESS_ENDPOINT)
        bucket = tier.topology.outputs["DataBucketName"]
        start = time.perf_counter()
        session.client("s3").upload_file(str(csv_path), bucket, "interactions.csv")
        upload_s = time.perf_counter() - start
        group = personalize.create_dataset_group(name="scale")["datasetGroupArn"]
        tier.wait_idle()
        schema = personalize.create_schema(name="scale", schema=json.dumps({
            "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
            "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                       {"name": "TIMESTAMP", "type": "long"}], "version": "1.0"}))["schemaArn"]
        dataset = personalize.create_dataset(name="i", schemaArn=schema, datasetGroupArn=group,
                                             datasetType="INTERACTIONS")["datasetArn"]
        tier.wait_idle()
        job = personalize.create_dataset_import_job(
            jobName="i", datasetArn=dataset, dataSource={"dataLocation": f"s3://{bucket}/interactions.csv"},
            roleArn="arn:aws:iam::123456789012:role/bench")["datasetImportJobArn"]
        tier.wait_idle(3600)
        status = personalize.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"]
        if status["status"] != "ACTIVE":
            raise RuntimeError(f"import ended {status['status']}: {status.get('failureReason')}")
        solution = personalize.create_solution(name="s", datasetGroupArn=group,
                                               recipeArn=f"arn:aws:personalize:::recipe/{scale.RECIPE}")["solutionArn"]
        tier.wait_idle()
        version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        tier.wait_idle(3600)
        described = personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
        if described["status"] != "ACTIVE":
            raise RuntimeError(f"training ended {described['status']}: {described.get('failureReason')}")
        runs = {run.job: run for run in tier.task_runs}
        train, imported = runs["train"], runs["import"]
        return {"wall_s": train.wall_s, "peak_mib": (train.peak_rss_kib or 0) / 1024,
                "cgroup_peak_mib": (train.peak_memory_bytes or 0) / MB, "import_s": imported.wall_s,
                "upload_s": upload_s, "constraints": train.constraints, "denied": tier.denied,
                "limit_mib": tier.topology.task.memory_mb}
    finally:
        testing.stop_in_process()


def report(case: Any, events: int, peer: dict[str, Any], deployed: dict[str, Any], command: str) -> str:
    out = [f"## Training as the deployed task runs it\n\nMeasured {datetime.date.today().isoformat()} on "
           f"{machine()}:\n\n```\n{command}\n```\n",
           textwrap.fill(
               f"{case.title} ({events:,} events), aws-user-personalization with default hyper-parameters. "
               "**As deployed**: the tier of tests/deployed runs the synthesized stack: the CSV in the stack's data "
               "bucket, the import and the training started through the control-plane function and the jobs state "
               "machine, each job as the task definition runs it (" + "; ".join(deployed["constraints"]) + "; the "
               "task role's permissions on every call). **Peer**: benchmarks/scale.py's training job in the same "
               "run (the container's command as root, no limits, through the local endpoint). Peak is the job "
               "process's VmHWM; the cgroup's high-water mark also counts the page cache, as the task's limit does.",
               120)]
    out += table(
        ["run", "import job s", "training job s", "peak MiB", "cgroup peak MiB", "memory limit MiB"],
        [["peer (scale.py)", f"{peer['import_s']:.1f}", f"{peer['wall_s']:.1f}", f"{peer['peak_mib']:,.0f}", "n/a",
          "none"],
         ["as deployed", f"{deployed['import_s']:.1f}", f"{deployed['wall_s']:.1f}", f"{deployed['peak_mib']:,.0f}",
          f"{deployed['cgroup_peak_mib']:,.0f}", f"{deployed['limit_mib']:,}"],
         ["**deployed ÷ peer**", f"**{deployed['import_s'] / peer['import_s']:.2f}**",
          f"**{deployed['wall_s'] / peer['wall_s']:.2f}**", f"**{deployed['peak_mib'] / peer['peak_mib']:.2f}**",
          "", ""]])
    out.append("")
    out.append(textwrap.fill(
        f"Calls the task role refused: {len(deployed['denied'])}. The import times differ in what they cover: the "
        "peer's is the whole CreateDatasetImportJob to ACTIVE in-process, the deployed one is the task's run "
        "(process start to exit).", 120))
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default="ml20m", choices=list(scale.CASES))
    ap.add_argument("--write", action="store_true", help="replace its section of BENCHMARKS.md")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("the deployed tier needs root (mount namespaces, setpriv, a memory cgroup)")
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    command = shlex.join([exe, "benchmarks/deployed_training.py", *sys.argv[1:]])
    case = scale.CASES[args.case]
    with tempfile.TemporaryDirectory() as tmp:
        users, items, stamps = scale.synthetic(case)
        csv_path = Path(tmp) / "interactions.csv"
        scale.write_csv(csv_path, users, items, stamps)
        events = len(users)
        del users, items, stamps
        print("peer: scale.py's training job", file=sys.stderr)
        peer = scale.training_job(case, csv_path)
        print("as deployed", file=sys.stderr)
        deployed = deployed_job(csv_path, Path(tmp))
    section = report(case, events, peer, deployed, command)
    print(section)
    if args.write:
        write_section(section, ROOT / "BENCHMARKS.md", "Training as the deployed task runs it")


if __name__ == "__main__":
    main()
