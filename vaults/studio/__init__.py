"""vaults/studio pages of the studio."""
