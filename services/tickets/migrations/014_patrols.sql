-- tickets 014: patrols (日常巡查, issue L; services/tickets/patrols.h).
-- A route holds its checkpoints (巡查点, each with its checklist) as one
-- JSON array, replaced as a whole, and its planned times of day ("HH:MM",
-- the property's zone). A round copies the route's checkpoints as it
-- starts, so that a change of the route never rewrites what a round was
-- asked to check. Times are tk_clock's (tests move it), never now().
CREATE TABLE patrol_routes (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id    uuid NOT NULL,
  name           text NOT NULL CHECK (octet_length (name) BETWEEN 1 AND 200),
  checkpoints    jsonb NOT NULL CHECK (jsonb_typeof (checkpoints) = 'array'
                                       AND jsonb_array_length (checkpoints) BETWEEN 1 AND 100),
  times          text[] NOT NULL CHECK (cardinality (times) <= 24),
  active         boolean NOT NULL DEFAULT true,
  -- planned rounds count from here: the creation, a change of times or a
  -- reactivation (the timer does not alert for a time planned before it)
  plan_from      timestamptz NOT NULL,
  inactive_since timestamptz,
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  CHECK (active = (inactive_since IS NULL))
);
CREATE INDEX patrol_routes_property ON patrol_routes (property_id, created_at DESC, id DESC);

-- planned_at: the planned time the round answers (NULL: the route plans none)
CREATE TABLE patrol_rounds (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id  uuid NOT NULL,
  route_id     uuid NOT NULL REFERENCES patrol_routes (id),
  route_name   text NOT NULL,
  checkpoints  jsonb NOT NULL,
  planned_at   timestamptz,
  status       text NOT NULL DEFAULT 'in_progress' CHECK (status IN ('in_progress', 'finished')),
  started_by   text NOT NULL,
  started_at   timestamptz NOT NULL,
  finished_by  text,
  finished_at  timestamptz,
  CHECK ((status = 'finished') = (finished_at IS NOT NULL))
);
CREATE INDEX patrol_rounds_property ON patrol_rounds (property_id, started_at DESC, id DESC);
CREATE INDEX patrol_rounds_route_planned ON patrol_rounds (route_id, planned_at);

-- One check per checkpoint and round; failed_items counts its results with
-- ok false; ticket_id the patrol ticket it opened (same transaction).
CREATE TABLE patrol_checks (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id     uuid NOT NULL,
  round_id        uuid NOT NULL REFERENCES patrol_rounds (id),
  checkpoint_code text NOT NULL,
  results         jsonb NOT NULL CHECK (jsonb_typeof (results) = 'array'),
  failed_items    integer NOT NULL CHECK (failed_items >= 0),
  ticket_id       uuid REFERENCES tickets (id),
  checked_by      text NOT NULL,
  checked_at      timestamptz NOT NULL,
  UNIQUE (round_id, checkpoint_code)
);
CREATE INDEX patrol_checks_ticket ON patrol_checks (ticket_id) WHERE ticket_id IS NOT NULL;

-- The timer's claim: one row per (route, planned time) it found missed, so
-- that patrol.missed goes out once whatever the workers (INSERT ... ON
-- CONFLICT DO NOTHING in the statement that writes the event).
CREATE TABLE patrol_missed (
  route_id    uuid NOT NULL REFERENCES patrol_routes (id),
  planned_at  timestamptz NOT NULL,
  property_id uuid NOT NULL,
  noticed_at  timestamptz NOT NULL,
  PRIMARY KEY (route_id, planned_at)
);
CREATE INDEX patrol_missed_property ON patrol_missed (property_id, planned_at);

-- A photo of a patrol check is an attachment (011) of the check instead of
-- a ticket: exactly one of the two.
ALTER TABLE attachments ALTER COLUMN ticket_id DROP NOT NULL;
ALTER TABLE attachments ADD COLUMN patrol_check_id uuid REFERENCES patrol_checks (id);
ALTER TABLE attachments ADD CONSTRAINT attachments_one_owner
  CHECK ((ticket_id IS NULL) <> (patrol_check_id IS NULL));
CREATE INDEX attachments_patrol_check ON attachments (property_id, patrol_check_id, created_at, id)
  WHERE patrol_check_id IS NOT NULL;
