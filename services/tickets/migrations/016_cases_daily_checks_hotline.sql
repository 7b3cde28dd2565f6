-- tickets 016 (issue L): typical cases (典型案例), the manager's daily check
-- (例行工作检查) and the internal service hotline (内部服务热线).

-- Who asked: a resident (the default, every ticket so far) or someone
-- inside the company (a department, a member of staff), the hotline's
-- requesters. An internal request names no resident party.
ALTER TABLE tickets
  ADD COLUMN requester_kind text NOT NULL DEFAULT 'resident'
    CHECK (requester_kind IN ('resident', 'internal')),
  ADD COLUMN department text CHECK (octet_length(department) BETWEEN 1 AND 64),
  ADD CONSTRAINT tickets_internal_no_party CHECK (requester_kind = 'resident' OR party_id IS NULL),
  ADD CONSTRAINT tickets_department_internal CHECK (department IS NULL OR requester_kind = 'internal');
-- the hotline queue (GET .../tickets?requester_kind=internal), newest first
CREATE INDEX tickets_internal_created ON tickets (property_id, created_at DESC, id DESC)
  WHERE requester_kind = 'internal';

-- A resolved or closed ticket kept for training: what happened and what
-- the team learnt. One case per ticket; turned into an FAQ entry at most once.
CREATE TABLE ticket_cases (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  ticket_id   uuid NOT NULL REFERENCES tickets (id),
  summary     text NOT NULL CHECK (octet_length(summary) BETWEEN 1 AND 2000),
  lesson      text NOT NULL CHECK (octet_length(lesson) BETWEEN 1 AND 20000),
  tags        text[] NOT NULL DEFAULT '{}',
  faq_id      uuid,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL,
  CONSTRAINT ticket_cases_one_per_ticket UNIQUE (property_id, ticket_id)
);
CREATE INDEX ticket_cases_newest ON ticket_cases (property_id, created_at DESC, id DESC);
-- the search's text, as the FAQ's (faq_entries_trgm): pg_trgm matches Chinese
CREATE INDEX ticket_cases_trgm ON ticket_cases USING gin ((summary || ' ' || lesson) gin_trgm_ops);
CREATE INDEX ticket_cases_tags ON ticket_cases USING gin (tags);

-- A property's own checklist of the daily check; without a row the
-- service's default list applies (daily_checks.h).
CREATE TABLE daily_check_items (
  property_id uuid PRIMARY KEY,
  items       jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL
);

-- One record per property and day (the property's own calendar day).
CREATE TABLE daily_checks (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  date        date NOT NULL,
  items       jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array'),
  failed      int NOT NULL CHECK (failed >= 0),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL,
  CONSTRAINT daily_checks_one_per_day UNIQUE (property_id, date)
);
