-- A resident's requests (/v1/me, issue K) start from their parties: which
-- units do these parties occupy now (me.c's announcements, activities and
-- sign-ups). The copy's indexes are per unit and per property; this one
-- finds a party's current occupancies without scanning them. (billing's
-- resident checks start from the unit: its (property_id, unit_id) index.)
CREATE INDEX occupancies_party_current ON occupancies (party_id) WHERE end_date IS NULL;
