-- tickets 017: per-person performance (绩效) and the satisfaction index
-- (满意指数), issue L (performance.c).
--
-- The performance report reads a property's timeline by time (who created,
-- resolved, reopened what in a window); the only index was per ticket, so
-- it would have read every row of the property. The satisfaction index
-- reads a property's follow-up calls by month; ticket_feedback had only its
-- primary key. Both reports then reach tickets by primary key.
CREATE INDEX ticket_timeline_property_at ON ticket_timeline (property_id, at);
CREATE INDEX ticket_feedback_property_created ON ticket_feedback (property_id, created_at);

-- The acting user's name (the gateway's username, or an API key's name, as
-- the envelope's caller carries it), recorded beside actor_id where the
-- action is recorded, as billing's payments keep their cashier's name
-- (billing 005): tickets stores only the gateway's user ids, which mean
-- nothing on a report. NULL for rows written before, for the system's
-- rows, and until the statement writing the row passes the name.
ALTER TABLE ticket_timeline ADD COLUMN actor_name text CHECK (octet_length (actor_name) <= 128);
