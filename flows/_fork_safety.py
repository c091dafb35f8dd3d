"""Keep forked children of a process that ran a flow from exiting with status 1.

Prefect 3.8 registers each of its queue services' `drain` with `threading._register_atexit`, and
after `fork()` resets the services (`_done_event = None`) but not that registration. A forked
child that later exits through `multiprocessing` (a torch DataLoader worker, a Pool process) then
runs the inherited drain, trips `assert self._done_event is not None` in
prefect/_internal/concurrency/services.py, and exits with status 1: the DataLoader reports
"worker exited unexpectedly". The child owns none of those services, so it forgets their
exit hooks. Registered when `flows` is imported, i.e. before any flow runs in this process.
"""

from __future__ import annotations

import functools
import os
import threading


def _is_prefect_service_hook(hook: object) -> bool:
    # threading._register_atexit stores functools.partial(bound method); look through both.
    function = hook.func if isinstance(hook, functools.partial) else hook
    owner = getattr(getattr(function, "__func__", function), "__module__", "") or ""
    return owner.startswith("prefect._internal.concurrency")


def forget_inherited_prefect_exit_hooks() -> None:
    hooks = getattr(threading, "_threading_atexits", None)  # private; absent in other Pythons: nothing to do
    if isinstance(hooks, list):
        hooks[:] = [hook for hook in hooks if not _is_prefect_service_hook(hook)]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=forget_inherited_prefect_exit_hooks)
