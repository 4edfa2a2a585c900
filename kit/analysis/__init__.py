"""Statistics on the metrics' small frames: seasonality, anomalies, comparisons, forecasts, drivers, benchmarks."""
