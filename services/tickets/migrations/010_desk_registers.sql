-- tickets 010: the front desk's registers (issue J): visitors (出入人员登记),
-- items left at the desk (物件存放), vehicle passes (贵宾车辆/访客车辆), and the
-- desk's settings per property. Limits mirror services/tickets/desk_rules.h.

-- Per property; a property without a row keeps visitors' personal data
-- 180 days (DESK_RETENTION_DEFAULT).
CREATE TABLE desk_settings (
  property_id            uuid PRIMARY KEY,
  visitor_retention_days int NOT NULL CHECK (visitor_retention_days BETWEEN 1 AND 3650),
  updated_by             text,
  updated_at             timestamptz NOT NULL DEFAULT now()
);

-- registered -> on_site (check-in) -> left (check-out). Phones are stored
-- normalised (common/pii.h), plates normalised (粤B12345); both are NULL, and
-- the name DESK_PURGED_NAME, once purged_at is set by the retention job.
CREATE TABLE visitors (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id      uuid NOT NULL,
  name             text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 100),
  phone            text CHECK (octet_length(phone) BETWEEN 1 AND 24),
  id_number        text CHECK (octet_length(id_number) BETWEEN 3 AND 32),
  visiting_unit_id uuid,
  purpose          text NOT NULL CHECK (octet_length(purpose) BETWEEN 1 AND 500),
  vehicle_plate    text CHECK (octet_length(vehicle_plate) BETWEEN 4 AND 16),
  status           text NOT NULL DEFAULT 'registered' CHECK (status IN ('registered', 'on_site', 'left')),
  registered_at    timestamptz NOT NULL,
  registered_by    text NOT NULL,
  checked_in_at    timestamptz,
  checked_in_by    text,
  checked_out_at   timestamptz,
  checked_out_by   text,
  purged_at        timestamptz,
  CONSTRAINT visitors_steps CHECK (
    (status = 'registered' AND checked_in_at IS NULL AND checked_out_at IS NULL)
    OR (status = 'on_site' AND checked_in_at IS NOT NULL AND checked_out_at IS NULL)
    OR (status = 'left' AND checked_in_at IS NOT NULL AND checked_out_at IS NOT NULL))
);
-- the register, newest first (a day's, or all); who is on site now
CREATE INDEX visitors_register ON visitors (property_id, registered_at DESC, id DESC);
CREATE INDEX visitors_on_site ON visitors (property_id, registered_at DESC, id DESC) WHERE status = 'on_site';
-- the retention job: what is still to purge, oldest first
CREATE INDEX visitors_to_purge ON visitors (registered_at) WHERE purged_at IS NULL;
-- ?q=: a substring of the name, the plate or the phone's digits (pg_trgm,
-- as the FAQ: Chinese names match without a word splitter)
CREATE INDEX visitors_search ON visitors USING gin
  ((name || ' ' || coalesce(vehicle_plate, '') || ' ' || coalesce(phone, '')) gin_trgm_ops);

-- stored -> released. The claim code is kept only as a salted hash
-- (desk_rules.h); failed_attempts counts wrong codes, and from
-- DESK_CLAIM_TRIES_MAX on only a manager releases the item.
CREATE TABLE stored_items (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id     uuid NOT NULL,
  description     text NOT NULL CHECK (octet_length(description) BETWEEN 1 AND 500),
  unit_id         uuid,
  owner_name      text CHECK (octet_length(owner_name) BETWEEN 1 AND 100),
  location        text CHECK (octet_length(location) BETWEEN 1 AND 100),
  claim_hash      text NOT NULL,
  failed_attempts int NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  status          text NOT NULL DEFAULT 'stored' CHECK (status IN ('stored', 'released')),
  stored_at       timestamptz NOT NULL,
  stored_by       text NOT NULL,
  released_at     timestamptz,
  released_by     text,
  released_to     text CHECK (octet_length(released_to) BETWEEN 1 AND 100),
  release_reason  text CHECK (octet_length(release_reason) BETWEEN 1 AND 500),
  CONSTRAINT stored_items_release CHECK ((status = 'released') = (released_at IS NOT NULL AND released_to IS NOT NULL))
);
CREATE INDEX stored_items_list ON stored_items (property_id, stored_at DESC, id DESC);
CREATE INDEX stored_items_waiting ON stored_items (property_id, stored_at DESC, id DESC) WHERE status = 'stored';

-- A plate may enter while valid_from <= now < valid_to and not revoked.
CREATE TABLE vehicle_passes (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  plate       text NOT NULL CHECK (octet_length(plate) BETWEEN 4 AND 16),
  unit_id     uuid,
  party_id    uuid,
  valid_from  timestamptz NOT NULL,
  valid_to    timestamptz NOT NULL,
  vip         boolean NOT NULL DEFAULT false,
  note        text CHECK (octet_length(note) BETWEEN 1 AND 500),
  created_at  timestamptz NOT NULL,
  created_by  text NOT NULL,
  revoked_at  timestamptz,
  revoked_by  text,
  CONSTRAINT vehicle_passes_validity CHECK (valid_to > valid_from)
);
CREATE INDEX vehicle_passes_list ON vehicle_passes (property_id, created_at DESC, id DESC);
-- the barrier's question: this plate's passes not revoked, by end of validity
CREATE INDEX vehicle_passes_check ON vehicle_passes (property_id, plate, valid_to) WHERE revoked_at IS NULL;
