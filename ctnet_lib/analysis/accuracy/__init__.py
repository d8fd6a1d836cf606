"""Measured accuracy: trained models' results read back and set beside the paper's (``ablation_results``:
the Table 2 study's runs, their seed spread and which of the paper's orderings hold)."""
