-- tenants 003: party events carry no identity document (issue G, data
-- minimisation; services/tenants/party_event.h). Events written before keep
-- them until the outbox is pruned; this takes them out now, so that no
-- consumer reads them again (one that starts from the beginning, say).
UPDATE outbox SET data = data - 'id_type' - 'id_number' - 'key_customer_note'
 WHERE type IN ('party.created', 'party.updated')
   AND (data ? 'id_type' OR data ? 'id_number' OR data ? 'key_customer_note');
