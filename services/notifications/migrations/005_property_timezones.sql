-- notifications 005: the time zone of each property, so that the times in
-- the messages people read are the property's wall times ("11月27日 14:30"),
-- not UTC. Part of the archive copy, fed by tenants' property.created (and
-- property.updated, should tenants ever raise it) in the consumer's
-- transaction; a zone PostgreSQL does not know is stored as the default.
-- A property without a row (created before this table, or whose event is
-- still behind the ticket's) is shown in Asia/Shanghai, as tenants defaults.
CREATE TABLE properties (
  id          uuid PRIMARY KEY,
  timezone    text NOT NULL DEFAULT 'Asia/Shanghai' CHECK (octet_length(timezone) BETWEEN 1 AND 64),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
