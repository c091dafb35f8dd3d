"""A process that ran a flow can still fork workers (torch DataLoader, multiprocessing) that exit cleanly."""

from __future__ import annotations

import multiprocessing
import threading

from prefect import flow

from flows import _fork_safety


@flow
def _tiny_flow() -> int:
    return 1


def _exit_code_of_forked_child() -> int:
    child = multiprocessing.get_context("fork").Process(target=int)
    child.start()
    child.join(timeout=60)
    return child.exitcode


def test_forked_child_exits_zero_after_a_flow_ran(prefect_server):
    assert _tiny_flow() == 1
    # The flow left Prefect's service exit hooks in this process: the fault exists here.
    assert any(_fork_safety._is_prefect_service_hook(hook) for hook in threading._threading_atexits)
    assert _exit_code_of_forked_child() == 0


def test_without_the_fork_hook_the_child_fails(prefect_server, monkeypatch):
    # Proves the test above can fail: Prefect's own behaviour, with our after-fork fix turned off.
    assert _tiny_flow() == 1
    monkeypatch.setattr(_fork_safety, "_is_prefect_service_hook", lambda hook: False)
    assert _exit_code_of_forked_child() == 1
