"""Which allocator holds the pipeline's Arrow buffers (settings `ARROW_MEMORY_POOL`).

pyarrow's default here is mimalloc, which keeps the pages of freed chunks: measured on one 100k-row Bulk Read
file (decode only, 10k-row chunks) it peaked 144 MB above the imports against jemalloc's 90 MB with the same
Arrow high-water mark (42 MB), and ended 291 vs 231 MB. jemalloc returns dirty pages after `DECAY_MS`, so each
chunk reuses what the previous one freed instead of growing the process (bench/RESULTS.md).
"""

from __future__ import annotations

import logging

import pyarrow as pa

from pipeline_pulse.core.config import ArrowMemoryPool

DECAY_MS = 0  # hand freed pages back at once: a chunk's buffers are large and short-lived
log = logging.getLogger(__name__)


def configure_arrow_memory(pool: ArrowMemoryPool) -> str:
    """Make `pool` the process's default Arrow pool (before the pipeline allocates); its backend name. Falls
    back to pyarrow's default when this build lacks the allocator."""
    try:
        if pool == "jemalloc":
            chosen = pa.jemalloc_memory_pool()
            pa.jemalloc_set_decay_ms(DECAY_MS)
        elif pool == "mimalloc":
            chosen = pa.mimalloc_memory_pool()
        else:
            chosen = pa.system_memory_pool()
    except NotImplementedError:
        log.warning("this pyarrow has no %s allocator; keeping %s", pool, pa.default_memory_pool().backend_name)
        return pa.default_memory_pool().backend_name
    pa.set_memory_pool(chosen)
    return chosen.backend_name
