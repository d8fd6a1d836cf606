"""Analysis of models: complexity (MACs, params), closed-form costs, fields of interaction, latency."""
