-- notifications 001: what the service needs to turn events into messages for
-- people: its own copy of who lives where (fed by tenants' events, never by
-- reading schema tenants), residents' channel preferences, routing rules and
-- templates (defaults with property_id NULL, a property's rows override),
-- the notifications themselves (one row per recipient and channel: the inbox
-- and the delivery log), read marks, announcements, and the consumer
-- bookkeeping. Webhooks are in 002.

-- ---------------------------------------------------------------- archive copy
CREATE TABLE units (
  unit_id     uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  code        text COLLATE "C" NOT NULL,
  building    text,
  use         text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_property_building ON units (property_id, building);
CREATE INDEX units_property_use ON units (property_id, use);

-- The contacts a message goes to: the first phone and the email.
CREATE TABLE parties (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  name        text NOT NULL,
  phone       text,
  email       text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- end_date NULL = current (moved in, not out).
CREATE TABLE occupancies (
  id          uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  unit_id     uuid NOT NULL,
  party_id    uuid NOT NULL,
  role        text NOT NULL,
  start_date  date NOT NULL,
  end_date    date,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX occupancies_current_unit ON occupancies (unit_id) WHERE end_date IS NULL;
CREATE INDEX occupancies_current_property ON occupancies (property_id) WHERE end_date IS NULL;

-- ---------------------------------------------------------------- preferences
-- A resident's channels in order of preference, or opted out of everything
-- but what the law requires (opt_out stops bill and announcement messages on
-- every channel except the inbox). No row = the defaults: sms, then email.
CREATE TABLE preferences (
  party_id    uuid PRIMARY KEY,
  property_id uuid NOT NULL,
  channels    text[] NOT NULL DEFAULT '{sms,email}'
              CHECK (channels <@ ARRAY['inbox', 'sms', 'email']::text[]),
  opt_out     boolean NOT NULL DEFAULT false,
  locale      text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- rules
-- Which event reaches whom on which channels. property_id NULL = the default
-- for every property; when a property has rows for an event type, they
-- replace the defaults for that type (an empty channels array mutes it).
--   recipient: assignee    the ticket's assignee (a user)
--              managers    the property's managers (role inbox)
--              agents      the property's front-desk agents (role inbox)
--              party       the ticket's party (a resident)
--              bill_to     the bill's party, else the unit's owner, else tenant of record
--              occupants   every current occupant of the unit
CREATE TABLE rules (
  id          bigserial PRIMARY KEY,
  property_id uuid,
  event_type  text NOT NULL,
  recipient   text NOT NULL CHECK (recipient IN ('assignee', 'managers', 'agents', 'party',
                                                 'bill_to', 'occupants')),
  channels    text[] NOT NULL CHECK (channels <@ ARRAY['inbox', 'sms', 'email', 'preferred']::text[]),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX rules_unique ON rules
  (COALESCE(property_id, '00000000-0000-0000-0000-000000000000'::uuid), event_type, recipient);

-- 'preferred' = the resident's preferred channels (preferences), honouring opt-out.
INSERT INTO rules (property_id, event_type, recipient, channels) VALUES
  (NULL, 'ticket.created',       'managers', '{inbox}'),
  (NULL, 'ticket.assigned',      'assignee', '{inbox}'),
  (NULL, 'ticket.sla_warning',   'assignee', '{inbox}'),
  (NULL, 'ticket.sla_warning',   'managers', '{inbox}'),
  (NULL, 'ticket.sla_breached',  'assignee', '{inbox}'),
  (NULL, 'ticket.sla_breached',  'managers', '{inbox}'),
  (NULL, 'ticket.escalated',     'managers', '{inbox}'),
  (NULL, 'ticket.resolved',      'party',    '{preferred}'),
  (NULL, 'ticket.resolved',      'agents',   '{inbox}'),
  (NULL, 'bill.issued',          'bill_to',  '{preferred}'),
  (NULL, 'bill.overdue',         'bill_to',  '{preferred}'),
  (NULL, 'payment.received',     'bill_to',  '{preferred}'),
  (NULL, 'deposit.refunded',     'bill_to',  '{preferred}');

-- ---------------------------------------------------------------- templates
-- Per event type and locale; property_id NULL = the default. Placeholders are
-- {{name}}, names from the event's data as the template module lists them
-- per type; an unknown name is refused when a template is saved.
CREATE TABLE templates (
  id          bigserial PRIMARY KEY,
  property_id uuid,
  event_type  text NOT NULL,
  locale      text NOT NULL CHECK (locale IN ('zh-CN', 'en')),
  title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX templates_unique ON templates
  (COALESCE(property_id, '00000000-0000-0000-0000-000000000000'::uuid), event_type, locale);

-- ---------------------------------------------------------------- notifications
-- One row per (source, recipient, channel): an event or announcement reaches
-- each recipient on each channel once, however often it is delivered to us.
--   recipient_kind: user (recipient = user id), role (recipient = role name,
--                   every user of that role in property_id), party (a resident)
--   channel inbox:  status 'delivered' at once; read marks in notification_reads
--   channel sms/email: queued -> sent | failed | not_sent (no provider, no
--                   address, opted out: last_error says why); attempts,
--                   next_attempt_at and lease_until drive the sender
CREATE TABLE notifications (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id     uuid,
  source_kind     text NOT NULL CHECK (source_kind IN ('event', 'announcement')),
  source_id       uuid NOT NULL,
  event_type      text NOT NULL,
  recipient_kind  text NOT NULL CHECK (recipient_kind IN ('user', 'role', 'party')),
  recipient       text NOT NULL,
  channel         text NOT NULL CHECK (channel IN ('inbox', 'sms', 'email')),
  address         text,
  locale          text NOT NULL DEFAULT 'zh-CN',
  title           text NOT NULL,
  body            text NOT NULL,
  link            jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL CHECK (status IN ('delivered', 'queued', 'sent', 'failed',
                                                  'not_sent')),
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  lease_until     timestamptz,
  last_error      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  sent_at         timestamptz,
  UNIQUE (source_id, recipient_kind, recipient, channel)
);
-- the inbox: a user's own, newest first; a role's in a property, newest first
CREATE INDEX notifications_inbox_user ON notifications (recipient, created_at DESC, id)
  WHERE channel = 'inbox' AND recipient_kind = 'user';
CREATE INDEX notifications_inbox_role ON notifications (property_id, recipient, created_at DESC, id)
  WHERE channel = 'inbox' AND recipient_kind = 'role';
-- the sender's queue
CREATE INDEX notifications_queued ON notifications (next_attempt_at) WHERE status = 'queued';
-- the delivery log of a property, newest first
CREATE INDEX notifications_log ON notifications (property_id, created_at DESC, id);

CREATE TABLE notification_reads (
  notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  user_id         text NOT NULL,
  read_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, notification_id)
);

-- ---------------------------------------------------------------- announcements
CREATE TABLE announcements (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  property_id uuid NOT NULL,
  title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
  audience    text NOT NULL,
  channels    text[] NOT NULL,
  recipients  int NOT NULL DEFAULT 0,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX announcements_property ON announcements (property_id, created_at DESC);

-- ---------------------------------------------------------------- consumer
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
