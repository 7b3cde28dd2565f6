-- A resident signs in by phone (gateway, issue K): tenants.residents.lookup
-- finds the parties holding that number in any property. phones is an array
-- (up to 5): a GIN index serves `phones @> ARRAY[$1]` without scanning every
-- party of every property; party_phone_tails (per property) cannot.
CREATE INDEX parties_phones ON parties USING gin (phones);
