"""The advisor: alert history turned into configuration changes (Prometheus rules, Alertmanager), replayed first."""
