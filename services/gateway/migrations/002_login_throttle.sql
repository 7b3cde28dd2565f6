-- gateway 002: failed logins per username (lower case), whether the user
-- exists or not (the answer must not tell). After PM_LOGIN_MAX_FAILURES
-- failures within PM_LOGIN_WINDOW_S the name is refused with 429 for
-- PM_LOGIN_LOCK_S; a successful login clears the row. In the database, not in
-- the gateway's memory, so every gateway instance counts the same attempts.
CREATE TABLE login_throttle (
    username     text PRIMARY KEY,
    failures     int NOT NULL,
    window_start timestamptz NOT NULL,
    locked_until timestamptz
);
