"""accounts/studio pages of the studio."""
