"""Repositories: all SQL lives here; services call these methods and never build queries."""
