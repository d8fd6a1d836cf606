"""Analysis of models, in three rooms: ``counting`` (MACs, params, closed-form costs, the paper's
tables), ``fields`` (fields of interaction, effective receptive fields, equivalences) and ``timing``
(latency, memory, the benchmark suite)."""
