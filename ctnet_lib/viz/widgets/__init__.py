"""ipywidgets user interfaces of the notebooks."""
