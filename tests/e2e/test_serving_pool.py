"""A served app's worker pool, driven over Streamlit's own websocket protocol on loopback
(deploy/stclient.py, no browser): a closed tab stops its training, a killed worker gives its
visitor a message in words and the next job runs, and the server answers its health endpoint
throughout.

The server gets one worker (``DIFFGEO_WORKERS=1``) so that the worker's CPU time is the job's.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from deploy.stclient import (
    Server,
    Session,
    busy_worker,
    seconds_until_idle,
    start_server,
    until_busy,
)

pytestmark = pytest.mark.e2e
T = TypeVar("T")

LONG_STEPS = 1000
"""Training steps of a job long enough to interrupt (about 11 s of CPU for the default
optimizers on the default task; below the page's training budget)."""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    srv = start_server(env={"DIFFGEO_WORKERS": "1"})
    yield srv
    srv.stop()


def _run(scenario: Coroutine[Any, Any, T]) -> T:
    """Run a scenario on a thread with an event loop of its own (the browser tests that ran
    before in this process leave Playwright's loop running on the main thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario).result()


async def _optim(port: int) -> Session:
    s = await Session.open(port)
    await s.goto("optim")  # the default experiment: a short training, waited for
    return s


def test_a_closed_tab_stops_its_training(server):
    async def scenario() -> tuple[float, float]:
        s = await _optim(server.port)
        s.stage("optim_steps", LONG_STEPS)
        await s.send()
        assert await until_busy(server, 60), "the long training never started in a worker"
        await asyncio.sleep(1.0)
        health = max(server.health_seconds() for _ in range(3))  # while a core trains
        s.abort()
        return await seconds_until_idle(server, 30), health

    idle, health = _run(scenario())
    # 2 s of grace (a rerun may ask again), the 0.5 s liveness check, then the cancel
    assert idle < 8.0, f"the abandoned training went on for {idle:.1f} s"
    assert health < 2.0


def test_a_killed_worker_is_reported_in_words_and_replaced(server):
    async def scenario() -> tuple[list[str], list[int], list[str]]:
        s = await _optim(server.port)
        s.stage("optim_steps", LONG_STEPS - 10)  # not the job of the other test
        await s.send()
        assert await until_busy(server, 60), "the long training never started in a worker"
        pid = await asyncio.to_thread(busy_worker, server)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        _, alerts = await s.drain(60)
        s.stage("optim_steps", 20)
        await s.send()
        statuses, after = await s.drain(120)
        await s.close()
        return alerts, statuses, after

    start = time.perf_counter()
    alerts, statuses, after = _run(scenario())
    assert alerts == ["Could not compute the training: the worker process computing this "
                      "stopped without an answer (it was killed, or ran out of memory); "
                      "try again"]
    assert statuses and statuses[-1] == 0, "the next training did not finish"  # successfully
    assert after == []
    assert time.perf_counter() - start < 180


def test_a_waiting_visitor_sees_the_queue_then_the_progress(server):
    async def scenario() -> tuple[list[str], list[int], list[str]]:
        first = await _optim(server.port)
        first.stage("optim_steps", LONG_STEPS - 20)
        await first.send()
        assert await until_busy(server, 60), "the long training never started in a worker"
        second = await _optim(server.port)
        second.stage("optim_steps", 200)  # another training: it waits for the one worker
        await second.send()
        await second.drain(1.5)  # still queued: the first job runs for seconds more
        first.abort()  # the first visitor leaves; its job is cancelled, the second starts
        statuses, alerts = await second.drain(120)
        await second.close()
        return second.progress_texts, statuses, alerts

    texts, statuses, alerts = _run(scenario())
    queued = [t for t in texts if t.startswith("Queued")]
    assert queued and "yours starts next" in queued[0], texts
    assert any(t.startswith("Training") for t in texts[texts.index(queued[-1]):]), texts
    assert statuses and statuses[-1] == 0 and alerts == []
