"""Helpers shared by the benchmark scripts: machine, memory, worker processes, options.

Linux only: the machine and memory values come from ``/proc``.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import threading

# Interval of the RSS sampler, in seconds.
SAMPLE_INTERVAL = 0.02

# A worker prints its result as one line: this prefix, then JSON.
RESULT_PREFIX = "RESULT "


def read_status_kib(pid, field):
    # Value of a "Field:   123 kB" line of /proc/PID/status, in KiB, or 0.
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def descendants(pid):
    found = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            task_ids = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task_id in task_ids:
            try:
                with open(f"/proc/{parent}/task/{task_id}/children", encoding="ascii") as f:
                    children = [int(child) for child in f.read().split()]
            except FileNotFoundError:
                continue
            found.extend(children)
            pending.extend(children)
    return found


class TreeRssSampler:
    """Peak of the summed RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, interval=SAMPLE_INTERVAL):
        self.interval = interval
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        pid = os.getpid()
        total = sum(read_status_kib(p, "VmRSS") for p in [pid, *descendants(pid)])
        self.peak_kib = max(self.peak_kib, total)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        self._sample()


def reset_peak_rss():
    # Writing 5 to clear_refs resets VmHWM (Linux 4.0 and newer); returns success.
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def thread_count(n_jobs):
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return n_jobs


def machine_description():
    """CPU model, logical CPUs and memory of this machine, from /proc."""
    cpu_model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="ascii") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = read_meminfo_kib("MemTotal") / 1024 ** 2
    return f"{cpu_model}, {os.cpu_count()} logical CPUs, {memory_gib:.1f} GiB memory"


def read_meminfo_kib(field):
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory:
    """Peak resident memory of a block of code, in MiB, for a process started to run it.

    On entry the kernel's peak-RSS counter of this process (VmHWM) is reset, so
    what ran before (imports, data loading) counts only by the memory it still
    holds. On exit ``peak_mib`` is the larger of this process's VmHWM and the
    sampled peak of the summed RSS of this process and its descendants (for
    libraries that fit in worker processes). Nothing is subtracted: the peak
    includes the interpreter, the imported modules and the data.
    ``rss_before_mib`` is the RSS on entry, and ``peak_reset`` is whether
    the reset worked. Without the reset, VmHWM covers the whole life of the process.
    """

    def __enter__(self):
        self.peak_reset = reset_peak_rss()
        self.rss_before_mib = read_status_kib("self", "VmRSS") / 1024
        self._sampler = TreeRssSampler()
        self._sampler.__enter__()
        return self

    def __exit__(self, *exc_info):
        self._sampler.__exit__(*exc_info)
        self.peak_mib = max(read_status_kib("self", "VmHWM"), self._sampler.peak_kib) / 1024


def load_average():
    """The 1, 5 and 15 minute load averages as text, for example "0.52 0.61 0.70"."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def source_commit():
    """Short git commit of the repository holding this file, or "unknown"."""
    directory = os.path.dirname(os.path.abspath(__file__))
    try:
        completed = subprocess.run(["git", "-C", directory, "rev-parse", "--short", "HEAD"],
                                   capture_output=True, text=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip()


def run_worker_process(script, request, n_jobs, timeout, omp_wait_policy=None):
    """Run ``python SCRIPT --worker JSON`` in a new process and return its result dict.

    The process gets ``OMP_NUM_THREADS`` set to the thread count of ``n_jobs``
    and, unless ``omp_wait_policy`` is None, ``OMP_WAIT_POLICY`` set to it.

    Raises
    ------
    RuntimeError
        If the worker times out or exits without printing a result line; the
        message has the exit status and the last line of its standard error.
    """
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(thread_count(n_jobs))
    if omp_wait_policy is not None:
        env["OMP_WAIT_POLICY"] = omp_wait_policy
    command = [sys.executable, os.path.abspath(script), "--worker", json.dumps(request)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=env,
                                   timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"timed out after {timeout} s") from error

    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    stderr_lines = [line for line in completed.stderr.splitlines() if line.strip()]
    last_line = stderr_lines[-1] if stderr_lines else "no output"
    raise RuntimeError(f"worker exited with status {completed.returncode}: {last_line}")


def print_worker_result(result):
    """Print a worker's result dict as the line that run_worker_process reads."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def positive_int(text):
    """Parse a positive integer option; "1e6" is accepted as 1000000, "1.5" and "inf" are not."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}") from None
    if not (math.isfinite(number) and number.is_integer() and number >= 1):
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return int(number)
