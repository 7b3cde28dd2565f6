-- notifications 008: webhook deliveries of party events made before tenants
-- stopped putting the identity document in them (issue G, data minimisation)
-- lose it too: a redelivery sends the body as it is now. (The body is signed
-- when it is sent, so a changed body is still rightly signed.)
UPDATE webhook_deliveries
   SET body = ((body::jsonb) #- '{data,id_type}' #- '{data,id_number}' #- '{data,key_customer_note}')::text
 WHERE event_type IN ('party.created', 'party.updated')
   AND body::jsonb -> 'data' ?| ARRAY['id_type', 'id_number', 'key_customer_note'];
