"""Parsers for what people type: dates and amounts. Pure; 'today' is passed in."""
