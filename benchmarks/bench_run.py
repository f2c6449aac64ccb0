"""Time ``python -m analysis run`` (what ``make run`` does after set-up) in a fresh clone.

The project is cloned (``git clone`` of a commit, HEAD by default) into a temporary
folder, so the timing starts where a new user's does: the synthetic raw data committed,
no panel, no report. Then ``python -m analysis run`` is timed twice: the first run builds
the panel, the second finds it up to date. The clone imports its own ``analysis``
(``PYTHONPATH``), and so do the notebook kernels, which inherit the environment. After
the runs the clone's ``git status --porcelain`` is printed: it should be empty.

The machine is shared, so the load average before and after each run is printed too,
and the CPU seconds of the whole process tree (the command, its workers and every
notebook kernel), which hardly depend on the load. Linux only (/proc). Usage::

    .venv/bin/python benchmarks/bench_run.py                 # HEAD
    .venv/bin/python benchmarks/bench_run.py --ref c8d75d6   # an earlier commit
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def clone(ref: str, into: Path) -> Path:
    target = into / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "--quiet", ref], check=True)
    return target


def timed_run(project: Path) -> tuple[float, float, str, int]:
    """Wall seconds, CPU seconds of the whole process tree, output, exit status."""
    env = dict(os.environ, PYTHONPATH=str(project))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # as the Makefile sets them
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis", "run"],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        cpu = cpu_of_tree(proc)
        seconds = time.perf_counter() - started
        out.seek(0)
        return seconds, cpu, out.read(), proc.returncode


def cpu_of_tree(proc: subprocess.Popen, interval: float = 0.2) -> float:
    """CPU seconds (user + system) of ``proc`` and every descendant, until ``proc`` ends.

    Sampled from /proc every ``interval`` s, so a process loses at most its last interval.
    Unlike wall time this hardly depends on what else runs on the machine; unlike
    RUSAGE_CHILDREN it also counts processes nobody waits for (a forkserver's children).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    tree, used = {proc.pid}, {}
    while proc.poll() is None:
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # ended meanwhile
                stats[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
        grew = True
        while grew:  # parents before children need not come in order
            before = len(tree)
            tree |= {pid for pid, (ppid, _) in stats.items() if ppid in tree}
            grew = len(tree) > before
        for pid in tree & stats.keys():
            used[pid] = max(used.get(pid, 0), stats[pid][1])
        time.sleep(interval)
    return sum(used.values()) / ticks


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="commit to time (default HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the clone, print where")
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tmp = Path(tempfile.mkdtemp(prefix="bench-run-"))
    project = clone(commit, tmp)
    print(f"`python -m analysis run` in a fresh clone of {commit}; {os.cpu_count()} cores")
    print(f"{'run':<28}{'wall s':>8}{'CPU s':>8}  {'load 1/5 min before':>20}  {'after':>9}")
    for label in ("first (builds the panel)", "second (panel up to date)"):
        before = load()
        seconds, cpu, output, status = timed_run(project)
        print(f"{label:<28}{seconds:>8.1f}{cpu:>8.1f}  {before:>20}  {load():>9}", flush=True)
        if status != 0:
            print(f"exit status {status}:\n{output[-3000:]}")
            return 1
    dirty = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    print(f"git status --porcelain after the runs: {'empty' if not dirty else chr(10) + dirty}")
    last = [line for line in output.splitlines() if line.strip()][-5:]
    print("last lines of the second run:\n" + "\n".join(last))
    if args.keep:
        print(f"clone kept in {project}")
    else:
        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
