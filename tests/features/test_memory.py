"""Freed memory kept for reuse within a pass, and handed back between passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

_RSS = """
import json, sys
import numpy as np
import pyarrow as pa
from features.memory import release_memory, reuse_memory

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096

if sys.argv[1] == "reuse":
    reuse_memory()
before = rss()
array = np.ones(1 << 25)  # 256 MB
held = rss()
del array
freed = rss()
release_memory()
print(json.dumps({"held": held - before, "freed": freed - before, "released": rss() - before,
                  "arrow": pa.default_memory_pool().backend_name}))
"""


def _grown(mode: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", _RSS, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(run.stdout)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads Linux's /proc")
def test_freed_arrays_stay_for_reuse_until_released():
    size = 1 << 28
    default, reuse = _grown("default"), _grown("reuse")
    assert default["held"] > 0.9 * size and reuse["held"] > 0.9 * size
    # By default a large array's pages go back as soon as it is freed ...
    assert default["freed"] < 0.1 * size
    # ... with reuse_memory they stay for the next array, until release_memory.
    assert reuse["freed"] > 0.9 * size
    assert reuse["released"] < 0.1 * size
    assert reuse["arrow"] == "system"
