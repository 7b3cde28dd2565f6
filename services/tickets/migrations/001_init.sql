-- tickets 001: the service desk. Tickets of every type, their timeline,
-- follow-up calls, SLA policies and calendars, the duty roster, the FAQ
-- (答客问), and the events outbox.
--
-- Every row carries property_id and every query filters on it. Times are
-- timestamptz; the service passes its own "now" (tk_clock, injectable in
-- tests) rather than calling now() in SQL wherever an SLA depends on it.

-- Per-property human numbers: BX-2026-000123 (prefix by type, year, counter).
-- A row per (property, prefix, year), taken FOR UPDATE in the creating
-- transaction: numbers never repeat and a rolled-back ticket leaves no gap.
CREATE TABLE ticket_counters (
  property_id uuid NOT NULL,
  prefix      text NOT NULL,
  year        int NOT NULL,
  last        bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (property_id, prefix, year)
);

CREATE TABLE tickets (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id     uuid NOT NULL,
  number          text NOT NULL,
  type            text NOT NULL CHECK (type IN ('repair', 'complaint', 'inquiry', 'suggestion',
                    'renovation', 'item_release', 'move_in', 'move_out', 'parking', 'other')),
  status          text NOT NULL,
  title           text NOT NULL CHECK (octet_length(title) BETWEEN 1 AND 500),
  description     text CHECK (octet_length(description) <= 65536),
  unit_id         uuid,
  unit_code       text,                          -- copied from tenants at creation
  party_id        uuid,
  channel         text NOT NULL DEFAULT 'phone' CHECK (channel IN
                    ('phone', 'walk_in', 'app', 'wechat', 'email', 'hotline', 'patrol')),
  priority        text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
  category        text CHECK (octet_length(category) <= 64),
  assignee_id     text,
  escalated_to    text,                          -- the manager a complaint went to
  faq_id          uuid,                          -- the FAQ entry an inquiry was answered with
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,

  -- SLA: the policy's figures are copied at creation, so a later policy
  -- change does not move the deadlines of tickets already open.
  respond_minutes int,
  resolve_minutes int,
  warn_minutes    int,
  calendar_id     uuid,
  respond_by      timestamptz,
  resolve_by      timestamptz,
  responded_at    timestamptz,                   -- first accept
  resolved_at     timestamptz,
  closed_at       timestamptz,
  hold_since      timestamptz,                   -- set while on hold: the clock is stopped
  respond_warned_at   timestamptz,
  respond_breached_at timestamptz,
  resolve_warned_at   timestamptz,
  resolve_breached_at timestamptz,
  escalated_at    timestamptz,

  -- a paid repair: what billing charges the unit (fen)
  fee_amount      bigint CHECK (fee_amount > 0),
  fee_item_code   text,
  data            jsonb NOT NULL DEFAULT '{}',   -- type-specific fields (renovation deposit, release items, ...)

  CONSTRAINT tickets_number_unique UNIQUE (property_id, number),
  CONSTRAINT tickets_property_id_id_key UNIQUE (property_id, id)
);
CREATE INDEX tickets_list ON tickets (property_id, created_at DESC, id);
CREATE INDEX tickets_status ON tickets (property_id, status, created_at DESC);
CREATE INDEX tickets_assignee ON tickets (property_id, assignee_id, created_at DESC) WHERE assignee_id IS NOT NULL;
CREATE INDEX tickets_unit ON tickets (property_id, unit_id, created_at DESC) WHERE unit_id IS NOT NULL;
-- open tickets by deadline: the overdue list and the SLA timer read these
-- (partial: closed history does not weigh on them however large it grows)
CREATE INDEX tickets_open_resolve_by ON tickets (property_id, resolve_by)
  WHERE resolved_at IS NULL AND closed_at IS NULL AND hold_since IS NULL;
CREATE INDEX tickets_sla_respond ON tickets (respond_by)
  WHERE responded_at IS NULL AND respond_breached_at IS NULL AND hold_since IS NULL AND closed_at IS NULL;
CREATE INDEX tickets_sla_resolve ON tickets (resolve_by)
  WHERE resolved_at IS NULL AND resolve_breached_at IS NULL AND hold_since IS NULL AND closed_at IS NULL;

-- Every action, comment and automatic step: who, when, what, the note.
CREATE TABLE ticket_timeline (
  id          bigserial PRIMARY KEY,
  property_id uuid NOT NULL,
  ticket_id   uuid NOT NULL,
  at          timestamptz NOT NULL,
  actor_id    text NOT NULL,                     -- user id, or "system" for the SLA timer
  actor_role  text NOT NULL,
  action      text NOT NULL,                     -- create, accept, ..., comment, sla_warning, sla_breached
  from_status text,
  to_status   text,
  note        text CHECK (octet_length(note) <= 65536),
  internal    boolean NOT NULL DEFAULT false,    -- internal comments are not shown to residents
  data        jsonb NOT NULL DEFAULT '{}',
  FOREIGN KEY (property_id, ticket_id) REFERENCES tickets (property_id, id)
);
CREATE INDEX ticket_timeline_ticket ON ticket_timeline (ticket_id, id);

-- The follow-up call (回访): once per ticket.
CREATE TABLE ticket_feedback (
  ticket_id   uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  rating      int NOT NULL CHECK (rating BETWEEN 1 AND 5),
  comment     text CHECK (octet_length(comment) <= 4000),
  called_by   text NOT NULL,
  created_at  timestamptz NOT NULL,
  FOREIGN KEY (property_id, ticket_id) REFERENCES tickets (property_id, id)
);

-- Business-hours calendars: a timezone, weekly hours, holidays and the
-- weekend days worked in their place (调休).
CREATE TABLE sla_calendars (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  name        text NOT NULL CHECK (octet_length(name) BETWEEN 1 AND 100),
  timezone    text NOT NULL,
  -- {"mon":[["09:00","12:00"],["13:00","18:00"]], "tue": [...], ...}; a missing day is closed
  weekly      jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT sla_calendars_name_unique UNIQUE (property_id, name),
  CONSTRAINT sla_calendars_property_id_id_key UNIQUE (property_id, id)
);
CREATE TABLE sla_calendar_days (
  calendar_id uuid NOT NULL REFERENCES sla_calendars (id) ON DELETE CASCADE,
  day         date NOT NULL,
  kind        text NOT NULL CHECK (kind IN ('holiday', 'workday')),
  name        text,
  PRIMARY KEY (calendar_id, day)
);

-- Minutes to first response and to resolution per type and priority.
-- No calendar: around the clock.
CREATE TABLE sla_policies (
  property_id     uuid NOT NULL,
  type            text NOT NULL,
  priority        text NOT NULL,
  respond_minutes int NOT NULL CHECK (respond_minutes BETWEEN 1 AND 525600),
  resolve_minutes int NOT NULL CHECK (resolve_minutes BETWEEN 1 AND 525600),
  warn_minutes    int NOT NULL DEFAULT 0 CHECK (warn_minutes BETWEEN 0 AND 525600),
  calendar_id     uuid,
  updated_by      text,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (property_id, type, priority),
  FOREIGN KEY (property_id, calendar_id) REFERENCES sla_calendars (property_id, id)
);

-- The duty roster (值班表): who covers which kind of work when. A key post
-- (关键岗位) must never be left uncovered (零脱岗): the roster reports gaps.
CREATE TABLE duty_shifts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  post        text NOT NULL CHECK (octet_length(post) BETWEEN 1 AND 64),  -- e.g. repair, complaint, front_desk, security
  user_id     text NOT NULL,
  starts_at   timestamptz NOT NULL,
  ends_at     timestamptz NOT NULL,
  key_post    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT duty_shifts_times CHECK (ends_at > starts_at)
);
CREATE INDEX duty_shifts_cover ON duty_shifts (property_id, post, starts_at, ends_at);

-- 答客问: standard answers, found by trigram similarity (pg_trgm, in schema
-- ext), which matches Chinese text without a word splitter.
CREATE TABLE faq_entries (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  question    text NOT NULL CHECK (octet_length(question) BETWEEN 1 AND 2000),
  answer      text NOT NULL CHECK (octet_length(answer) BETWEEN 1 AND 20000),
  tags        text[] NOT NULL DEFAULT '{}',
  hits        bigint NOT NULL DEFAULT 0,
  created_by  text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT faq_entries_property_id_id_key UNIQUE (property_id, id)
);
CREATE INDEX faq_entries_trgm ON faq_entries USING gin ((question || ' ' || answer) gin_trgm_ops);

-- Tests move the service's clock instead of sleeping: honoured only when the
-- process runs with PM_TEST_CLOCK=1 (see tk_clock.h). One row.
CREATE TABLE test_clock (
  one            boolean PRIMARY KEY DEFAULT true CHECK (one),
  offset_seconds bigint NOT NULL DEFAULT 0
);
INSERT INTO test_clock DEFAULT VALUES;

-- The outbox: identical to OUTBOX_TABLE_SQL in common/outbox.h.
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
