-- tenants 002: parties (业户), occupancies (入伙/迁出), the PII read audit,
-- parking spaces and leases (车位租赁).
--
-- Every table carries property_id, and references into units and parties
-- go through (property_id, id) pairs, so no row can point at another
-- property's unit or party. History is kept: occupancies and leases are
-- ended, never deleted.

CREATE TABLE parties (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id       uuid NOT NULL REFERENCES properties (id),
  kind              text NOT NULL CHECK (kind IN ('person', 'company')),
  name              text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 200),
  -- normalised (digits, a leading + or a landline's dash); the first is the primary
  phones            text[] NOT NULL DEFAULT '{}' CHECK (cardinality(phones) <= 5),
  email             text CHECK (octet_length(email) BETWEEN 3 AND 254),
  id_type           text CHECK (id_type IN ('resident_id', 'passport', 'other', 'credit_code')),
  id_number         text CHECK (octet_length(id_number) BETWEEN 3 AND 32),
  key_customer      boolean NOT NULL DEFAULT false,
  key_customer_note text CHECK (octet_length(key_customer_note) <= 1000),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT parties_property_id_id_key UNIQUE (property_id, id),
  CONSTRAINT parties_id_number_pair CHECK ((id_type IS NULL) = (id_number IS NULL))
);
-- one party per ID document in a property (what makes a re-import a duplicate)
CREATE UNIQUE INDEX parties_id_number_unique ON parties (property_id, id_type, id_number)
  WHERE id_number IS NOT NULL;
CREATE INDEX parties_name ON parties (property_id, name text_pattern_ops);
-- "the last 4 digits of a phone": an expression index over every phone's tail
CREATE TABLE party_phone_tails (
  property_id uuid NOT NULL,
  party_id    uuid NOT NULL,
  tail        text NOT NULL,
  PRIMARY KEY (property_id, tail, party_id),
  FOREIGN KEY (property_id, party_id) REFERENCES parties (property_id, id) ON DELETE CASCADE
);

CREATE TABLE occupancies (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  party_id    uuid NOT NULL,
  role        text NOT NULL CHECK (role IN ('owner', 'tenant', 'resident')),
  start_date  date NOT NULL,
  end_date    date,
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  FOREIGN KEY (property_id, unit_id) REFERENCES units (property_id, id),
  FOREIGN KEY (property_id, party_id) REFERENCES parties (property_id, id),
  CONSTRAINT occupancies_dates CHECK (end_date IS NULL OR end_date >= start_date)
);
-- a party holds one current occupancy of a given role in a unit at a time
CREATE UNIQUE INDEX occupancies_current_unique ON occupancies (unit_id, party_id, role)
  WHERE end_date IS NULL;
CREATE INDEX occupancies_unit ON occupancies (property_id, unit_id);
CREATE INDEX occupancies_party ON occupancies (property_id, party_id);

-- Each read of a party's full personal data (phones, ID number) by a role
-- that sees it whole: who, when, which party. Readable by admins.
CREATE TABLE pii_reads (
  id          bigserial PRIMARY KEY,
  property_id uuid NOT NULL,
  party_id    uuid NOT NULL,
  user_id     text NOT NULL,
  role        text NOT NULL,
  request_id  text,
  method      text NOT NULL,
  read_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pii_reads_party ON pii_reads (property_id, party_id, read_at);
CREATE INDEX pii_reads_time ON pii_reads (property_id, read_at);

CREATE TABLE parking_spaces (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL REFERENCES properties (id),
  code        text COLLATE "C" NOT NULL CHECK (octet_length(code) BETWEEN 1 AND 64),
  zone        text CHECK (octet_length(zone) BETWEEN 1 AND 64),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT parking_spaces_code_unique UNIQUE (property_id, code),
  CONSTRAINT parking_spaces_property_id_id_key UNIQUE (property_id, id)
);

-- Two leases of one space over overlapping dates cannot both exist: the
-- database refuses the second (23P01 -> 409), however the requests race.
-- The range is inclusive of both dates; an open end is infinity.
-- (gist over uuid equality needs btree_gist, created by deploy/postgres-init.sql.)
CREATE TABLE parking_leases (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  space_id    uuid NOT NULL,
  party_id    uuid NOT NULL,
  unit_id     uuid,
  start_date  date NOT NULL,
  end_date    date,
  monthly_fee bigint NOT NULL CHECK (monthly_fee >= 0 AND monthly_fee <= 100000000000),
  created_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  FOREIGN KEY (property_id, space_id) REFERENCES parking_spaces (property_id, id),
  FOREIGN KEY (property_id, party_id) REFERENCES parties (property_id, id),
  FOREIGN KEY (property_id, unit_id) REFERENCES units (property_id, id),
  CONSTRAINT parking_leases_dates CHECK (end_date IS NULL OR end_date >= start_date),
  CONSTRAINT parking_leases_no_overlap EXCLUDE USING gist (
    space_id WITH =, daterange(start_date, end_date, '[]') WITH &&)
);
CREATE INDEX parking_leases_party ON parking_leases (property_id, party_id);
