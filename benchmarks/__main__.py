"""Run every benchmark and print a Markdown table to paste into docs/performance.md."""

from __future__ import annotations

import platform
import subprocess
import sys

from benchmarks import api_lists, startup

BENCHMARKS = [startup, api_lists]


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    python = sys.version.split()[0]
    return f"{cpu}, {cores} cores, {platform.system()} {platform.release()}, Python {python}"


def main() -> None:
    print(f"Machine: {_machine()}\n")
    print("| benchmark | measure | result | target |")
    print("| --- | --- | --- | --- |")
    for benchmark in BENCHMARKS:
        for row in benchmark.run():
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
