-- tickets 006: tickets' own copy of what it needs from tenants (issue H): the
-- properties' timezones (ticket numbers, report days), the units' codes, the
-- parties' kinds and names, the occupancies (who is owner or tenant of
-- record), fed by tenants' events through common/consumer.h, never by
-- reading schema tenants. Rows are upserted in event order (last event
-- wins); tenants_copy.c also upserts what tenants answers when the copy does
-- not know an id yet (the copy lags by a moment), before any transaction.
CREATE TABLE tenant_properties (
  id          uuid PRIMARY KEY,
  timezone    text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenant_units (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  code        text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_units_property ON tenant_units (property_id, id);

CREATE TABLE tenant_parties (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  kind        text NOT NULL,
  name        text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_parties_property ON tenant_parties (property_id, id);

-- end_date is the last day occupied (inclusive), as in tenants; NULL = current.
CREATE TABLE tenant_occupancies (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  party_id    uuid NOT NULL,
  role        text NOT NULL,
  start_date  date,
  end_date    date,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_occupancies_unit ON tenant_occupancies (property_id, unit_id);

-- the consumer's bookkeeping (common/consumer.h, CONSUMER_TABLES_SQL)
CREATE TABLE consumer_cursors (
  producer   text PRIMARY KEY,
  cursor     text NOT NULL DEFAULT '0:0',
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE processed_events (
  event_id     uuid PRIMARY KEY,
  producer     text NOT NULL,
  type         text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now()
);
