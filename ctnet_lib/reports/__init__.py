"""Papermill reports: run the notebooks with a parameter preset into ``reports/<preset>/``.

Entry points: ``suite.plan_reports`` + ``suite.run_suite`` (the whole ``ctnet report`` run),
``runner.run_report`` (one notebook), ``html_export.export_html``, ``index_page.write_index``.
"""
