"""Where the report suite lives (relative to the checkout) and which Jupyter kernel runs it.

Kept free of heavy imports so that ``ctnet --help`` stays quick.
"""

from pathlib import Path

NOTEBOOKS_DIR = Path("notebooks")
PRESETS_DIR = Path("reports/presets")
OUTPUT_DIR = Path("reports")
PREFERRED_KERNEL = "ctnet-lab"
FALLBACK_KERNEL = "python3"
