"""The job task as Fargate runs it: the image's entry point in its own process, as the image's user, on a read-only
root filesystem, with each task volume mounted where the task definition says (owned and moded as Fargate makes
it), the task's memory limit (a cgroup), the task definition's environment plus the run's overrides, and SIGTERM
then SIGKILL after the stop timeout when the run must end early.

Linux only, as root (CI runs as root): a private mount namespace (unshare), bind mounts, setpriv and a memory cgroup.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.deployed.iam import denied_lines
from tests.deployed.topology import REGION, TaskSpec

ROOT = Path(__file__).resolve().parents[2]
ENTRY_MODULE = "tests.deployed.task_main"
ROLE_VARIABLE = "TAILOR_DEPLOYED_TIER_ROLE"
PEAK_MARKER = "TAILOR-DEPLOYED-TIER-PEAK-KIB "
# A task volume that the image does not declare is a bind mount Fargate creates root-owned with mode 0755.
UNDECLARED_VOLUME = (0, 0, 0o755)
_CGROUP_V1 = Path("/sys/fs/cgroup/memory")
# Mounts a container keeps writable whatever ReadonlyRootFilesystem says (Docker's defaults).
_KERNEL_MOUNTS = ("/proc", "/sys", "/dev")
IMAGE_OPT = "/opt"
IMAGE_CODE = "/opt/tailor"
IMAGE_PYTHON_HOME = "/opt/python"
IMAGE_PACKAGES = "/opt/site-packages"
IMAGE_PYTHON = f"{IMAGE_PYTHON_HOME}/bin/python{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class Image:
    """What the task's image decides about how the job runs (from lambdas/training/Dockerfile)."""

    uid: int
    gid: int
    volumes: dict[str, tuple[int, int, int]]  # declared VOLUME path → (uid, gid, mode) the image gives it
    environment: dict[str, str]


@dataclass
class TaskRun:
    job: str  # TAILOR_JOB of the run's overrides
    exit_code: int
    output: str
    wall_s: float
    peak_memory_bytes: int | None  # the memory cgroup's high-water mark (page cache included, as the limit counts)
    out_of_memory: bool = False
    timed_out: bool = False
    denied: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)  # what was applied, for reports
    peak_rss_kib: int | None = None  # the job process's own VmHWM, when it reached its exit

    def description(self, task: TaskSpec) -> dict[str, Any]:
        """The task as ecs:runTask.sync returns it (DescribeTasks' shape) once it stopped."""
        container: dict[str, Any] = {"Name": task.container_name, "ExitCode": self.exit_code, "LastStatus": "STOPPED"}
        if self.out_of_memory:
            container["Reason"] = "OutOfMemoryError: Container killed due to memory usage"
        return {
            "TaskDefinitionArn": task.arn,
            "LastStatus": "STOPPED",
            "StopCode": "EssentialContainerExited",
            "StoppedReason": "Task stopped by user" if self.timed_out else "Essential container in task exited",
            "Containers": [container],
            "TimedOut": self.timed_out,
        }


def available() -> str | None:
    """None when this machine can run the task as Fargate would, else why not."""
    if sys.platform != "linux":
        return "needs Linux"
    if os.geteuid() != 0:
        return "needs root (mount namespaces, setpriv to the image's user, a memory cgroup)"
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


class FargateTask:
    """Runs the task definition's container for one job; each run gets fresh volumes."""

    def __init__(self, task: TaskSpec, image: Image, workdir: Path, endpoint: str, role: dict[str, Any]) -> None:
        self.task, self.image, self.workdir = task, image, workdir
        self.endpoint = endpoint
        self.role = role  # the task role's statements (and KMS keys of buckets) for the container's IAM hook
        self.runs: list[TaskRun] = []

    def environment(self, overrides: dict[str, str]) -> dict[str, str]:
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": "/home/tailor",
            **self.image.environment,
            # Where the image keeps its code and packages; here, the checkout's (tests/ too, for the entry point's
            # IAM hook) and this interpreter's, bound under /opt. LD_LIBRARY_PATH: a shared libpython's own dir.
            "PYTHONPATH": f"{IMAGE_CODE}/lambdas:{IMAGE_CODE}:{IMAGE_PACKAGES}",
            "LD_LIBRARY_PATH": f"{IMAGE_PYTHON_HOME}/lib",
            **self.task.environment,
            **overrides,
            # What Fargate and the task role provide: region and credentials; AWS itself is the tier's moto.
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "ASIADEPLOYEDTIERTASK",
            "AWS_SECRET_ACCESS_KEY": "deployed-tier",
            "AWS_ENDPOINT_URL": self.endpoint,
            ROLE_VARIABLE: json.dumps(self.role),
        }
        return env

    def run(self, overrides: dict[str, str], timeout: float | None = None) -> TaskRun:
        run_id = uuid.uuid4().hex[:12]
        run_dir = self.workdir / f"task-{run_id}"
        run_dir.mkdir(parents=True)
        constraints: list[str] = []
        script = ["set -e"]
        cgroup = _memory_cgroup(run_id, self.task.memory_mb)
        if cgroup is not None:
            script.append(f"echo $$ > {shlex.quote(str(cgroup / 'cgroup.procs'))}")
            constraints.append(f"memory limit {self.task.memory_mb} MiB (cgroup)")
        # The image keeps its code and Python under /opt; here the checkout, this interpreter and its packages are
        # bound there (read-only), so the job user reaches them wherever they live on this machine (/root is 0700).
        script += [f"mount -t tmpfs -o mode=0755,size=1m tmpfs {IMAGE_OPT}"]
        for source, target in _image_layout().items():
            script += [f"mkdir -p {target}", f"mount --bind {shlex.quote(str(source))} {target}",
                       f"mount -o remount,bind,ro {target}"]
        volumes = {v["Name"] for v in self.task.volumes}
        for mount in self.task.mount_points:
            if mount.source_volume not in volumes:
                raise ValueError(f"mount point {mount.container_path} names no volume {mount.source_volume}")
            source = run_dir / mount.source_volume
            source.mkdir(exist_ok=True)
            uid, gid, mode = self.image.volumes.get(mount.container_path, UNDECLARED_VOLUME)
            os.chown(source, uid, gid)
            source.chmod(mode)
            script.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(mount.container_path)}")
            if mount.read_only:
                script.append(f"mount -o remount,bind,ro {shlex.quote(mount.container_path)}")
            constraints.append(f"{mount.container_path}: volume {mount.source_volume}, "
                               f"owner {uid}:{gid}, mode {mode:o}")
        if self.task.readonly_root:
            for point in [IMAGE_OPT, *_writable_mounts({m.container_path for m in self.task.mount_points})]:
                script.append(f"mount -o remount,bind,ro {shlex.quote(point)}")
            constraints.append("read-only root filesystem")
        env = self.environment(overrides)
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
        script.append("cd /")
        script.append(f"exec setpriv --reuid={self.image.uid} --regid={self.image.gid} --clear-groups "
                      f"env -i {assignments} {IMAGE_PYTHON} -m {ENTRY_MODULE}")
        constraints.append(f"user {self.image.uid}:{self.image.gid}")
        log_path = run_dir / "output.log"
        started = time.monotonic()
        timed_out = False
        with log_path.open("wb") as log:
            proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script)],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                proc.send_signal(signal.SIGTERM)  # what ECS sends when the execution stops the task
                try:
                    proc.wait(timeout=self.task.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        wall = time.monotonic() - started
        output = log_path.read_text(errors="replace")
        peak, oom = _cgroup_result(cgroup)
        code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode  # Docker reports 128 + signal
        run = TaskRun(job=env.get("TAILOR_JOB", ""), exit_code=code, output=output, wall_s=wall, peak_memory_bytes=peak,
                      out_of_memory=oom and code == 137, timed_out=timed_out, denied=denied_lines(output),
                      constraints=constraints, peak_rss_kib=_peak_rss(output))
        self.runs.append(run)
        shutil.rmtree(run_dir, ignore_errors=True)
        return run


def _image_layout() -> dict[Path, str]:
    """What is bound under /opt in the task's mount namespace: the checkout, this Python and its packages."""
    layout = {ROOT: IMAGE_CODE, Path(sys.base_prefix): IMAGE_PYTHON_HOME,
              Path(sysconfig.get_paths()["purelib"]): IMAGE_PACKAGES}
    hidden = [str(source) for source in layout if Path(IMAGE_OPT) in source.parents]
    if hidden:
        raise RuntimeError(f"the deployed tier mounts the image's {IMAGE_OPT} over {hidden}: move them elsewhere")
    return layout


def _peak_rss(output: str) -> int | None:
    found = [line.split(PEAK_MARKER, 1)[1] for line in output.splitlines() if PEAK_MARKER in line]
    return int(found[-1]) if found else None


def _writable_mounts(keep: set[str]) -> list[str]:
    """Every writable mount but the kernel's and the task's volumes: what a read-only root makes read-only."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point, options = fields[4], fields[5]
        if "rw" not in options.split(",") or any(point == k or point.startswith(k.rstrip("/") + "/") for k in keep):
            continue  # a task volume, or hidden under one
        if any(point == k or point.startswith(k + "/") for k in _KERNEL_MOUNTS):
            continue
        points.append(point)
    return sorted(points, key=len)


def _memory_cgroup(run_id: str, memory_mb: int) -> Path | None:
    if not (_CGROUP_V1 / "cgroup.procs").exists():
        return None
    group = _CGROUP_V1 / f"tailor-deployed-tier-{run_id}"
    try:
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(memory_mb << 20))
        swap = group / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(memory_mb << 20))
    except OSError:
        return None
    return group


def _cgroup_result(group: Path | None) -> tuple[int | None, bool]:
    if group is None:
        return None, False
    try:
        peak = int((group / "memory.max_usage_in_bytes").read_text())
        oom = int((group / "memory.failcnt").read_text()) > 0
    except OSError:
        peak, oom = None, False
    for _ in range(50):  # the group can be removed once its last process has gone
        try:
            group.rmdir()
            break
        except OSError:
            time.sleep(0.05)
    return peak, oom
