"""One torch thread for the Riemannian tests: tiny tensors gain nothing from a second thread, and
on a busy 2-core machine (``pytest -n 2``) waiting OpenMP threads slow them down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
