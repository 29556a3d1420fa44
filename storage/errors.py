class ConcurrentUpdate(Exception):
    """Another transaction changed the same row first; the caller retries from the start."""
