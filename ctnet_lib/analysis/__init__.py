"""Analysis of models, by subject: ``counting`` (MACs, params, closed-form costs, the paper's tables),
``fields`` (fields of interaction, effective receptive fields, equivalences), ``timing`` (latency,
memory, the benchmark suite) and ``accuracy`` (trained models' results beside the paper's)."""
