"""Worker processes that never outlive the command that started them.

A killed `memories index` (kill -9, or SIGTERM, whose default action skips all clean-up) used to
leave its pool workers running forever, each holding the models (~250 MB). Every worker asks the
Linux kernel to send it SIGKILL when its parent dies (prctl PR_SET_PDEATHSIG), and checks that
the parent is still the one that started it, in case it died before the request was made.
Elsewhere this does nothing: the pool's own shutdown is all there is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a worker process; parent_pid is os.getpid() of the process that made it."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)
