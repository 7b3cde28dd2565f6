-- tenants 001: properties, units, and the events outbox.
-- Limits mirror services/tenants/unit_rules.h; codes compare byte-wise
-- (COLLATE "C") so that list order and keyset cursors do not depend on the
-- cluster's locale.

CREATE TABLE properties (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code        text COLLATE "C" NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
  name        text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
  address     text CHECK (octet_length(address) BETWEEN 1 AND 500),
  timezone    text NOT NULL DEFAULT 'Asia/Shanghai' CHECK (octet_length(timezone) BETWEEN 1 AND 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE units (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL REFERENCES properties (id),
  code        text COLLATE "C" NOT NULL CHECK (octet_length(code) BETWEEN 1 AND 64),
  building    text CHECK (octet_length(building) BETWEEN 1 AND 64),
  floor       text CHECK (octet_length(floor) BETWEEN 1 AND 16),
  area_m2     numeric(12,2) NOT NULL CHECK (area_m2 >= 0 AND area_m2 < 1000000000),
  use         text NOT NULL CHECK (use IN ('residential', 'office', 'retail', 'hotel',
                                           'parking', 'storage', 'other')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT units_code_unique UNIQUE (property_id, code),
  -- lets later tables reference (property_id, unit_id) so a row cannot point
  -- at another property's unit
  CONSTRAINT units_property_id_id_key UNIQUE (property_id, id)
);
CREATE INDEX units_property_building ON units (property_id, building);

-- The outbox: identical to OUTBOX_TABLE_SQL in common/outbox.h (a unit test compares them).
CREATE TABLE outbox (
  seq         bigserial PRIMARY KEY,
  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  id          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
  type        text NOT NULL,
  property_id uuid,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  data        jsonb NOT NULL
);
CREATE INDEX outbox_xid_seq ON outbox (xid, seq);
