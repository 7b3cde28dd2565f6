-- notifications 004 (announcements, preferences, delivery log): how the
-- delivery log shows a contact. Never whole: a phone as 138****5678, an
-- email as its first character, *** and the domain (z***@example.com), so
-- the log can be read by anyone who may read it without exposing residents.
CREATE FUNCTION mask_address (channel text, address text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN address IS NULL OR address = '' THEN NULL
    WHEN channel = 'email' AND position('@' IN address) > 1
      THEN left(address, 1) || '***@' || split_part(address, '@', 2)
    WHEN channel = 'email' THEN '***'
    WHEN length(address) < 8 THEN '****'
    ELSE left(address, 3) || '****' || right(address, 4)
  END
$$;
