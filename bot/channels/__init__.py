"""Channel adapters: turn platform updates into dialog events and render replies; no business logic."""
