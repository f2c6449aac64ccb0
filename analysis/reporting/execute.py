"""Execute notebooks in parallel: one kernel per notebook, as many at once as there are cores.

The report's notebooks are independent (each reads the stored panel and writes nothing
but its own output), so they run side by side in worker processes, each driving its own
kernel through papermill. Results come back as each notebook finishes, so the caller can
render one while the others still run.

Output stays quiet and honest:

* The kernel's channels are encrypted (CurveZMQ keys provisioned by the kernel manager)
  where pyzmq supports it. ipykernel otherwise warns, for every notebook, that the
  kernel runs over TCP without encryption; the warning is right (any local user could
  connect to its ports), so the fix is to encrypt, not to hide the warning.
* What the kernel and papermill print to stderr (shutdown notices such as "KeyboardInterrupt
  caught in kernel") goes to a log per notebook, shown only when that notebook fails.
* A progress bar only on a terminal; otherwise one line per finished notebook.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.reporting.notebook_cache import NotebookCache

KERNEL = "python3"
LOG_TAIL = 2000  # characters of the kernel's log quoted when a notebook fails


class NotebookFailed(RuntimeError):
    """A notebook failed; the message names it, the cell and the error in one line."""


def available_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def execute_notebooks(
    notebooks: Sequence[Path],
    out_dir: Path,
    parameters: Mapping[str, object],
    *,
    workers: int | None = None,
    kernel: str = KERNEL,
    progress: bool = False,
    cache: NotebookCache | None = None,
    failures: list[tuple[Path, Path, str]] | None = None,
) -> Iterator[tuple[Path, Path]]:
    """Execute each notebook into ``out_dir/<name>``; yield ``(source, executed)`` as each ends.

    Parameters
    ----------
    parameters
        Injected by papermill into every notebook's ``parameters`` cell.
    workers
        Notebooks executed at once; default the available cores. With one worker (or one
        notebook) they run one after another in this process.
    progress
        Report progress on stderr: a bar on a terminal, else one line per notebook.
    cache
        Reuse a stored execution whose inputs are unchanged
        (:class:`~analysis.reporting.notebook_cache.NotebookCache`); None executes all.
    failures
        When given, a notebook that fails is appended as ``(source, target, message)``
        and the others still run (and are yielded); without it the first failure raises.

    Raises
    ------
    NotebookFailed
        When a notebook raises; notebooks not started yet are cancelled, running ones
        are waited for, so nothing writes into ``out_dir`` after this returns.

    Examples
    --------
    >>> for source, done in execute_notebooks(sorted(Path("notebooks").glob("0*.ipynb")),
    ...                                       Path("/tmp/out"), {}):  # doctest: +SKIP
    ...     print(source.name, done)
    """
    jobs = [Job(Path(n), Path(out_dir) / Path(n).name, dict(parameters)) for n in notebooks]
    failed: list[tuple[Job, str]] | None = [] if failures is not None else None
    try:
        for job in execute_jobs(jobs, workers=workers, kernel=kernel, progress=progress,
                                cache=cache, failures=failed):
            yield job.notebook, job.target
    finally:
        if failures is not None:
            failures += [(job.notebook, job.target, message) for job, message in failed or []]


@dataclass(frozen=True)
class Job:
    """One notebook to execute into ``target`` with its own ``parameters``."""

    notebook: Path
    target: Path
    parameters: Mapping[str, object]


def execute_jobs(
    jobs: Sequence[Job],
    *,
    workers: int | None = None,
    kernel: str = KERNEL,
    progress: bool = False,
    cache: NotebookCache | None = None,
    failures: list[tuple[Job, str]] | None = None,
) -> Iterator[Job]:
    """Execute notebooks with parameters of their own (e.g. two sources) in one pool.

    Jobs are started in the order given (put the longest first: two cores then end
    together), yielded as each ends; those ``cache`` holds with the same inputs are
    yielded first, without a kernel. Raises :class:`NotebookFailed` like
    :func:`execute_notebooks`, unless ``failures`` is given: then each failed job is
    appended as ``(job, message)`` and the others still run.
    """
    report = _Progress(len(jobs), progress)
    try:
        todo = []
        for job in jobs:
            hit = cache is not None and cache.restore(
                job.notebook, job.target, job.parameters, kernel
            )
            if hit:
                report.done(job.notebook, 0.0, reused=True, on=_on(job))
                yield job
            else:
                todo.append(job)
        workers = min(workers or available_cores(), len(todo))
        runs = _one_by_one(todo, kernel, report, failures) if workers <= 1 else _in_parallel(
            todo, kernel, workers, report, failures
        )
        for job in runs:
            if cache is not None:
                cache.store(job.notebook, job.target, job.parameters, kernel)
            yield job
    finally:
        report.close()


def _on(job: Job) -> str:
    return str(job.parameters.get("source", ""))


def _settled(job: Job, outcome, report, failures) -> bool:
    """Whether ``job`` succeeded: ``outcome()`` returns its seconds or raises
    :class:`NotebookFailed`, which is recorded in ``failures`` (re-raised without it)."""
    try:
        seconds = outcome()
    except NotebookFailed as exc:
        if failures is None:
            raise
        failures.append((job, str(exc)))
        return False
    report.done(job.notebook, seconds, on=_on(job))
    return True


def _one_by_one(jobs, kernel, report, failures=None) -> Iterator[Job]:
    for job in jobs:
        def run(job=job) -> float:
            return run_notebook(job.notebook, job.target, dict(job.parameters), kernel)

        if _settled(job, run, report, failures):
            yield job


def _in_parallel(jobs, kernel, workers, report, failures=None) -> Iterator[Job]:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context())
    try:
        pending: dict[Future, Job] = {
            pool.submit(run_notebook, j.notebook, j.target, dict(j.parameters), kernel): j
            for j in jobs
        }
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: jobs.index(pending[f])):
                job = pending.pop(future)
                if _settled(job, future.result, report, failures):  # result() may raise
                    yield job
    finally:
        # on failure or interruption: start nothing new, let running notebooks end
        pool.shutdown(wait=True, cancel_futures=True)


def _context() -> multiprocessing.context.BaseContext:
    """A forkserver that imports papermill once (spawn where there is none).

    Plain fork would copy a parent that may hold threads (pyarrow's pools after a
    build); a fresh interpreter per worker would import papermill and nbformat
    (several seconds of CPU) once per worker.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, "papermill"])
    return context


def run_notebook(source: Path, target: Path, parameters: dict, kernel: str = KERNEL) -> float:
    """Execute one notebook with papermill into ``target``; return the seconds it took."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = time.perf_counter()
    with tempfile.TemporaryFile() as log, _stderr_to(log):
        try:
            papermill.execute_notebook(
                str(source),
                str(target),
                parameters=parameters,
                kernel_name=kernel,
                cwd=str(source.parent),
                progress_bar=False,
                log_output=False,
                config=kernel_config(),
            )
        except PapermillExecutionError as exc:
            error = f"{exc.ename}: {exc.evalue}".splitlines()[0]
            raise NotebookFailed(
                f"notebook {source.name} failed in cell In [{exc.exec_count}]: {error}"
            ) from None
        except Exception as exc:  # the kernel died, or did not start
            log.seek(0)
            said = log.read().decode(errors="replace")[-LOG_TAIL:].strip()
            said = f"; the kernel said: {' | '.join(said.splitlines())}" if said else ""
            raise NotebookFailed(
                f"notebook {source.name} failed: {type(exc).__name__}: {exc}{said}"
            ) from None
    return time.perf_counter() - started


def kernel_config():
    """Traitlets config for the kernel manager: encrypted channels where pyzmq can."""
    import zmq
    from traitlets.config import Config

    if not zmq.has("curve"):
        return Config()  # ipykernel's warning is then true, and shown
    # "auto": keys are provisioned when the kernelspec declares curve support (ipykernel
    # does); a kernel that does not still starts, unencrypted and saying so.
    return Config({"KernelManager": {"transport_encryption": "auto"}})


class _stderr_to:
    """Point file descriptor 2 at ``file`` for a block; the kernel inherits it."""

    def __init__(self, file) -> None:
        self.file = file

    def __enter__(self) -> None:
        sys.stderr.flush()
        self.saved = os.dup(2)
        os.dup2(self.file.fileno(), 2)

    def __exit__(self, *exc: object) -> None:
        sys.stderr.flush()
        os.dup2(self.saved, 2)
        os.close(self.saved)


class _Progress:
    """A bar over the notebooks on a terminal; one line per notebook otherwise."""

    def __init__(self, total: int, enabled: bool, stream=None) -> None:
        self.total, self.count, self.enabled = total, 0, enabled
        self.stream = stream or sys.stderr
        self.bar = None
        if enabled and self.stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="notebook", desc="notebooks", file=self.stream)

    def done(self, source: Path, seconds: float, reused: bool = False, on: str = "") -> None:
        """One notebook ended (``reused``: taken from the cache); ``on`` names its data."""
        self.count += 1
        said = "inputs unchanged" if reused else f"{seconds:.1f} s"
        said = f"{on}, {said}" if on else said
        if self.bar is not None:
            self.bar.set_postfix_str(f"{source.stem} {'reused' if reused else f'{seconds:.0f} s'}")
            self.bar.update(1)
        elif self.enabled:
            stamp = time.strftime("%H:%M:%S")
            verb = "reused" if reused else "executed"
            print(
                f"[{stamp}] {verb} {source.stem} ({self.count}/{self.total}, {said})",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
