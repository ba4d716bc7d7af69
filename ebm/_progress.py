"""Progress bar and Ctrl-C handling for ``ebm fit`` on the command line.

Both go through the estimator's ``callback``, which the boosting loop calls
after every step of every bag, from the threads that boost the bags.
"""

import contextlib
import shutil
import signal
import threading
import time

BAR_WIDTH = 20
MIN_REFRESH_SECONDS = 0.1


@contextlib.contextmanager
def interruptible(stop_event):
    """Make Ctrl-C (SIGINT) set ``stop_event`` and raise KeyboardInterrupt.

    Python delivers signals to the main thread only. Bags boosted in worker
    threads keep running until they see ``stop_event`` in the callback, so
    the main thread's KeyboardInterrupt does not have to wait for whole bags.
    Call from the main thread; the previous handler is restored at exit.
    """
    def handle(signal_number, frame):
        stop_event.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class FitProgress:
    """Callback that stops boosting on ``stop_event`` and draws a progress line.

    The line shows the stage (mains, then pairs), a bar of the bags' mean
    rounds as a share of ``max_rounds``, the mean of the bags' latest
    validation metrics (the loss's early-stopping metric) and the elapsed
    time. It is redrawn in place with a carriage return at most every 0.1 s.
    Early stopping usually ends the bags long before ``max_rounds``, so the
    bar is rarely full.

    Parameters
    ----------
    stream : text file
        Where the line is drawn (stderr), or None to draw nothing.
    n_bags : int
    max_rounds : int
    stage_terms : list of (str, int)
        Name and term count of each boosting stage, in order. A round is one
        step per term.
    stop_event : threading.Event
        When set, the callback returns True, which stops every bag.
    """

    def __init__(self, stream, n_bags, max_rounds, stage_terms, stop_event):
        self.stream = stream
        self.max_rounds = max(1, max_rounds)
        self.stage_terms = list(stage_terms) or [("boosting", 1)]
        self.stop_event = stop_event
        self._stage_idx = 0
        self._steps = [0] * n_bags
        self._metrics = [float("nan")] * n_bags
        self._start = time.monotonic()
        self._last_draw = float("-inf")
        self._drawn_width = 0
        self._lock = threading.Lock()

    def __call__(self, bag_idx, step_idx, progressed, metric):
        if self.stop_event.is_set():
            return True
        # A step that made no progress (a cyclic visit that only measured its
        # gain) repeats the step count and reports metric 0, so it is skipped.
        if self.stream is None or not progressed:
            return False
        if step_idx < self._steps[bag_idx]:
            # The step count restarts when the pair stage begins; every bag
            # finished the mains before any pair step.
            self._next_stage()
        self._steps[bag_idx] = step_idx
        self._metrics[bag_idx] = metric
        now = time.monotonic()
        # A bag thread that finds another one drawing skips this refresh.
        if now - self._last_draw >= MIN_REFRESH_SECONDS and self._lock.acquire(blocking=False):
            try:
                self._last_draw = now
                self._draw(now)
            finally:
                self._lock.release()
        return False

    def _next_stage(self):
        # Draw the finished stage's last state on its own line, then start the next.
        with self._lock:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self._drawn_width = 0
            if self._stage_idx + 1 < len(self.stage_terms):
                self._stage_idx += 1
            self._steps = [0] * len(self._steps)
            self._metrics = [float("nan")] * len(self._metrics)

    def line(self, now):
        """Return the progress line at time ``now`` (from ``time.monotonic``)."""
        stage, n_terms = self.stage_terms[self._stage_idx]
        rounds = sum(self._steps) / len(self._steps) / max(1, n_terms)
        share = min(1.0, rounds / self.max_rounds)
        filled = int(share * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        started = [value for steps, value in zip(self._steps, self._metrics) if steps > 0]
        metric = sum(started) / len(started) if started else float("nan")
        return (f"{stage} [{bar}] {rounds:.0f}/{self.max_rounds} rounds, "
                f"{len(self._steps)} bags, validation {metric:.5g}, {now - self._start:.0f} s")

    def _draw(self, now):
        width = shutil.get_terminal_size((80, 24)).columns - 1
        text = self.line(now)[:width]
        padding = " " * max(0, self._drawn_width - len(text))
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._drawn_width = len(text)

    def finish(self):
        """Draw the final state and end the line, if the stage made any step."""
        if self.stream is None or not any(self._steps):
            return
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()
        self._drawn_width = 0
