-- tenants 004: move-ins with their checklist (入伙办理), each property's
-- checklist, the move-out clearance override, and the key customers'
-- contact log (重点顾客). Limits mirror services/tenants/move_in_rules.h.

-- A property's move-in checklist as its managers edited it: items
-- [{"item","label":{"zh","en"},"required","value_kind"}]. No row: the
-- defaults of move_in_rules.c.
CREATE TABLE move_in_checklists (
  property_id uuid PRIMARY KEY REFERENCES properties (id),
  items       jsonb NOT NULL CHECK (jsonb_typeof (items) = 'array'),
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A move-in: the desk's file from opening to the occupancy it starts. The
-- checklist is the property's at opening (later edits do not change it),
-- each item with "done", "note", "value", "done_at", "done_by".
-- `complete` inserts the occupancy and sets occupancy_id in the same
-- transaction (DESIGN.md, "Move-in records").
CREATE TABLE move_ins (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id   uuid NOT NULL,
  unit_id       uuid NOT NULL,
  party_id      uuid NOT NULL,
  role          text NOT NULL CHECK (role IN ('owner', 'tenant', 'resident')),
  start_date    date NOT NULL,
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'cancelled')),
  checklist     jsonb NOT NULL CHECK (jsonb_typeof (checklist) = 'array'),
  occupancy_id  uuid UNIQUE REFERENCES occupancies (id),
  opened_by     text NOT NULL,
  closed_by     text,
  cancel_reason text CHECK (char_length (cancel_reason) BETWEEN 1 AND 500),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  closed_at     timestamptz,
  FOREIGN KEY (property_id, unit_id) REFERENCES units (property_id, id),
  FOREIGN KEY (property_id, party_id) REFERENCES parties (property_id, id),
  CONSTRAINT move_ins_completed_occupancy CHECK ((status = 'completed') = (occupancy_id IS NOT NULL)),
  CONSTRAINT move_ins_closed CHECK ((status = 'open') = (closed_at IS NULL))
);
-- one open move-in per unit, party and role: a second is a conflict
CREATE UNIQUE INDEX move_ins_open_unique ON move_ins (unit_id, party_id, role) WHERE status = 'open';
CREATE INDEX move_ins_status ON move_ins (property_id, status, created_at DESC, id DESC);
CREATE INDEX move_ins_time ON move_ins (property_id, created_at DESC, id DESC);

-- Move-out clearance: a manager's override of the unit's arrears, recorded
-- on the occupancy it ended (owed NULL: billing did not answer).
ALTER TABLE occupancies
  ADD COLUMN end_override_reason text CHECK (char_length (end_override_reason) BETWEEN 1 AND 500),
  ADD COLUMN end_override_by     text,
  ADD COLUMN end_override_role   text,
  ADD COLUMN end_override_owed   bigint CHECK (end_override_owed >= 0),
  ADD CONSTRAINT occupancies_override_whole
    CHECK ((end_override_reason IS NULL) = (end_override_by IS NULL));

-- The contact log of a party (重点顾客 follow-up): who talked to whom, how, when.
CREATE TABLE party_contacts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  party_id    uuid NOT NULL,
  channel     text NOT NULL CHECK (channel IN ('phone', 'visit', 'wechat', 'email', 'letter', 'other')),
  summary     text NOT NULL CHECK (char_length (summary) BETWEEN 1 AND 2000),
  at          timestamptz NOT NULL,
  by_user     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (property_id, party_id) REFERENCES parties (property_id, id)
);
CREATE INDEX party_contacts_party ON party_contacts (property_id, party_id, at DESC, id DESC);
