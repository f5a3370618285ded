"""policies/studio pages of the studio."""
