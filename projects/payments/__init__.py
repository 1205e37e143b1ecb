"""Enhanced-service payments and funding: the rules (``tariffs``, ``funding``, ``milestones``),
the payment lifecycle (``lifecycle``), funding applications (``applications``), who sees what
(``scopes``), and the reports and exports for finance (``reports``, ``exports``)."""
