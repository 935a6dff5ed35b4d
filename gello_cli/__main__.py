"""``python -m gello_cli``: the same as the ``gello`` command."""

from gello_cli.app import main

main()
