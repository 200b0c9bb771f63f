"""What the benchmarks ran on: the CPU as /proc/cpuinfo names it (shared by the scripts here)."""

from __future__ import annotations

import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name, with family and model numbers where the kernel gives them."""
    name, family, model = platform.processor() or "unknown CPU", None, None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key, value = key.strip(), value.strip()
            if key == "model name":
                name = value
                break
            if key == "cpu family":
                family = value
            elif key == "model":
                model = value
    except OSError:
        pass
    return f"{name} (family {family}, model {model})" if family else name
