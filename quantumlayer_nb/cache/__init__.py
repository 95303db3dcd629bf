"""The response cache and store: exact and semantic, shared by every process."""
