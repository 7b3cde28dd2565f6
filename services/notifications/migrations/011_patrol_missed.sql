-- notifications 011: tickets' patrol timer (issue L) raises patrol.missed
-- when a planned patrol round was not started within 30 minutes of its
-- time; by default it reaches the property's managers' inbox. A property
-- with its own patrol.missed rules keeps them (they replace the defaults of
-- the type). The default zh-CN/en texts are compiled in (templates.c).
INSERT INTO rules (property_id, event_type, recipient, channels) VALUES
  (NULL, 'patrol.missed', 'managers', '{inbox}')
ON CONFLICT DO NOTHING;
