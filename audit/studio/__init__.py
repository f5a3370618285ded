"""audit/studio pages of the studio."""
