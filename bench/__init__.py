"""VaultStudio's benchmarks: each hot path measured against an in-run baseline (``make bench``)."""
