"""The training image (lambdas/training/Dockerfile, build context lambdas/): what it installs comes from uv.lock.

    uv run python -m infra.training_image      rewrites lambdas/training/requirements.txt (after `uv lock`)

It installs the same packages as the Lambdas' layer (boto3 and botocore included), so a model or a service model
reads the same in both. The Dockerfile readers below (instructions, declared_volumes, image_user, writable_dirs) let
tests check what the task definition mounts against what the image declares, without Docker.
"""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD_CONTEXT = ROOT / "lambdas"
DOCKERFILE = BUILD_CONTEXT / "training" / "Dockerfile"
REQUIREMENTS = BUILD_CONTEXT / "training" / "requirements.txt"
HEADER = """\
# The training image's packages and all their dependencies, pinned from uv.lock.
# Roots: {roots}.
# Generated, do not edit: after `uv lock`, regenerate with `uv run python -m infra.training_image`
# (tests/infra/test_training_image.py fails while this file and uv.lock disagree).
"""


def training_requirements(lock_path: Path | None = None) -> list[str]:
    """`name==version` for what the container imports beyond the standard library, the Lambda layer's packages
    (infra.bundling.LAYER_PACKAGES, boto3 included), and their dependencies, as pinned in uv.lock."""
    from infra import bundling  # loads aws_cdk; only when the lock is read

    return bundling.locked_requirements(lock_path or bundling.UV_LOCK)


def requirements_text(requirements: list[str]) -> str:
    from infra import bundling

    return HEADER.format(roots=", ".join(bundling.LAYER_PACKAGES)) + "".join(f"{line}\n" for line in requirements)


def write_training_requirements(path: Path = REQUIREMENTS) -> Path:
    path.write_text(requirements_text(training_requirements()))
    return path


def instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, with comments dropped and continuation lines joined."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending += line
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        keyword, _, rest = pending.partition(" ")
        found.append((keyword.upper(), rest.strip()))
        pending = ""
    return found


def declared_volumes(dockerfile: Path = DOCKERFILE) -> list[str]:
    """The paths the Dockerfile's VOLUME instructions declare (JSON array or space-separated form)."""
    return [path for keyword, rest in instructions(dockerfile) if keyword == "VOLUME" for path in _volume_paths(rest)]


def image_user(dockerfile: Path = DOCKERFILE) -> tuple[int, int]:
    """(uid, gid) of the last USER instruction. Only numeric uid:gid is understood: a name would need the image's
    /etc/passwd, and so would the primary group of a bare uid."""
    users = [rest for keyword, rest in instructions(dockerfile) if keyword == "USER"]
    if not users:
        raise ValueError(f"{dockerfile.name} has no USER: the container would run as root")
    uid, _, gid = users[-1].partition(":")
    if not (uid.isdigit() and gid.isdigit()):
        raise ValueError(f"{dockerfile.name}: USER {users[-1]!r}, expected a numeric uid:gid")
    return int(uid), int(gid)


def writable_dirs(dockerfile: Path = DOCKERFILE) -> set[str]:
    """The paths the image's USER may write, as far as its shell-form RUN steps say: a `chmod` to an octal mode that
    lets others write (1777, 777, ...), or a `chown` to the user's uid with no later chmod taking the owner's write
    away. Nothing else is recognised (symbolic modes, mkdir -m, ownership by name), so a path written another way is
    reported as not writable. A path declared a VOLUME keeps what it had at the declaration: Docker discards the
    changes later steps make under a volume."""
    uid, _ = image_user(dockerfile)
    # path -> (owner uid or None when not chowned here, octal mode or None when not chmod-ed here; -1 unknown)
    state: dict[str, tuple[int | None, int | None]] = {}
    frozen: dict[str, tuple[int | None, int | None]] = {}
    for keyword, rest in instructions(dockerfile):
        if keyword == "VOLUME":
            for path in _volume_paths(rest):
                frozen.setdefault(path, state.get(path, (None, None)))
        elif keyword == "RUN" and not rest.startswith("["):
            for command in _shell_commands(rest):
                _apply(command, state)
    final = {**state, **frozen}
    return {path for path, (owner, mode) in final.items() if _writable_by(uid, owner, mode)}


def _volume_paths(arguments: str) -> list[str]:
    if arguments.startswith("["):
        paths: list[str] = json.loads(arguments)
        return paths
    return arguments.split()


def _shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a RUN's shell script, split at &&, || and ;."""
    lexer = shlex.shlex(script, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in ("&&", "||", ";"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [command for command in commands if command]


def _apply(command: list[str], state: dict[str, tuple[int | None, int | None]]) -> None:
    """Records what one chmod or chown does to the owner and mode of the paths it names."""
    name, *arguments = command
    operands = [argument for argument in arguments if not argument.startswith("-")]
    if name not in ("chmod", "chown") or len(operands) < 2:
        return
    change, *paths = operands
    for path in paths:
        owner, mode = state.get(path, (None, None))
        if name == "chmod":
            mode = int(change, 8) if change.isdigit() else -1
        else:
            user = change.partition(":")[0]
            owner = int(user) if user.isdigit() else -1
        state[path] = (owner, mode)


def _writable_by(uid: int, owner: int | None, mode: int | None) -> bool:
    if mode is not None and mode >= 0 and mode & 0o002:  # others may write
        return True
    return owner == uid and (mode is None or (mode >= 0 and bool(mode & 0o200)))


if __name__ == "__main__":
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # as tests/infra/conftest.py
    print(f"wrote {write_training_requirements().relative_to(ROOT)}")
