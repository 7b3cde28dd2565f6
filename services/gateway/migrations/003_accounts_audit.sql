-- gateway 003 (issue G): accounts, API keys, login limits and the audit.

-- API keys may expire; only the integration role may be given to a key. Keys
-- of any other role made before this release are revoked here (README,
-- "Security"), and the webhooks made with them are disabled (below).
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
UPDATE api_keys SET revoked_at = now() WHERE role <> 'integration' AND revoked_at IS NULL;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_integration_only
    CHECK (role = 'integration' OR revoked_at IS NOT NULL);

-- Revoked keys whose webhooks the notifications service has not yet been
-- told to disable (notifications.webhooks.disable_for_key): a revocation
-- stands at once; the disable is retried from here until it is answered.
CREATE TABLE webhook_disables (
    key_id     uuid PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts   int NOT NULL DEFAULT 0,
    next_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_disables_next_at ON webhook_disables (next_at);
INSERT INTO webhook_disables (key_id) SELECT id FROM api_keys WHERE revoked_at IS NOT NULL;

-- Failed logins per client address, whatever the usernames (the per-name
-- count is login_throttle). Both are reserved before a password is hashed
-- (login_reserve) and given back by a success (login_succeeded).
CREATE TABLE login_throttle_addr (
    addr         text PRIMARY KEY,
    failures     int NOT NULL,
    window_start timestamptz NOT NULL
);

-- One attempt at a password (a login, a password change): 0 when it may go
-- on (and it is counted as a failure of the name and of the address until
-- login_succeeded says otherwise), or the seconds to wait (429). One
-- statement, so that N attempts queued at once are counted one by one.
CREATE FUNCTION login_reserve (p_name text, p_addr text, p_max int, p_window int, p_lock int,
                               p_addr_max int, p_addr_window int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    a login_throttle_addr%ROWTYPE;
    locked timestamptz;
BEGIN
    INSERT INTO login_throttle_addr AS t (addr, failures, window_start) VALUES (p_addr, 0, now())
    ON CONFLICT (addr) DO UPDATE SET
        failures = CASE WHEN t.window_start < now() - make_interval(secs => p_addr_window)
                        THEN 0 ELSE t.failures END,
        window_start = CASE WHEN t.window_start < now() - make_interval(secs => p_addr_window)
                            THEN now() ELSE t.window_start END
    RETURNING * INTO a;
    IF a.failures >= p_addr_max THEN
        RETURN greatest(1, ceil(extract(epoch FROM a.window_start
                                        + make_interval(secs => p_addr_window) - now())))::int;
    END IF;
    SELECT locked_until INTO locked FROM login_throttle
     WHERE username = lower(p_name) AND locked_until > now();
    IF FOUND THEN
        RETURN greatest(1, ceil(extract(epoch FROM locked - now())))::int;
    END IF;
    UPDATE login_throttle_addr SET failures = failures + 1 WHERE addr = p_addr;
    INSERT INTO login_throttle AS t (username, failures, window_start, locked_until)
    VALUES (lower(p_name), 1, now(), CASE WHEN p_max <= 1 THEN now() + make_interval(secs => p_lock) END)
    ON CONFLICT (username) DO UPDATE SET
        failures = CASE WHEN t.window_start < now() - make_interval(secs => p_window)
                        THEN 1 ELSE t.failures + 1 END,
        window_start = CASE WHEN t.window_start < now() - make_interval(secs => p_window)
                            THEN now() ELSE t.window_start END,
        locked_until = CASE WHEN t.window_start >= now() - make_interval(secs => p_window)
                             AND t.failures + 1 >= p_max
                            THEN now() + make_interval(secs => p_lock)
                            ELSE t.locked_until END;
    RETURN 0;
END $$;

-- The attempt was right: the name's failures are forgotten, the address's
-- reserved one is given back.
CREATE FUNCTION login_succeeded (p_name text, p_addr text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM login_throttle WHERE username = lower(p_name);
    UPDATE login_throttle_addr SET failures = greatest(failures - 1, 0) WHERE addr = p_addr;
$$;

-- Every change that takes a caller's rights away is announced on channel
-- pm_gateway_auth with the user's or key's id, and every gateway instance
-- evicts that caller from its token cache (gw_auth.c, the listener). In
-- triggers, so that no path that changes these rows can forget it; sent at
-- COMMIT.
CREATE FUNCTION auth_notify () RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'tokens' THEN
        PERFORM pg_notify('pm_gateway_auth', OLD.user_id::text);
    ELSE
        PERFORM pg_notify('pm_gateway_auth', OLD.id::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tokens_notify AFTER UPDATE ON tokens FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION auth_notify ();
CREATE TRIGGER users_notify AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.disabled IS DISTINCT FROM NEW.disabled OR OLD.role IS DISTINCT FROM NEW.role
          OR OLD.property_ids IS DISTINCT FROM NEW.property_ids
          OR OLD.password_hash IS DISTINCT FROM NEW.password_hash
          OR OLD.username IS DISTINCT FROM NEW.username)
    EXECUTE FUNCTION auth_notify ();
CREATE TRIGGER users_notify_delete AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION auth_notify ();
CREATE TRIGGER api_keys_notify AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.role IS DISTINCT FROM NEW.role OR OLD.property_ids IS DISTINCT FROM NEW.property_ids)
    EXECUTE FUNCTION auth_notify ();
CREATE TRIGGER api_keys_notify_delete AFTER DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION auth_notify ();

-- The audit (GET /v1/audit): one row per answered state-changing request,
-- written in batches by gw_audit.c, kept PM_AUDIT_RETENTION_DAYS (365).
-- actor_id: a user's or an API key's id (a login's: the user named, when
-- that user exists); route: the route's pattern, never the raw path.
CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    actor_id    text,
    actor_role  text,
    method      text NOT NULL,
    route       text NOT NULL,
    target_id   text,
    property_id uuid,
    status      int NOT NULL,
    request_id  text NOT NULL
);
CREATE INDEX audit_at ON audit (at DESC, id DESC);
CREATE INDEX audit_property_at ON audit (property_id, at DESC, id DESC);
CREATE INDEX audit_actor_at ON audit (actor_id, at DESC, id DESC);
