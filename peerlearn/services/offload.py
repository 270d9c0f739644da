"""CPU-heavy work kept off the event loop: a few OS threads per process, a slot each.

Under gevent (production: gunicorn's gevent worker, wsgi.py) every request of a process shares
one OS thread, so a quarter of a second of CPU in one request is a quarter of a second in which
nobody else is served. A ``Pool`` runs such work in a pool of ``slots`` OS threads (gevent's
ThreadPool) while the calling greenlet waits and the loop serves everyone else. That only helps
work that lets go of the GIL while it runs: Pillow while it decodes and resizes, argon2-cffi while
it hashes (cffi calls C functions with the GIL released).

Those threads run at a lower CPU priority than the event loop (``niceness``, OFFLOAD_NICENESS: 10
by default, set on each pool thread alone; Linux gives a nice-10 thread about a tenth of a core's
share against a nice-0 one). The work is the same, but when the cores are busy the loops of every
process on the machine go first: without it, two Argon2 checks, each in four threads of its own,
took both cores of a 2-core machine from the two web processes' loops for a tenth of a second at a
time, and every page waited behind the sign-ins. A sign-in under load waits longer instead; on an
idle machine nothing changes.

Under the threading server (``make run``), the test client or a worker each request already has
its own thread, and the work runs there; the slots still bound how many run at once, and so the
memory they take (75 MB for a large image, 64 MiB for an Argon2 hash).
"""

import os
import sys
import threading

_pools_lock = threading.Lock()


class Busy(Exception):
    """No slot came free within the pool's wait."""


class Pool:
    """At most ``slots`` calls at once; under gevent each runs in an OS thread of a pool that
    size (so memory stays bounded even if a waiting request gives up), elsewhere in the caller's
    thread. A call that finds no slot free within ``wait_seconds`` raises Busy (None: waits)."""

    def __init__(self, slots, wait_seconds=None, *, offload=True, niceness=0):
        self.slots = slots
        self.wait_seconds = wait_seconds
        self.niceness = niceness
        self.threads = None
        if offload and gevent_threading():
            from gevent.lock import BoundedSemaphore
            from gevent.threadpool import ThreadPool

            self.free = BoundedSemaphore(slots)
            self.threads = ThreadPool(slots)
        else:
            self.free = threading.BoundedSemaphore(slots)

    def run(self, function, *args, admit=None):
        """``function(*args)`` once a slot is free; ``admit()``, if given, runs first (in the
        caller) and may refuse by raising. ``function`` may run in another thread: hand it plain
        values, not the app context or ORM objects."""
        if not self.free.acquire(timeout=self.wait_seconds):
            raise Busy
        try:
            if admit is not None:
                admit()
            if self.threads is None:
                return function(*args)
            return self.threads.apply(_at_priority, (self.niceness, function, args))
        finally:
            self.free.release()


def _at_priority(niceness, function, args):
    """Run in a pool thread: lower this OS thread's priority (not the process's: on Linux a
    thread id names the thread alone, and threads it starts, like Argon2's lanes, inherit it),
    then do the work. A thread's priority can only be lowered without privileges, which is all
    this asks; setting the same value again is a no-op."""
    if niceness and hasattr(os, "setpriority"):
        thread_id = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, thread_id) < niceness:
            os.setpriority(os.PRIO_PROCESS, thread_id, niceness)
    return function(*args)


def pool_for(app, name, slots, wait_seconds=None, *, offload=True):
    """The app's pool called ``name`` in this process, made on first use: after a fork and after
    gevent has patched the process, so it is of the right kind. Its threads run at the app's
    OFFLOAD_NICENESS."""
    key = (f"peerlearn.offload.{name}", os.getpid())
    pool = app.extensions.get(key)
    if pool is None:
        with _pools_lock:
            pool = app.extensions.get(key)
            if pool is None:
                pool = app.extensions[key] = Pool(
                    slots, wait_seconds, offload=offload, niceness=app.config["OFFLOAD_NICENESS"]
                )
    return pool


def gevent_threading():
    """True when gevent has patched threading (gunicorn's gevent worker, wsgi.py): CPU work in
    this thread would hold up every greenlet."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")
