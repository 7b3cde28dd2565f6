-- notifications 010: notices to residents in their language and preferences
-- (issue K item 7).
-- ---------------------------------------------------------------- rules
-- A ticket's status changes reach its party. SMS costs the property money:
-- the two moments a resident waits for (受理: we have your request; resolved)
-- go on their preferred channel, the steps between (派工, closed) only to the
-- inbox. A reminder of an activity one has signed up for: preferred.
INSERT INTO rules (property_id, event_type, recipient, channels) VALUES
  (NULL, 'ticket.created',    'party', '{preferred}'),
  (NULL, 'ticket.assigned',   'party', '{inbox}'),
  (NULL, 'ticket.closed',     'party', '{inbox}'),
  (NULL, 'activity.reminder', 'party', '{preferred}')
ON CONFLICT DO NOTHING;

-- ---------------------------------------------------------------- templates
-- A template is for staff (the console's inbox: "assigned to you") or for
-- residents (what the party of a ticket or a bill reads). Rows written
-- before are the staff's; a resident with no resident text of a type reads
-- the staff's (bills and payments were always written for the resident).
ALTER TABLE templates ADD COLUMN audience text NOT NULL DEFAULT 'staff'
  CHECK (audience IN ('staff', 'resident'));
DROP INDEX templates_unique;
CREATE UNIQUE INDEX templates_unique ON templates
  (COALESCE(property_id, '00000000-0000-0000-0000-000000000000'::uuid), event_type, audience, locale);

-- ---------------------------------------------------------------- preferences
-- Topics a resident may mute: a muted topic still lands in the inbox, but no
-- SMS or e-mail. Only the keys set to false matter; absent = on. Overdue
-- bill reminders (催缴) are sent whatever the topic.
ALTER TABLE preferences ADD COLUMN topics jsonb NOT NULL DEFAULT '{}'
  CHECK (jsonb_typeof (topics) = 'object');

-- ---------------------------------------------------------------- reminders
-- An activity reminds each registration's party remind_before_minutes
-- before it starts (a day by default); reminded_at claims the registration
-- (the reminders job sets it in the transaction that writes the notices, so
-- a registration is reminded once whatever the workers or restarts).
ALTER TABLE activities ADD COLUMN remind_before_minutes int NOT NULL DEFAULT 1440
  CHECK (remind_before_minutes BETWEEN 0 AND 43200);
ALTER TABLE activity_registrations ADD COLUMN reminded_at timestamptz;
CREATE INDEX activity_registrations_unreminded ON activity_registrations (activity_id)
  WHERE reminded_at IS NULL;
-- the residents' inbox: a party's own rows, newest first
CREATE INDEX notifications_inbox_party ON notifications (recipient, created_at DESC, id)
  WHERE channel = 'inbox' AND recipient_kind = 'party';
