-- gateway 004 (issue K): residents sign in with their phone and a one-time
-- code sent by SMS (gw_resident.c).

-- One live code per phone (normalised, common/pii.h): a new request replaces
-- it. Only a keyed BLAKE2b of the code is kept, with its random key (salt);
-- 10 minutes, single use (deleted by the login it lets in), and voided
-- (deleted) by the 5th wrong try.
CREATE TABLE resident_codes (
    phone      text PRIMARY KEY CHECK (length(phone) BETWEEN 1 AND 24),
    code_hash  bytea NOT NULL CHECK (length(code_hash) = 32),
    salt       bytea NOT NULL CHECK (length(salt) = 32),
    tries      int NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX resident_codes_expires_at ON resident_codes (expires_at);

-- A resident's session: who the person is (the parties of the phone at
-- sign-in), never what they may reach (each service checks units against its
-- own current occupancies: DESIGN.md, "Residents' scope"). property_ids: the
-- properties of their units at sign-in, a hint for pages. Stored as the
-- SHA-256 of the token, as staff tokens are.
CREATE TABLE resident_tokens (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    resident_id  uuid NOT NULL,              -- the first of party_ids: the caller's user_id
    name         text NOT NULL,              -- the masked phone (138****8000)
    party_ids    uuid[] NOT NULL CHECK (cardinality(party_ids) BETWEEN 1 AND 8),
    property_ids uuid[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX resident_tokens_resident_id ON resident_tokens (resident_id);
CREATE INDEX resident_tokens_expires_at ON resident_tokens (expires_at);

-- A logout elsewhere reaches every gateway's token cache (migration 003's
-- channel; the payload is the caller id the cache holds).
CREATE FUNCTION resident_token_notify () RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pm_gateway_auth', OLD.resident_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER resident_tokens_notify AFTER UPDATE ON resident_tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION resident_token_notify ();

-- Code requests per phone and per client address ("phone:..." / "addr:..."),
-- every request counted, known phone or not (the answer must not tell).
CREATE TABLE resident_send_throttle (
    key          text PRIMARY KEY,
    sends        int NOT NULL,
    window_start timestamptz NOT NULL
);

-- One code request: 0 when it may go on (and it is counted), or the seconds
-- to wait (429). The address is counted first, so that one client cannot
-- spend every phone's allowance; one statement, so that requests at once are
-- counted one by one.
CREATE FUNCTION resident_send_reserve (p_phone text, p_addr text, p_phone_max int, p_phone_window int,
                                       p_addr_max int, p_addr_window int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    keys text[] := ARRAY['addr:' || p_addr, 'phone:' || p_phone];
    maxes int[] := ARRAY[p_addr_max, p_phone_max];
    windows int[] := ARRAY[p_addr_window, p_phone_window];
    r resident_send_throttle%ROWTYPE;
BEGIN
    FOR i IN 1..2 LOOP
        INSERT INTO resident_send_throttle AS t (key, sends, window_start) VALUES (keys[i], 0, now())
        ON CONFLICT (key) DO UPDATE SET
            sends = CASE WHEN t.window_start < now() - make_interval(secs => windows[i]) THEN 0 ELSE t.sends END,
            window_start = CASE WHEN t.window_start < now() - make_interval(secs => windows[i])
                                THEN now() ELSE t.window_start END
        RETURNING * INTO r;
        IF r.sends >= maxes[i] THEN
            RETURN greatest(1, ceil(extract(epoch FROM r.window_start
                                            + make_interval(secs => windows[i]) - now())))::int;
        END IF;
    END LOOP;
    UPDATE resident_send_throttle SET sends = sends + 1 WHERE key = ANY (keys);
    RETURN 0;
END $$;
