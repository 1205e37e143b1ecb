"""The programme reports: one module per report, each with ``build(scope) -> Report`` (see ``evaluation.reporting``)."""
