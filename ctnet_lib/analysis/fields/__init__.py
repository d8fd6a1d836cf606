"""Fields of interaction: which input channels and positions reach an output after each sub-operation
(``interaction_field``, ``field_table``, ``channel_mixing``), the effective receptive field of whole
networks (``effective_receptive_field``) and the baselines as CT-Modules (``equivalence``)."""
