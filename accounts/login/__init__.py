"""accounts/login pages of the studio."""
