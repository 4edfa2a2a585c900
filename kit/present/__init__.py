"""Words, figures and formatted tables: the one escaper, number formatting, the plotting theme.

Imports only ``kit.core``, so every result's ``.describe()`` and ``.plot()`` can use it.
"""
