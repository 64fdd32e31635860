"""The worker pool: results, sharing, queue positions, cancellation, limits and faults.

Every test runs real spawned worker processes on this machine (loopback pipes only)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from dashboard.jobs import JobCancelled, JobLimitExceeded, WorkerLost, WorkerPool
from tests.dashboard import jobs_tasks as tasks


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    p = WorkerPool(2, grace_s=0.3, poll_s=0.05, nice=0)
    yield p
    p.shutdown()


def _until(condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.02)


def test_result_and_progress(pool):
    job = pool.submit(tasks.count, (20, 0.02), owner="a")
    seen = set()
    while not job.wait(0.01):
        seen.add(round(job.progress, 2))
    assert job.result() == sum(range(20))
    assert job.state == "done" and job.progress == 1.0
    assert len(seen - {0.0}) >= 3  # progress arrived while it ran, not only at the end


def test_error_comes_back_with_its_type_and_message(pool):
    job = pool.submit(tasks.fail, ("n must be positive, got -3",), owner="a")
    assert job.wait(20)
    with pytest.raises(ValueError, match="n must be positive, got -3"):
        job.result()
    assert job.state == "failed"


def test_same_call_is_shared_and_a_finished_one_is_answered_at_once(pool):
    first = pool.submit(tasks.count, (10, 0.03), owner="a")
    second = pool.submit(tasks.count, (10, 0.03), owner="b")
    assert second is first
    assert first.wait(20) and first.result() == 45
    again = pool.submit(tasks.count, (10, 0.03), owner="c")
    assert again is first and again.finished
    other = pool.submit(tasks.count, (11, 0.0), owner="c")
    assert other is not first
    assert other.wait(20) and other.result() == 55


def test_queue_positions():
    p = WorkerPool(1, grace_s=5, poll_s=0.05, nice=0)
    try:
        running = p.submit(tasks.count, (40, 0.05), owner="a")
        _until(lambda: running.state == "running")
        b = p.submit(tasks.count, (1, 0.0), owner="b")
        c = p.submit(tasks.count, (2, 0.0), owner="c")
        assert (p.ahead(running), p.ahead(b), p.ahead(c)) == (0, 0, 1)
        assert p.stats()["queued"] == 2
        assert c.wait(30) and c.result() == 1
        assert b.state == "done" and b.finished_at <= c.finished_at  # first in, first out
    finally:
        p.shutdown()


def test_a_job_nobody_waits_for_is_cancelled_and_its_worker_kept(pool):
    worker_before = pool.submit(tasks.pid, (), owner="p")
    assert worker_before.wait(20)
    job = pool.submit(tasks.count, (2000, 0.01), owner="gone")  # 20 s if left alone
    _until(lambda: job.state == "running" and job.progress > 0)
    pool.detach("gone", job)
    assert job.wait(pool.grace_s + 3), "an abandoned job kept running"
    assert job.state == "cancelled"
    with pytest.raises(JobCancelled):
        job.result()
    # cancelled through its progress callback: both workers are still the original ones
    assert worker_before.result() in pool.worker_pids()


def test_rerun_within_grace_keeps_the_job(pool):
    job = pool.submit(tasks.count, (30, 0.03), owner="r")
    _until(lambda: job.state == "running")
    pool.detach("r", job)
    again = pool.submit(tasks.count, (30, 0.03), owner="r")  # the rerun asks again at once
    assert again is job
    assert job.wait(20) and job.result() == sum(range(30))


def test_a_session_owns_one_job(pool):
    old = pool.submit(tasks.count, (2000, 0.01), owner="s")
    _until(lambda: old.state == "running")
    new = pool.submit(tasks.count, (3, 0.0), owner="s")
    assert new.wait(20) and new.result() == 3
    assert old.wait(pool.grace_s + 3) and old.state == "cancelled"


def test_a_shared_job_survives_one_owner_leaving(pool):
    job = pool.submit(tasks.count, (40, 0.02), owner="x")
    pool.submit(tasks.count, (40, 0.02), owner="y")
    pool.detach("x")
    assert job.wait(20) and job.result() == sum(range(40))


def test_closed_tab_cancels(pool):
    open_tab = [True]
    job = pool.submit(tasks.count, (2000, 0.01), owner="tab", alive=lambda: open_tab[0])
    _until(lambda: job.state == "running")
    open_tab[0] = False
    assert job.wait(pool.grace_s + 3) and job.state == "cancelled"


def test_jobs_that_ignore_cancellation_are_killed(pool):
    for fn, args in ((tasks.silent_sleep, (60.0,)), (tasks.swallow_everything, (60.0,))):
        kw = {"progress_kw": None} if fn is tasks.silent_sleep else {}
        job = pool.submit(fn, args, owner="stubborn", **kw)
        _until(lambda job=job: job.state == "running")
        start = time.monotonic()
        pool.detach("stubborn", job)
        assert job.wait(pool.grace_s + 4), f"{fn.__name__} was never stopped"
        assert job.state == "cancelled"
        assert time.monotonic() - start < pool.grace_s + 2.5
    after = pool.submit(tasks.count, (4, 0.0), owner="next")  # the pool replaced the worker
    assert after.wait(20) and after.result() == 6


def test_cpu_limit():
    p = WorkerPool(1, cpu_limit_s=1.0, poll_s=0.05, nice=0)
    try:
        job = p.submit(tasks.burn, (30.0,), owner="a")
        assert job.wait(15)
        with pytest.raises(JobLimitExceeded, match="1 s of computing") as info:
            job.result()
        assert info.value.kind == "time"
        ok = p.submit(tasks.count, (3, 0.0), owner="a")
        assert ok.wait(20) and ok.result() == 3
    finally:
        p.shutdown()


def test_memory_limit():
    p = WorkerPool(1, memory_bytes=200 * 2**20, poll_s=0.05, nice=0)
    try:
        job = p.submit(tasks.hoard, (400, 20.0), owner="a")
        assert job.wait(15)
        with pytest.raises(JobLimitExceeded) as info:
            job.result()
        assert info.value.kind == "memory"
        small = p.submit(tasks.hoard, (20, 0.0), owner="a")
        assert small.wait(20) and small.result() == 20 * 2**20
    finally:
        p.shutdown()


def test_killed_worker_fails_its_job_and_the_pool_recovers(pool):
    job = pool.submit(tasks.die, (), owner="k")
    assert job.wait(20)
    with pytest.raises(WorkerLost, match="stopped without an answer"):
        job.result()
    after = pool.submit(tasks.count, (5, 0.0), owner="k")
    assert after.wait(20) and after.result() == 10
    assert pool.stats()["workers"] <= pool.workers


def test_bad_arguments():
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        WorkerPool(0)


def test_asking_again_while_a_cancel_is_under_way_starts_a_new_job(pool):
    old = pool.submit(tasks.nap, (3.0,), owner="late")
    _until(lambda: old.state == "running" and old.progress == 0.0)
    pool.detach("late", old)
    time.sleep(pool.grace_s + 0.4)  # the cancel is sent; the job does not see it
    assert not old.finished
    new = pool.submit(tasks.nap, (3.0,), owner="late")
    assert new is not old
    assert new.wait(20) and new.result() == "rested"
    assert old.state == "cancelled"


def test_workers_never_run_the_main_script(tmp_path, monkeypatch):
    """A main script without an ``if __name__ == "__main__"`` guard (AppTest leaves the page
    script as ``__main__``) must not run again in the workers."""
    import sys
    import types

    script = tmp_path / "unguarded.py"
    script.write_text("raise SystemExit('the main script ran in a worker')\n")
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    p = WorkerPool(1, poll_s=0.05, nice=0)
    try:
        job = p.submit(tasks.count, (3, 0.0), owner="a")
        assert job.wait(30) and job.result() == 3
    finally:
        p.shutdown()
    assert main.__file__ == str(script)  # put back
