"""What `seagull` sets up before a command runs: Prefect's analytics off (one place,
seagull/commands/_prefect_env.py) and `--quiet` (no progress bars, no Prefect info logs).

Each case runs in a fresh interpreter: tqdm and Prefect read these settings when first imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = (
    "import json, os, sys\n"
    "from click.testing import CliRunner\n"
    "from seagull.cli import main\n"
    "result = CliRunner().invoke(main, sys.argv[1:])\n"
    "assert result.exit_code == 0, result.output\n"
    "from tqdm import tqdm\n"
    "from prefect.settings import get_current_settings\n"
    "settings = get_current_settings()\n"
    "print(json.dumps({'bar_disabled': tqdm(range(1), file=sys.stderr).disable,\n"
    "    'prefect_log_level': settings.logging.level, 'analytics': settings.server.analytics_enabled}))\n"
)


def probe(*args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TQDM_", "PREFECT_"))}
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("args", "quiet"), [(["verify", "--help"], False), (["--quiet", "verify", "--help"], True)]
)
def test_quiet_hides_progress_bars_and_prefect_info_and_analytics_are_always_off(args, quiet):
    seen = probe(*args)
    assert seen["bar_disabled"] is quiet
    assert (seen["prefect_log_level"] == "WARNING") is quiet
    assert seen["analytics"] is False


def test_quiet_is_a_global_option_in_the_help():
    from click.testing import CliRunner

    from seagull.cli import main

    assert "--quiet" in CliRunner().invoke(main, ["--help"]).output
