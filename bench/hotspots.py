"""Where the dispatcher's time goes: a py-spy profile of it, summarised by function.

`python -m bench.storm --profile out/dispatcher.txt` records the dispatcher with py-spy
(`pip install py-spy`) while the storm runs; `python -m bench.hotspots FILE` prints the share
of samples each function is on the stack for (inclusive) and on top of it (self).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes] | None:
    """py-spy recording `pid` as collapsed stacks into `output`; None if py-spy is missing."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(binary).exists():
        print("py-spy is not installed: no profile", file=sys.stderr)
        return None
    command = [binary, "record", "--pid", str(pid), "--format", "raw", "--rate", "97"]
    return subprocess.Popen(
        [*command, "--nonblocking", "-o", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is None:
        return
    profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    try:
        profiler.wait(timeout=60)
    except subprocess.TimeoutExpired:
        profiler.kill()


def summarise(collapsed: Path, top: int = 40) -> list[tuple[str, float, float]]:
    """(function, inclusive share, self share) of the busiest functions, most inclusive first."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        if frames and "idle" in frames[0]:
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    if not total:
        return []
    return [(f, n / total, own[f] / total) for f, n in inclusive.most_common(top)]


def _short(frame: str) -> str:
    """`func (path/to/module.py:12)` -> `func (module.py)`: lines differ, functions add up."""
    name, _, where = frame.partition(" (")
    module = where.split(":")[0].rsplit("/", 2)
    return f"{name} ({'/'.join(module[-2:])})"


def main() -> None:
    for function, inclusive, own in summarise(
        Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40
    ):
        print(f"{inclusive:7.1%} {own:7.1%}  {function}")


if __name__ == "__main__":
    main()
