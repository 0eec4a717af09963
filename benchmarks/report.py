"""What every benchmark script shares: the machine line, markdown tables, and replacing its BENCHMARKS.md section."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import numpy as np


def machine(*extra: str) -> str:
    """CPUs, memory, Python, numpy and OS, plus `extra` library versions (e.g. 'scipy 1.14')."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    parts = [f"{os.cpu_count()} CPUs ({cpu})", f"{memory:.0f} GiB", f"Python {platform.python_version()}",
             f"numpy {np.__version__}", *extra, f"{platform.system()} {platform.release()}"]
    return ", ".join(parts)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["", *("| " + " | ".join(cells) + " |" for cells in (header, ["---"] * len(header), *rows))]


def write_section(section: str, path: Path, title: str) -> None:
    """Replace the `## <title>` section of `path` with `section` (or append it)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nOne section per benchmark in `benchmarks/`.\n\n"
    match = re.search(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    text = text[:match.start()] + section + "\n" + text[match.end():] if match else text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n")
