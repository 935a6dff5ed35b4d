"""Integrations with web frameworks and ORMs, each behind its own extra.

Every module here imports its framework at the top, so importing ``gello_queue`` loads
none of them; a module is imported only by the application that uses it. They build on
the public ``gello_queue`` API alone, and nothing in the library imports them.
"""
