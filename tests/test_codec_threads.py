"""Blocks are encoded and decoded by many threads at once (the service's worker threads):
python-zstandard's compressors are not thread-safe, and a shared one crashed the service
process. Run in a child process, so a crash fails this test instead of the test run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import threading
    import numpy as np
    from lifetwin.store.codec import Columns, decode, encode

    n = 20_000
    rng = np.random.default_rng(0)
    cols = Columns(
        ts_ms=np.arange(n, dtype=np.int64) * 60_000,
        dur_ms=np.zeros(n, dtype=np.int64),
        value=rng.normal(70, 5, n),
        tz_min=np.zeros(n, dtype=np.int64),
        quality=np.zeros(n, dtype=np.int64),
        import_id=np.ones(n, dtype=np.int64),
        record=np.arange(n, dtype=np.int64),
    )
    blob = encode(cols)
    failures = []

    def work():
        for _ in range(150):
            again = decode(blob)
            if not np.array_equal(again.value, cols.value) or encode(again) != blob:
                failures.append(1)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("failures", len(failures))
    """
)


def test_blocks_are_coded_by_many_threads_at_once_without_a_crash() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"the process died ({done.returncode}): {done.stderr[-500:]}"
    assert done.stdout.strip() == "failures 0"
