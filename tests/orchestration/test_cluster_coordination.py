"""The coordination, batch and unique-mode conformance tests again, on a real
three-master Redis Cluster: coordination keys carry their own hash tags and batches
theirs, so every script stays in one slot."""

from __future__ import annotations

from contract import test_coordination_contract as _coordination
from contract import test_unique_contract as _unique
from drivers.test_redis_cluster import cluster_url, driver

__all__ = ["cluster_url", "driver"]  # the cluster and a driver on it, as fixtures

globals().update(
    {
        k: v
        for module in (_coordination, _unique)
        for k, v in vars(module).items()
        if k.startswith("test_")
    }
)
