"""The application's verbs. Authorization is decided here, once, for every channel."""
