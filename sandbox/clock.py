"""The sandbox's single notion of "now", which tests can stop and move."""

import datetime
import threading
import time


class Clock:
    """Time source for token expiry, rate-limit buckets and timestamps.

    It follows ``source`` (the wall clock by default) until :meth:`freeze` or
    :meth:`advance` is called; from then on it only moves through
    :meth:`advance`, so a test can drain a rate-limit bucket or expire a token
    without sleeping. :meth:`thaw` returns to the source.
    """

    def __init__(self, source=time.time):
        self._source = source
        self._frozen_at = None
        self._lock = threading.Lock()

    def now(self):
        """Seconds since the epoch (float)."""
        with self._lock:
            return self._source() if self._frozen_at is None else self._frozen_at

    __call__ = now

    def utcnow(self):
        """:meth:`now` as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.now(), datetime.UTC)

    @property
    def frozen(self):
        return self._frozen_at is not None

    def freeze(self, at=None):
        """Stop the clock at ``at`` (epoch seconds), or at the current time."""
        with self._lock:
            self._frozen_at = self._source() if at is None else float(at)

    def advance(self, seconds):
        """Move the clock forward; freezes it first if it is running."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._source()
            self._frozen_at += seconds

    def thaw(self):
        """Follow the source again."""
        with self._lock:
            self._frozen_at = None
