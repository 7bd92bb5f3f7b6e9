"""HTTP layer: blueprints translate requests into core calls and results into responses."""
