"""Command groups of the ``gello`` CLI."""
