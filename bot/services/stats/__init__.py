"""Statistics (/stats, `rongcuo stats`): period.py (which days), compute.py (the figures, from
storage/repositories/stats.py), model.py (their shape and definitions), render.py (the message),
command.py (/stats and its buttons), record.py (what is stored at write time for the queries)."""
