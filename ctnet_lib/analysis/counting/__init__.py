"""Counted cost: MACs and parameters by a counter (``complexity``), in closed form (``formulas``), and the
paper's complexity tables reproduced (``paper_tables``); ``command`` is ``ctnet complexity``."""
