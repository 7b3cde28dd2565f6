-- postgres-init.sql: roles and schemas of the platform, run as a superuser
-- connected to database `pm`. The one source of truth for both scripts/pg.sh
-- setup (local clusters, tests) and the postgres container of docker-compose.yml
-- (mounted into /docker-entrypoint-initdb.d). Idempotent: safe to run again.
--
-- One role per service, pm_<service>, LOGIN, owning schema <service>, with its
-- search_path set to that schema. A role can touch only its own schema: nobody
-- gets rights on another service's schema, and nobody may create in public.
-- Tables come from each service's migrations, applied by the service at start.

DO $$
DECLARE
    svc  text;
    role text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['gateway', 'tenants', 'tickets', 'billing', 'notifications'] LOOP
        role := 'pm_' || svc;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', role);
        END IF;
        EXECUTE format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', role);
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', svc, role);
        EXECUTE format('ALTER SCHEMA %I OWNER TO %I', svc, role);
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', svc);
        EXECUTE format('ALTER ROLE %I SET search_path = %I, ext', role, svc);
        -- short statements: JIT compiling a report's wide plan cost 373 of its
        -- 383 ms at 200 properties (docs/DESIGN.md, "Many properties")
        EXECUTE format('ALTER ROLE %I SET jit = off', role);
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), role);
    END LOOP;
    -- only the service roles (and superusers) may connect to this database
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
END
$$;

-- No shared scratch space: public is the superuser's only.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE USAGE ON SCHEMA public FROM PUBLIC;

-- Extensions the services' migrations use, in a schema of their own that every
-- service role may use (CREATE EXTENSION needs a superuser; migrations run as
-- the service's role). btree_gist: tenants' parking_leases exclusion
-- constraint (uuid equality inside a gist index); pg_trgm: tickets' FAQ
-- search (trigram matching finds Chinese text without a word splitter).
CREATE SCHEMA IF NOT EXISTS ext;
CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA ext;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA ext;
DO $$
DECLARE
    svc text;
BEGIN
    FOREACH svc IN ARRAY ARRAY['gateway', 'tenants', 'tickets', 'billing', 'notifications'] LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA ext TO %I', 'pm_' || svc);
    END LOOP;
END
$$;
