-- tickets 009: drop tickets_open_resolve_by, one index write less per create
-- and per deadline change (issue I). Since 004 the overdue list reads
-- tickets_open_created, and the SLA timer reads tickets_sla_* (001, 008); no
-- statement of the service has this index's shape any more (the roster's
-- open-ticket count does not require hold_since IS NULL). Checked with
-- pg_stat_user_indexes: 0 scans after test_tickets, test_sla,
-- test_tickets_concurrent, test_notifications and the POST benchmark.
DROP INDEX tickets_open_resolve_by;
