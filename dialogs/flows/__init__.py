"""Flows declared on the engine; each module holds one dialog, readable top to bottom."""
