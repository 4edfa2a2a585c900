"""Metric expressions on the engine, returning small period x group frames as result objects."""
