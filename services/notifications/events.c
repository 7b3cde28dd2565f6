/* events: the consumers' apply (archive copy, webhooks, routing); see events.h.
 *
 * Routing is one set-based statement per event (ST_EV_NOTIFY): the effective
 * rules of the event's property and type, their recipients (the assignee,
 * the property's manager or agent role, the ticket's party, whom the bill is
 * for, the unit's occupants) with their contacts and preferences from our
 * own copy, one row per (recipient, channel), inserted with ON CONFLICT DO
 * NOTHING on the unique (source_id, recipient_kind, recipient, channel): a
 * redelivered event adds nothing. The templates are rendered here, in C,
 * once per locale; SQL picks the recipient's. Times are shown in the
 * property's zone (properties, fed by property.created): the statement
 * that looks up the rules (ST_EV_ROUTED) also turns the event's time values
 * into wall times there, so the renderer stays pure. */
#include "events.h"

#include "log.h"
#include "rules.h"
#include "sender.h"
#include "templates.h"
#include "webhooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_EV_PROPERTY "nt_ev_property_upsert"
#define ST_EV_UNIT     "nt_ev_unit_upsert"
#define ST_EV_PARTY    "nt_ev_party_upsert"
#define ST_EV_OCC      "nt_ev_occupancy_upsert"
#define ST_EV_ROUTED   "nt_ev_routed"
#define ST_EV_NOTIFY   "nt_ev_notify"

#define EV_ASSIGNEE_MAX 128          /* a user id longer than this is not one */
#define EV_TIMEZONE_DEFAULT "Asia/Shanghai"   /* a property whose zone we do not know (yet) */

static const db_statement_t s_ev_statements[] = {
    /* $1 property_id, $2 a Property as jsonb. A zone PostgreSQL does not
     * know is stored as the default: AT TIME ZONE with it would fail every
     * later event of the property (tenants checks the same list, so this is
     * only for an event that did not come from tenants' API). */
    { ST_EV_PROPERTY,
      "INSERT INTO properties (id, timezone) "
      "SELECT $1::uuid, coalesce ((SELECT n.name FROM pg_timezone_names n WHERE n.name = d->>'timezone'), "
      "                           '" EV_TIMEZONE_DEFAULT "') "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET timezone = EXCLUDED.timezone, updated_at = now()", false },
    /* $1 property_id, $2 a Unit (or an occupancy's "unit") as jsonb */
    { ST_EV_UNIT,
      "INSERT INTO units (unit_id, property_id, code, building, use) "
      "SELECT (d->>'id')::uuid, $1::uuid, coalesce (d->>'code', ''), nullif (d->>'building', ''), "
      "       coalesce (d->>'use', 'other') "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (unit_id) DO UPDATE SET property_id = EXCLUDED.property_id, code = EXCLUDED.code, "
      "  building = EXCLUDED.building, use = EXCLUDED.use, updated_at = now()", false },
    /* a party.* event's Party ($3 true) or an occupancy's short "party" (id,
     * kind, name: $3 false keeps the contacts already known). We keep what
     * we send to: the name, the primary phone (the first of phones: SMS) and
     * the e-mail; party events carry no ID document (proto/events.md) */
    { ST_EV_PARTY,
      "INSERT INTO parties (id, property_id, name, phone, email) "
      "SELECT (d->>'id')::uuid, $1::uuid, coalesce (d->>'name', ''), "
      "       nullif (coalesce (CASE WHEN jsonb_typeof (d->'phones') = 'array' THEN d->'phones'->>0 END, "
      "                         d->>'phone'), ''), nullif (d->>'email', '') "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
      "  phone = CASE WHEN $3::bool THEN EXCLUDED.phone ELSE parties.phone END, "
      "  email = CASE WHEN $3::bool THEN EXCLUDED.email ELSE parties.email END, updated_at = now()", false },
    { ST_EV_OCC,
      "INSERT INTO occupancies (id, property_id, unit_id, party_id, role, start_date, end_date) "
      "SELECT (d->>'id')::uuid, $1::uuid, (d->>'unit_id')::uuid, (d->>'party_id')::uuid, "
      "       coalesce (d->>'role', 'resident'), (d->>'start_date')::date, (d->>'end_date')::date "
      "FROM (SELECT $2::jsonb AS d) x "
      "ON CONFLICT (id) DO UPDATE SET unit_id = EXCLUDED.unit_id, party_id = EXCLUDED.party_id, "
      "  role = EXCLUDED.role, start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date, "
      "  updated_at = now()", false },
    /* does any effective rule of (property $1, type $2) reach anyone? And,
     * for the renderer, the current year in the property's zone and each
     * time of $3 (a jsonb array of nt_time_valid strings) as a wall time
     * there: {"2026-11-27T06:30:00Z": "2026-11-27 14:30"} */
    { ST_EV_ROUTED,
      "SELECT EXISTS (SELECT 1 FROM (" NT_RULES_EFFECTIVE_SQL ("$1::uuid") ") e "
      "               WHERE e.event_type = $2::text AND cardinality (e.channels) > 0), "
      "  to_char (now () AT TIME ZONE z.tz, 'YYYY'), "
      "  (SELECT coalesce (jsonb_object_agg (v, to_char (v::timestamptz AT TIME ZONE z.tz, "
      "                                                  'YYYY-MM-DD HH24:MI')), '{}') "
      "   FROM jsonb_array_elements_text ($3::jsonb) v)::text "
      "FROM (SELECT coalesce ((SELECT p.timezone FROM properties p WHERE p.id = $1::uuid), "
      "                       '" EV_TIMEZONE_DEFAULT "') AS tz) z", true },
    /* $1 event id, $2 property, $3 type, $4 assignee (user id), $5 party,
     * $6 unit, $7 bill_to party, $8/$9 zh-CN title/body, $10/$11 en, $12 link,
     * $13 the user a ticket was escalated to (NULL when to "managers"),
     * $14/$15 the residents' zh-CN title/body, $16/$17 en (party rows read
     * these: templates' audience "resident"), $18 the event's topic a
     * resident may mute (preferences.topics; NULL: none, as 催缴). A muted
     * topic or an opt-out still writes the inbox row; the SMS and e-mail
     * rows are then not_sent with the reason. activity.reminder (reminders.c,
     * $1 the registration) is written as source_kind 'activity'.
     * Answers (rows written, sms/email rows queued). */
    { ST_EV_NOTIFY,
      "WITH r AS ("
      "  SELECT e.recipient, e.channels FROM (" NT_RULES_EFFECTIVE_SQL ("$2::uuid") ") e "
      "  WHERE e.event_type = $3::text AND cardinality (e.channels) > 0), "
      /* staff: the inbox only (rules.c refuses other channels for them) */
      "staff (kind, who) AS ("
      "  SELECT 'user', $4::text FROM r WHERE r.recipient = 'assignee' AND coalesce ($4::text, '') <> '' "
      "  UNION SELECT 'user', $13::text FROM r "
      "    WHERE r.recipient = 'escalated_to' AND coalesce ($13::text, '') <> '' "
      "  UNION SELECT 'role', 'manager' FROM r WHERE r.recipient = 'managers' AND $2::uuid IS NOT NULL "
      "  UNION SELECT 'role', 'agent' FROM r WHERE r.recipient = 'agents' AND $2::uuid IS NOT NULL), "
      /* residents, each with the channels of every rule that names them */
      "pt (party_id, channels) AS ("
      "  SELECT $5::uuid, r.channels FROM r WHERE r.recipient = 'party' AND $5::uuid IS NOT NULL "
      "  UNION ALL "
      "  SELECT b.party_id, r.channels FROM r, LATERAL ("
      "    SELECT $7::uuid AS party_id WHERE $7::uuid IS NOT NULL "
      "    UNION ALL "
      "    (SELECT o.party_id FROM occupancies o "
      "     WHERE $7::uuid IS NULL AND o.unit_id = $6::uuid AND o.end_date IS NULL "
      "       AND o.role IN ('owner', 'tenant') "
      "     ORDER BY o.role = 'owner' DESC, o.start_date, o.id LIMIT 1)) b "
      "  WHERE r.recipient = 'bill_to' "
      "  UNION ALL "
      "  SELECT o.party_id, r.channels FROM r JOIN occupancies o "
      "    ON o.unit_id = $6::uuid AND o.end_date IS NULL WHERE r.recipient = 'occupants'), "
      "pp AS ("
      "  SELECT t.party_id, t.chans, nullif (p.phone, '') AS phone, nullif (p.email, '') AS email, "
      "         coalesce (pr.channels, '{sms,email}') AS pref, coalesce (pr.opt_out, false) AS opt_out, "
      "         coalesce (pr.locale, 'zh-CN') AS locale, "
      "         ($18::text IS NOT NULL AND coalesce (pr.topics ->> $18::text, 'true') = 'false') AS muted "
      "  FROM (SELECT pt.party_id, array_agg (DISTINCT c) AS chans FROM pt, unnest (pt.channels) c "
      "        GROUP BY pt.party_id) t "
      "  LEFT JOIN parties p ON p.id = t.party_id "
      "  LEFT JOIN preferences pr ON pr.party_id = t.party_id), "
      /* 'preferred': the inbox, and the first preferred channel the party
       * has an address for (else the first one, which is then not sent) */
      "prow AS ("
      "  SELECT DISTINCT pp.party_id, ch.c, pp.phone, pp.email, pp.opt_out, pp.muted, pp.locale "
      "  FROM pp, LATERAL ("
      "    SELECT c FROM unnest (pp.chans) c WHERE c IN ('inbox', 'sms', 'email') "
      "    UNION SELECT 'inbox' WHERE 'preferred' = ANY (pp.chans) OR pp.muted "
      "    UNION SELECT coalesce ("
      "      (SELECT u.c FROM unnest (pp.pref) WITH ORDINALITY u (c, n) "
      "       WHERE u.c = 'inbox' OR (u.c = 'sms' AND pp.phone IS NOT NULL) "
      "          OR (u.c = 'email' AND pp.email IS NOT NULL) ORDER BY u.n LIMIT 1), "
      "      (SELECT u.c FROM unnest (pp.pref) WITH ORDINALITY u (c, n) "
      "       WHERE u.c <> 'inbox' ORDER BY u.n LIMIT 1)) "
      "    WHERE 'preferred' = ANY (pp.chans)) ch "
      "  WHERE ch.c IS NOT NULL), "
      "tgt (kind, who, channel, address, locale, status, last_error) AS ("
      "  SELECT kind, who, 'inbox', NULL::text, 'zh-CN', 'delivered', NULL::text FROM staff "
      "  UNION ALL "
      "  SELECT 'party', party_id::text, c, CASE c WHEN 'sms' THEN phone WHEN 'email' THEN email END, locale, "
      "    CASE WHEN c = 'inbox' THEN 'delivered' WHEN opt_out OR muted THEN 'not_sent' "
      "         WHEN (c = 'sms' AND phone IS NULL) OR (c = 'email' AND email IS NULL) THEN 'not_sent' "
      "         ELSE 'queued' END, "
      "    CASE WHEN c = 'inbox' THEN NULL WHEN opt_out THEN 'opted out' WHEN muted THEN 'topic muted' "
      "         WHEN c = 'sms' AND phone IS NULL THEN 'no phone number' "
      "         WHEN c = 'email' AND email IS NULL THEN 'no email address' END "
      "  FROM prow), "
      "ins AS ("
      "  INSERT INTO notifications (property_id, source_kind, source_id, event_type, recipient_kind, "
      "    recipient, channel, address, locale, title, body, link, status, next_attempt_at, last_error, "
      "    sent_at, created_at) "
      "  SELECT $2::uuid, CASE WHEN $3::text = 'activity.reminder' THEN 'activity' ELSE 'event' END, "
      "    $1::uuid, $3::text, kind, who, channel, address, locale, "
      "    CASE WHEN kind = 'party' AND locale = 'en' THEN $16::text WHEN kind = 'party' THEN $14::text "
      "         WHEN locale = 'en' THEN $10::text ELSE $8::text END, "
      "    CASE WHEN kind = 'party' AND locale = 'en' THEN $17::text WHEN kind = 'party' THEN $15::text "
      "         WHEN locale = 'en' THEN $11::text ELSE $9::text END, $12::jsonb, status, "
      "    CASE WHEN status = 'queued' THEN now () END, last_error, "
      "    CASE WHEN status = 'delivered' THEN now () END, "
      /* the clock, not the transaction's start: a consumer's batch applies
       * several events of one ticket in one transaction, and an inbox lists
       * them newest first */
      "    clock_timestamp () "
      "  FROM tgt "
      "  ON CONFLICT (source_id, recipient_kind, recipient, channel) DO NOTHING "
      "  RETURNING status) "
      "SELECT count(*), count(*) FILTER (WHERE status = 'queued') FROM ins", false },
};

int
nt_events_prepare (db_t *db)
{
    return DB_PREPARE_ALL (db, s_ev_statements);
}

/* ------------------------------------------------------------------ helpers */

static const char *
s_str (const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (obj, key));
}

/* A uuid field of obj, or NULL when absent or not a uuid. */
static const char *
s_uuid (const cJSON *obj, const char *key)
{
    const char *s = s_str (obj, key);
    return s && jv_is_uuid (s) ? s : NULL;
}

static bool
s_prefix (const char *s, const char *prefix)
{
    return strncmp (s, prefix, strlen (prefix)) == 0;
}

static void
s_link_add (cJSON *link, const char *key, const char *value)
{
    if (value && jv_is_uuid (value))
        cJSON_AddStringToObject (link, key, value);
}

cJSON *
nt_event_link (const char *type, const char *pid, const cJSON *data)
{
    cJSON *link = cJSON_CreateObject ();
    if (!link || !type)
        return link;
    if (s_prefix (type, "ticket.")) {
        const char *tid = s_str (data, "ticket_id");
        s_link_add (link, "ticket_id", tid ? tid : s_str (data, "id"));
    }
    else if (s_prefix (type, "bill."))
        s_link_add (link, "bill_id", s_str (data, "bill_id"));
    else if (s_prefix (type, "payment."))
        s_link_add (link, "payment_id", s_str (data, "id"));
    else if (s_prefix (type, "deposit."))
        s_link_add (link, "deposit_id", s_str (data, "id"));
    else if (s_prefix (type, "occupancy."))
        s_link_add (link, "occupancy_id", s_str (data, "id"));
    else if (s_prefix (type, "parking.lease."))
        s_link_add (link, "lease_id", s_str (data, "id"));
    else if (s_prefix (type, "party."))
        s_link_add (link, "party_id", s_str (data, "id"));
    else if (s_prefix (type, "unit."))
        s_link_add (link, "unit_id", s_str (data, "id"));
    if (!s_prefix (type, "unit."))
        s_link_add (link, "unit_id", s_str (data, "unit_id"));
    s_link_add (link, "property_id", pid);
    return link;
}

/* The archive copy: last event wins, as tenants produces them in order.
 * An object whose id is not a uuid is passed over (logged): a bad event
 * must not stall the stream. */
static int
s_archive (db_t *db, const char *type, const char *pid, const cJSON *data, const char *rid)
{
    if (!pid || !cJSON_IsObject (data))
        return 0;
    /* the zone the property's messages show times in; property.updated is
     * not produced today: when it is, a change of zone follows it */
    if (strcmp (type, "property.created") == 0
        || (strcmp (type, "property.updated") == 0 && cJSON_IsString (cJSON_GetObjectItemCaseSensitive (data, "timezone"))))
        return consumer_copy (db, ST_EV_PROPERTY, pid, data, NULL, rid);
    if (strcmp (type, "unit.created") == 0 || strcmp (type, "unit.updated") == 0) {
        if (!s_uuid (data, "id"))
            goto bad;
        return consumer_copy (db, ST_EV_UNIT, pid, data, NULL, rid);
    }
    if (strcmp (type, "party.created") == 0 || strcmp (type, "party.updated") == 0) {
        if (!s_uuid (data, "id"))
            goto bad;
        return consumer_copy (db, ST_EV_PARTY, pid, data, "true", rid);
    }
    if (strcmp (type, "occupancy.started") == 0 || strcmp (type, "occupancy.ended") == 0) {
        const cJSON *unit = cJSON_GetObjectItemCaseSensitive (data, "unit");
        const cJSON *party = cJSON_GetObjectItemCaseSensitive (data, "party");
        const char *start = s_str (data, "start_date"), *end = s_str (data, "end_date");
        if (!s_uuid (data, "id") || !s_uuid (data, "unit_id") || !s_uuid (data, "party_id") || !start
            || !jv_is_date (start) || (end && !jv_is_date (end)))
            goto bad;
        /* the event carries its unit and party: the copy holds them even if
         * their own events were somehow behind */
        if (s_uuid (unit, "id") && consumer_copy (db, ST_EV_UNIT, pid, unit, NULL, rid))
            return -1;
        if (s_uuid (party, "id") && consumer_copy (db, ST_EV_PARTY, pid, party, "false", rid))
            return -1;
        return consumer_copy (db, ST_EV_OCC, pid, data, NULL, rid);
    }
    return 0;
bad:
    log_warn (rid, "archive copy: %s without usable ids; passed over", type);
    return 0;
}

/* Cuts s to at most max bytes, between UTF-8 characters: a rendered text
 * (a 200-byte ticket title inside a title template) may outgrow the limits
 * of a template, and an SMS or a console line should not. */
static void
s_cut (char *s, size_t max)
{
    if (strlen (s) <= max)
        return;
    while (max > 0 && ((unsigned char) s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

/* A user id an event names (assignee_id, escalated_to), or NULL when it is
 * not one: absent, empty, too long, or one of the words that are not users. */
static const char *
s_user (const cJSON *data, const char *key)
{
    const char *who = s_str (data, key);
    if (!who || !*who || strlen (who) > EV_ASSIGNEE_MAX || strcmp (who, "managers") == 0)
        return NULL;
    return who;
}

const char *
nt_event_topic (const char *type)
{
    if (!type || strcmp (type, "bill.overdue") == 0)
        return NULL;                 /* 催缴 reaches the resident whatever they muted */
    if (s_prefix (type, "ticket."))
        return "tickets";
    if (s_prefix (type, "bill.") || s_prefix (type, "payment.") || s_prefix (type, "deposit."))
        return "bills";
    if (s_prefix (type, "activity."))
        return "activities";
    return NULL;
}

/* The rules -> notifications rows. 0 or -1. */
static int
s_route (nt_app_t *app, db_t *db, const cJSON *event, const char *type, const char *pid,
         const cJSON *data, const char *rid)
{
    int rc = -1;
    nt_template_texts_t tx = { { NULL, NULL }, { NULL, NULL }, { NULL, NULL }, { NULL, NULL } };
    char *text[8] = { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL };
    char *link_json = NULL, *times_json = NULL;
    cJSON *link = NULL, *local = NULL;
    PGresult *res = NULL;

    cJSON *times = nt_template_times (type, data);
    times_json = times ? cJSON_PrintUnformatted (times) : NULL;
    cJSON_Delete (times);
    if (!times_json)
        goto out;
    const char *rp[] = { pid, type, times_json };
    res = db_exec (db, ST_EV_ROUTED, 3, rp);
    if (!db_ok (res) || PQntuples (res) != 1) {
        log_warn (rid, "routing %s: rules lookup failed (%s)", type, db_sqlstate (res));
        goto out;
    }
    if (strcmp (PQgetvalue (res, 0, 0), "t") != 0) {
        rc = 0;                      /* nobody to tell */
        goto out;
    }
    nt_zone_times_t zt = { NULL, (int) strtol (PQgetvalue (res, 0, 1), NULL, 10) };
    zt.local = local = cJSON_Parse (PQgetvalue (res, 0, 2));
    PQclear (res);
    res = NULL;
    if (!local)
        goto out;
    if (nt_template_lookup (db, pid, type, &tx))
        goto out;
    /* text: staff zh-CN title, body, en title, body; then the residents' */
    for (int i = 0; i < 4; i++) {
        int l = i % 2;
        const char *title = i < 2 ? tx.title[l] : tx.r_title[l], *body = i < 2 ? tx.body[l] : tx.r_body[l];
        text[2 * i] = nt_template_render (title, type, data, nt_locales[l], &zt);
        text[2 * i + 1] = nt_template_render (body, type, data, nt_locales[l], &zt);
        if (!text[2 * i] || !text[2 * i + 1])
            goto out;
        s_cut (text[2 * i], NT_TEMPLATE_TITLE_MAX);
        s_cut (text[2 * i + 1], NT_TEMPLATE_BODY_MAX);
    }
    link = nt_event_link (type, pid, data);
    link_json = link ? cJSON_PrintUnformatted (link) : NULL;
    if (!link_json)
        goto out;
    const char *id = s_str (event, "id");
    const char *params[] = { id, pid, type, s_user (data, "assignee_id"), s_uuid (data, "party_id"),
                             s_uuid (data, "unit_id"), s_uuid (data, "bill_to_party_id"), text[0], text[1],
                             text[2], text[3], link_json, s_user (data, "escalated_to"), text[4], text[5],
                             text[6], text[7], nt_event_topic (type) };
    res = db_exec (db, ST_EV_NOTIFY, 18, params);
    if (!db_ok (res) || PQntuples (res) != 1) {
        log_warn (rid, "routing %s: insert failed (%s)", type, db_sqlstate (res));
        goto out;
    }
    long written = strtol (PQgetvalue (res, 0, 0), NULL, 10);
    long queued = strtol (PQgetvalue (res, 0, 1), NULL, 10);
    if (written > 0)
        log_info (rid, "%s: %ld notifications (%ld queued)", type, written, queued);
    if (queued > 0)
        nt_sender_kick (app->sender);
    rc = 0;
out:
    PQclear (res);
    cJSON_Delete (link);
    cJSON_Delete (local);
    free (link_json);
    free (times_json);
    for (int i = 0; i < 8; i++)
        free (text[i]);
    nt_template_texts_free (&tx);
    return rc;
}

int
nt_events_route (nt_app_t *app, db_t *db, const cJSON *event, const char *rid)
{
    const char *type = s_str (event, "type");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive (event, "data");
    if (!nt_event_type_known (type) || !cJSON_IsObject (data) || !s_uuid (event, "id"))
        return 0;
    return s_route (app, db, event, type, s_uuid (event, "property_id"), data, rid);
}

int
nt_events_apply (void *app_, db_t *db, const cJSON *event, const char *rid)
{
    nt_app_t *app = app_;
    const char *type = s_str (event, "type");
    const char *pid = s_uuid (event, "property_id");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive (event, "data");
    if (!type)
        return 0;                    /* consumer.c checked the envelope; nothing to do */
    if (s_archive (db, type, pid, data, rid))
        return -1;
    int hooks = nt_webhooks_enqueue (db, event);
    if (hooks < 0)
        return -1;
    if (hooks > 0)
        nt_sender_kick (app->sender);
    if (!nt_event_type_known (type) || !cJSON_IsObject (data))
        return 0;
    return s_route (app, db, event, type, pid, data, rid);
}
