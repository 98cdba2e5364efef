"""The pipeline's Arrow allocator is chosen in one place and really becomes the process default."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from pipeline_pulse.core.arrow_memory import configure_arrow_memory
from pipeline_pulse.core.config import Settings


@pytest.fixture
def restore_pool() -> Iterator[None]:
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


@pytest.mark.parametrize("pool", ["jemalloc", "system"])
def test_the_configured_pool_allocates_the_next_arrays(pool: str, restore_pool: None) -> None:
    backend = configure_arrow_memory(pool)  # type: ignore[arg-type]
    assert backend == pool == pa.default_memory_pool().backend_name
    before = pa.default_memory_pool().bytes_allocated()
    values = pa.array(range(100_000), pa.int64())
    assert pa.default_memory_pool().bytes_allocated() >= before + values.nbytes
    del values
    assert pa.default_memory_pool().bytes_allocated() == before


def test_the_default_is_jemalloc_and_bad_names_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.model_fields["arrow_memory_pool"].default == "jemalloc"
    monkeypatch.setenv("ARROW_MEMORY_POOL", "tcmalloc")
    with pytest.raises(ValueError, match="arrow_memory_pool"):
        Settings()
