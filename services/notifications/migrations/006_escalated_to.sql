-- notifications 006: a rule recipient for the user a ticket was escalated
-- to (ticket.escalated's escalated_to when it names a user; nobody when it is
-- "managers", whom the managers rule reaches). Staff: the inbox only, as for
-- assignee. By default ticket.escalated reaches that user as well as the
-- managers. A property that has its own ticket.escalated rules keeps them
-- (they replace the defaults of the type, this one included).
ALTER TABLE rules DROP CONSTRAINT rules_recipient_check;
ALTER TABLE rules ADD CONSTRAINT rules_recipient_check
  CHECK (recipient IN ('assignee', 'managers', 'agents', 'party', 'bill_to', 'occupants', 'escalated_to'));

INSERT INTO rules (property_id, event_type, recipient, channels) VALUES
  (NULL, 'ticket.escalated', 'escalated_to', '{inbox}')
ON CONFLICT DO NOTHING;
