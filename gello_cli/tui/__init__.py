"""The ``gello queue:monitor`` dashboard (Textual). Imported only by that command."""
