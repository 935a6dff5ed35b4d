"""The ``gello`` command: workers and operator tools over the library's public API."""
