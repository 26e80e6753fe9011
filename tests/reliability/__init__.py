"""The reliability and security suite: fault matrix, properties, load, secrets (issue 7)."""
