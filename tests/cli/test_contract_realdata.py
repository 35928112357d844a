"""The shared acceptance check of the CLI contract, on Online Retail II (skipped without ../shared)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT.parent / "shared" / "tools" / "check-cli-contract"

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_cli_contract_holds_on_online_retail(shared_data):
    if not CHECK.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("../shared/tools/check-cli-contract is missing in CI")
        pytest.skip("../shared/tools/check-cli-contract is absent")
    p = subprocess.run([sys.executable, str(CHECK), sys.executable], cwd=ROOT, capture_output=True, text=True,
                       timeout=1800)
    failed = [line for line in p.stdout.splitlines() if line.startswith("FAIL")]
    assert p.returncode == 0 and failed == [], p.stdout[-3000:] + p.stderr[-2000:]
    assert "contract holds" in p.stdout
