"""Only transient I/O errors retry a task; bad input and programming errors fail at once."""

from __future__ import annotations

import pytest
from prefect.states import Completed, Failed

from flows.build_100w import is_transient


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (OSError(28, "No space left on device"), True),
        (ConnectionResetError("peer reset"), True),
        (FileNotFoundError("RAW/x.NEF"), False),
        (PermissionError("shards/"), False),
        (ValueError("unknown distortion types"), False),
        (KeyError("metric"), False),
    ],
)
def test_only_transient_io_errors_retry(error, retry):
    assert is_transient(None, None, Failed(data=error)) is retry


def test_a_completed_state_is_not_retried():
    assert is_transient(None, None, Completed(data=1)) is False
