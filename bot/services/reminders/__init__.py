"""Reminders: rows planned when something gets a deadline, sent by a periodic tick under a lease."""
