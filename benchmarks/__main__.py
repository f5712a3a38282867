"""Run every benchmark and print a Markdown table to paste into docs/performance.md."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

from benchmarks import api_lists, ci_backfill, dora_metrics, load, startup, webhook_intake

BENCHMARKS = [startup, api_lists, ci_backfill, webhook_intake, dora_metrics]
# Named only: the 10-minute load test runs in `make soak` (docs/reliability.md).
ON_REQUEST = [load]
# Each benchmark runs in its own interpreter: several set Django up in-process on their own
# throwaway database, and one process can only do that once.
CHILD = "import json; from {module} import run; print('\\n' + {marker!r} + json.dumps(run()))"
MARKER = "BENCHMARK-ROWS "


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


def _rows(module: str) -> list[list[str]]:
    """Run ``module.run()`` in a child interpreter; its output other than the rows goes through."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(module=module, marker=MARKER)],
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = child.stdout.splitlines()
    rows = [json.loads(line[len(MARKER) :]) for line in lines if line.startswith(MARKER)]
    sys.stderr.write("".join(line + "\n" for line in lines if line and not line.startswith(MARKER)))
    if child.returncode or not rows:
        return [[module.rsplit(".", 1)[-1], "-", f"failed (exit {child.returncode})", "-"]]
    return rows[0]


def main() -> None:
    """``python -m benchmarks [name ...]``: all benchmarks, or those named (e.g. ci_backfill)."""
    names = {m.__name__.rsplit(".", 1)[-1]: m.__name__ for m in BENCHMARKS + ON_REQUEST}
    chosen = sys.argv[1:] or [m.__name__.rsplit(".", 1)[-1] for m in BENCHMARKS]
    unknown = [name for name in chosen if name not in names]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
    print(f"Machine: {_machine()}\n")
    print("| benchmark | measure | result | target |")
    print("| --- | --- | --- | --- |")
    failed = False
    for name in chosen:
        for row in _rows(names[name]):
            failed = failed or row[2].startswith("failed")
            print("| " + " | ".join(row) + " |", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
