"""Measured cost: timing and memory primitives (``measure``), latency tables of modules and networks
(``latency_tables``), and the benchmark suite behind ``ctnet benchmark`` (``benchmark_cases``,
``benchmark_suite``, ``benchmark_targets``, ``benchmark_results``; ``command``)."""
