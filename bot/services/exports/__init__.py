"""Exports: the filings, reviews, rectification items and return visits as XLSX or CSV, with the
summary of /stats; in chat (/export) and on the command line (rongcuo export)."""

from bot.services.exports.command import COMMANDS

__all__ = ["COMMANDS"]
