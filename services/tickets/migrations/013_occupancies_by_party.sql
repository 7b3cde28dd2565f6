-- A resident's requests (/v1/me, issue K) start from their parties: which
-- units do these parties occupy now (tk_me_unit_scope, the resident's ticket
-- list). The copy's index is per property and unit; this one finds a party's
-- current occupancies without scanning the property.
CREATE INDEX tenant_occupancies_party_current ON tenant_occupancies (party_id) WHERE end_date IS NULL;
