"""Figure builders (matplotlib and plotly), notebook set-up, and the ipywidgets UIs in ``widgets/``."""
