/* gw_api: the route table and what happens to a request between the HTTP
 * layer and an answer: route, authenticate, check role and media type,
 * parse the body, collect parameters, check the property scope, honour
 * Idempotency-Key, then a local handler or a call to a service through the
 * broker, whose reply becomes the HTTP answer. */
#include "gw.h"

#include "config.h"
#include "csv.h"
#include "filetype.h"
#include "gw_audit.h"
#include "gw_auth.h"
#include "gw_idem.h"
#include "gw_ops.h"
#include "gw_resident.h"
#include "gw_static.h"
#include "http_response.h"
#include "jv.h"
#include "log.h"
#include "mdp.h"
#include "url.h"

#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The public routes. A service route names the method the request becomes;
 * the services check their own rules again (roles, scope) in the data layer.
 * Roles here are the coarse gate: who may call this at all. */
const gw_route_t gw_routes[] = {
    /* operations: no token */
    { { "GET", "/healthz" }, NULL, gw_ops_healthz, 0, 0 },
    { { "GET", "/readyz" }, NULL, gw_ops_readyz, 0, 0 },
    { { "GET", "/metrics" }, NULL, gw_ops_metrics, 0, 0 },
    /* auth; login and logout ignore Idempotency-Key: a token is a secret
     * that must not be stored for a replay, and logout is idempotent anyway */
    { { "POST", "/v1/auth/login" }, NULL, gw_auth_login, 0, GW_ROUTE_NO_IDEM },
    { { "POST", "/v1/auth/logout" }, NULL, gw_auth_logout, GW_ROLES_ALL, GW_ROUTE_NO_IDEM },
    { { "GET", "/v1/auth/me" }, NULL, gw_auth_me, GW_ROLES_ALL, 0 },
    { { "POST", "/v1/users" }, NULL, gw_users_create, GW_ROLE_ADMIN, 0 },
    { { "GET", "/v1/users" }, NULL, gw_users_list, GW_ROLE_ADMIN, 0 },
    { { "PATCH", "/v1/users/{id}" }, NULL, gw_users_update, GW_ROLE_ADMIN, 0 },
    /* a password change is never stored for a replay */
    { { "POST", "/v1/auth/password" }, NULL, gw_auth_password, GW_ROLES_STAFF, GW_ROUTE_NO_IDEM },
    /* residents (issue K, gw_resident.h): sign-in by SMS code; never stored
     * for a replay (a token is a secret, every code request counts) */
    { { "POST", "/v1/resident/auth/code" }, NULL, gw_resident_code, 0, GW_ROUTE_NO_IDEM },
    { { "POST", "/v1/resident/auth/login" }, NULL, gw_resident_login, 0, GW_ROUTE_NO_IDEM },
    { { "POST", "/v1/resident/auth/logout" }, NULL, gw_auth_logout, GW_ROLE_RESIDENT, GW_ROUTE_NO_IDEM },
    /* a resident's own tickets (services/tickets/me_tickets.h): the service scopes each to the
     * units the resident occupies now, anything else 404 */
    { { "POST", "/v1/me/tickets" }, "tickets.me.tickets.create", NULL, GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me/tickets" }, "tickets.me.tickets.list", NULL, GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me/tickets/{tid}" }, "tickets.me.tickets.get", NULL, GW_ROLE_RESIDENT, 0 },
    { { "POST", "/v1/me/tickets/{tid}/feedback" }, "tickets.me.tickets.feedback", NULL, GW_ROLE_RESIDENT, 0 },
    { { "POST", "/v1/me/tickets/{tid}/attachments" }, "tickets.me.tickets.attachments.create", NULL,
      GW_ROLE_RESIDENT, GW_ROUTE_BLOB },
    { { "GET", "/v1/me/tickets/{tid}/attachments" }, "tickets.me.tickets.attachments.list", NULL,
      GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me/tickets/{tid}/attachments/{attachment_id}" }, "tickets.me.tickets.attachments.get",
      NULL, GW_ROLE_RESIDENT, 0 },
    { { "POST", "/v1/me/tickets/{tid}/approve" }, "tickets.me.tickets.approve", NULL, GW_ROLE_RESIDENT, 0 },
    { { "POST", "/v1/me/tickets/{tid}/refuse" }, "tickets.me.tickets.refuse", NULL, GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me" }, "tenants.me.get", NULL, GW_ROLE_RESIDENT, 0 },
    /* the audit of state-changing requests: a manager sees their properties' rows */
    { { "GET", "/v1/audit" }, NULL, gw_audit_list, GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    /* who works a property (names for assignees): any staff of it */
    { { "GET", "/v1/properties/{pid}/staff" }, NULL, gw_staff_list, GW_ROLES_STAFF, 0 },
    /* an API key is shown once and stored hashed: a replay cannot show it again */
    { { "POST", "/v1/api-keys" }, NULL, gw_keys_create, GW_ROLE_ADMIN, GW_ROUTE_NO_IDEM },
    { { "GET", "/v1/api-keys" }, NULL, gw_keys_list, GW_ROLE_ADMIN, 0 },
    { { "DELETE", "/v1/api-keys/{id}" }, NULL, gw_keys_revoke, GW_ROLE_ADMIN, 0 },
    /* tenants */
    { { "POST", "/v1/properties" }, "tenants.properties.create", NULL, GW_ROLE_ADMIN, 0 },
    { { "GET", "/v1/properties" }, "tenants.properties.list", NULL, GW_ROLES_ALL, 0 },
    { { "GET", "/v1/properties/{pid}" }, "tenants.properties.get", NULL, GW_ROLES_ALL, 0 },
    { { "POST", "/v1/properties/{pid}/units" }, "tenants.units.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/units" }, "tenants.units.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/properties/{pid}/units/{uid}" }, "tenants.units.get", NULL, GW_ROLES_STAFF, 0 },
    { { "PATCH", "/v1/properties/{pid}/units/{uid}" }, "tenants.units.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    /* a unit's files (floor plans, meter photos): staff */
    { { "POST", "/v1/properties/{pid}/units/{uid}/attachments" }, "tenants.unit_attachments.create", NULL,
      GW_ROLES_STAFF, GW_ROUTE_BLOB },
    { { "GET", "/v1/properties/{pid}/units/{uid}/attachments" }, "tenants.unit_attachments.list", NULL,
      GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/units/{uid}/attachments/{attachment_id}" },
      "tenants.unit_attachments.get", NULL, GW_ROLES_STAFF, 0 },
    /* parties (业户) and move-in/move-out (入伙/迁出); who sees personal data
     * whole, and the audit of it, is the service's rule */
    { { "POST", "/v1/properties/{pid}/parties" }, "tenants.parties.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/parties" }, "tenants.parties.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/parties/{party_id}" }, "tenants.parties.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* a party's documents (ID copies, contracts): the desk files them, only
     * roles with full personal data read them, each read audited (pii_reads) */
    { { "POST", "/v1/properties/{pid}/parties/{party_id}/attachments" }, "tenants.party_attachments.create",
      NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, GW_ROUTE_BLOB },
    { { "GET", "/v1/properties/{pid}/parties/{party_id}/attachments" }, "tenants.party_attachments.list",
      NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/parties/{party_id}/attachments/{attachment_id}" },
      "tenants.party_attachments.get", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "PATCH", "/v1/properties/{pid}/parties/{party_id}" }, "tenants.parties.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* a party's contact log (重点顾客) */
    { { "POST", "/v1/properties/{pid}/parties/{party_id}/contacts" }, "tenants.contacts.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/parties/{party_id}/contacts" }, "tenants.contacts.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/units/{uid}/occupancies" }, "tenants.occupancies.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/units/{uid}/occupancies" }, "tenants.occupancies.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/occupancies/{oid}/end" }, "tenants.occupancies.end", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* the desk's move-in file with its checklist (入伙办理); complete starts the occupancy */
    { { "GET", "/v1/properties/{pid}/move-in-checklist" }, "tenants.move_in_checklist.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PUT", "/v1/properties/{pid}/move-in-checklist" }, "tenants.move_in_checklist.put", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/units/{uid}/move-ins" }, "tenants.move_ins.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/move-ins" }, "tenants.move_ins.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/move-ins/{id}" }, "tenants.move_ins.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PATCH", "/v1/properties/{pid}/move-ins/{id}" }, "tenants.move_ins.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/move-ins/{id}/complete" }, "tenants.move_ins.complete", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/move-ins/{id}/cancel" }, "tenants.move_ins.cancel", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/pii-reads" }, "tenants.pii_reads.list", NULL, GW_ROLE_ADMIN, 0 },
    /* parking (车位, 车位租赁) */
    { { "POST", "/v1/properties/{pid}/parking-spaces" }, "tenants.parking.spaces.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/parking-spaces" }, "tenants.parking.spaces.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/parking-leases" }, "tenants.parking.leases.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/parking-leases" }, "tenants.parking.leases.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/parking-leases/{id}/end" }, "tenants.parking.leases.end", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* bulk onboarding: a CSV file (up to PM_IMPORT_MAX_BYTES, PM_IMPORT_TIMEOUT_MS) */
    { { "POST", "/v1/properties/{pid}/imports/units" }, "tenants.units.import", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, GW_ROUTE_CSV | GW_ROUTE_IMPORT },
    { { "POST", "/v1/properties/{pid}/imports/parties" }, "tenants.parties.import", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, GW_ROUTE_CSV | GW_ROUTE_IMPORT },
    /* tickets (工单); a technician sees and acts on the tickets assigned to
     * them (the service's rule). callbacks before {tid}: the first match wins */
    { { "POST", "/v1/properties/{pid}/tickets" }, "tickets.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/tickets" }, "tickets.list", NULL, GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/tickets/callbacks" }, "tickets.callbacks.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/tickets/{tid}" }, "tickets.get", NULL, GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/properties/{pid}/tickets/{tid}/actions" }, "tickets.actions.create", NULL,
      GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/properties/{pid}/tickets/{tid}/comments" }, "tickets.comments.create", NULL,
      GW_ROLES_STAFF, 0 },
    /* attachments (photos, scans): the file is the body; a technician on theirs */
    { { "POST", "/v1/properties/{pid}/tickets/{tid}/attachments" }, "tickets.attachments.create", NULL,
      GW_ROLES_STAFF, GW_ROUTE_BLOB },
    { { "GET", "/v1/properties/{pid}/tickets/{tid}/attachments" }, "tickets.attachments.list", NULL,
      GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/tickets/{tid}/attachments/{attachment_id}" },
      "tickets.attachments.get", NULL, GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/properties/{pid}/tickets/{tid}/feedback" }, "tickets.feedback.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* an approved item release's printable pass (放行条), text/html inline */
    { { "GET", "/v1/properties/{pid}/tickets/{tid}/pass" }, "tickets.pass.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, GW_ROUTE_FILE },
    /* SLA policies and calendars: the desk reads them, managers change them */
    { { "GET", "/v1/properties/{pid}/sla-policies" }, "tickets.sla.policies.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PUT", "/v1/properties/{pid}/sla-policies" }, "tickets.sla.policies.put", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/sla-calendars" }, "tickets.sla.calendars.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/sla-calendars" }, "tickets.sla.calendars.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/sla-calendars/{cid}" }, "tickets.sla.calendars.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PUT", "/v1/properties/{pid}/sla-calendars/{cid}" }, "tickets.sla.calendars.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    /* the duty roster (值班表) */
    { { "POST", "/v1/properties/{pid}/duty-shifts" }, "tickets.roster.shifts.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/duty-shifts" }, "tickets.roster.shifts.list", NULL, GW_ROLES_STAFF, 0 },
    { { "DELETE", "/v1/properties/{pid}/duty-shifts/{shift_id}" }, "tickets.roster.shifts.delete", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/duty-roster/gaps" }, "tickets.roster.gaps", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* FAQ (答客问) */
    { { "POST", "/v1/properties/{pid}/faq" }, "tickets.faq.create", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/faq" }, "tickets.faq.search", NULL, GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/faq/{faq_id}" }, "tickets.faq.get", NULL, GW_ROLES_STAFF, 0 },
    { { "PATCH", "/v1/properties/{pid}/faq/{faq_id}" }, "tickets.faq.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/reports/service" }, "tickets.reports.service", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* service quality (issue L): patrols (日常巡查, patrols.h) */
    { { "POST", "/v1/properties/{pid}/patrol-routes" }, "tickets.patrol_routes.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/patrol-routes" }, "tickets.patrol_routes.list", NULL, GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/patrol-routes/{route_id}" }, "tickets.patrol_routes.get", NULL,
      GW_ROLES_STAFF, 0 },
    { { "PATCH", "/v1/properties/{pid}/patrol-routes/{route_id}" }, "tickets.patrol_routes.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/patrols" }, "tickets.patrols.create", NULL, GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/patrols" }, "tickets.patrols.list", NULL, GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/patrols/{round_id}" }, "tickets.patrols.get", NULL, GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/properties/{pid}/patrols/{round_id}/checks" }, "tickets.patrols.checks.create", NULL,
      GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/properties/{pid}/patrols/{round_id}/checks/{check_id}/attachments" },
      "tickets.patrols.attachments.create", NULL, GW_ROLES_STAFF, GW_ROUTE_BLOB },
    { { "GET", "/v1/properties/{pid}/patrols/{round_id}/checks/{check_id}/attachments/{attachment_id}" },
      "tickets.patrols.attachments.get", NULL, GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/properties/{pid}/patrols/{round_id}/finish" }, "tickets.patrols.finish", NULL,
      GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/reports/patrol" }, "tickets.reports.patrol", NULL, GW_ROLES_STAFF, 0 },
    /* contractors and their inspections (监管评定, contractors.h) */
    { { "POST", "/v1/properties/{pid}/contractors" }, "tickets.contractors.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/contractors" }, "tickets.contractors.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/contractors/{contractor_id}" }, "tickets.contractors.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PATCH", "/v1/properties/{pid}/contractors/{contractor_id}" }, "tickets.contractors.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/contractors/{contractor_id}/trend" }, "tickets.contractors.trend", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/contractor-settings" }, "tickets.contractor_settings.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PUT", "/v1/properties/{pid}/contractor-settings" }, "tickets.contractor_settings.put", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/inspections" }, "tickets.inspections.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/inspections" }, "tickets.inspections.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/inspections/{inspection_id}" }, "tickets.inspections.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/reports/contractors" }, "tickets.reports.contractors", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* typical cases (典型案例) and the manager's daily checks (例行工作检查) */
    { { "POST", "/v1/properties/{pid}/tickets/{tid}/case" }, "tickets.cases.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/cases" }, "tickets.cases.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/cases/{case_id}" }, "tickets.cases.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/cases/{case_id}/faq" }, "tickets.cases.faq", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/daily-check-items" }, "tickets.daily_check_items.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "PUT", "/v1/properties/{pid}/daily-check-items" }, "tickets.daily_check_items.put", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/daily-checks" }, "tickets.daily_checks.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/daily-checks" }, "tickets.daily_checks.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    /* per-person performance (绩效) and the satisfaction index (满意指数) */
    { { "GET", "/v1/properties/{pid}/reports/agents" }, "tickets.reports.agents", NULL, GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/reports/agents/{user_id}" }, "tickets.reports.agents.get", NULL,
      GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/reports/satisfaction" }, "tickets.reports.satisfaction", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* the desk's registers: visitors (出入人员登记), items left (物件存放), vehicle
     * passes (贵宾车辆/访客车辆); the barrier's check before {pass_id}: the
     * first match wins. The store's 201 shows the claim code once: a replay
     * of it is the first answer again, to the same client */
    { { "POST", "/v1/properties/{pid}/visitors" }, "tickets.visitors.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/visitors" }, "tickets.visitors.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/visitors/{visitor_id}" }, "tickets.visitors.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/visitors/{visitor_id}/check-in" }, "tickets.visitors.check_in", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/visitors/{visitor_id}/check-out" }, "tickets.visitors.check_out", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/exports/visitors" }, "tickets.visitors.export", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, GW_ROUTE_FILE },
    { { "GET", "/v1/properties/{pid}/desk-settings" }, "tickets.desk_settings.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "PUT", "/v1/properties/{pid}/desk-settings" }, "tickets.desk_settings.put", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/stored-items" }, "tickets.stored_items.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/stored-items" }, "tickets.stored_items.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/stored-items/{item_id}/release" }, "tickets.stored_items.release", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/vehicle-passes" }, "tickets.vehicle_passes.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/vehicle-passes" }, "tickets.vehicle_passes.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/vehicle-passes/check" }, "tickets.vehicle_passes.check", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "POST", "/v1/properties/{pid}/vehicle-passes/{pass_id}/revoke" }, "tickets.vehicle_passes.revoke", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* billing: fee items, runs, settings (bill helper); bills readable by integration keys */
    { { "GET", "/v1/properties/{pid}/billing-settings" }, "billing.settings.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PUT", "/v1/properties/{pid}/billing-settings" }, "billing.settings.put", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/fee-items" }, "billing.fee_items.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/fee-items" }, "billing.fee_items.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "POST", "/v1/properties/{pid}/billing-runs" }, "billing.runs.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/billing-runs" }, "billing.runs.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/properties/{pid}/bills" }, "billing.bills.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/properties/{pid}/bills/{bid}" }, "billing.bills.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/properties/{pid}/units/{uid}/account" }, "billing.accounts.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    /* billing: payments (allocated oldest bill first, the rest is credit),
     * reversals, charges and deposits; integration keys post payments of
     * their properties (the property scope above every route) */
    { { "POST", "/v1/properties/{pid}/payments" }, "billing.payments.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/properties/{pid}/payments" }, "billing.payments.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/properties/{pid}/payments/{payment_id}" }, "billing.payments.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "POST", "/v1/properties/{pid}/payments/{payment_id}/reverse" }, "billing.payments.reverse", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    /* the printable receipt (收据), text/html inline: like payments.get */
    { { "GET", "/v1/properties/{pid}/payments/{payment_id}/receipt" }, "billing.payments.receipt", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, GW_ROUTE_FILE },
    /* a resident's own account, payments and receipts (issue K; billing's me.h) */
    { { "GET", "/v1/me/units/{uid}/account" }, "billing.me.account", NULL, GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me/units/{uid}/payments" }, "billing.me.payments", NULL, GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me/payments/{id}/receipt" }, "billing.me.receipt", NULL, GW_ROLE_RESIDENT, GW_ROUTE_FILE },
    { { "POST", "/v1/properties/{pid}/units/{uid}/apply-credit" }, "billing.credit.apply", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/imports/payments" }, "billing.payments.import", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_INTEGRATION, GW_ROUTE_CSV | GW_ROUTE_IMPORT },
    { { "POST", "/v1/properties/{pid}/charges" }, "billing.charges.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/deposits" }, "billing.deposits.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/deposits/{deposit_id}" }, "billing.deposits.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/deposits/{deposit_id}/refund" }, "billing.deposits.refund", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/late-fees/{fee_id}/waive" }, "billing.late_fees.waive", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    /* collection (收缴率) and the dunning list (催缴): contacts whole for managers only */
    { { "GET", "/v1/properties/{pid}/reports/collection" }, "billing.reports.collection", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/properties/{pid}/reports/arrears" }, "billing.reports.arrears", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* exports for accounting systems: CSV (UTF-8 with BOM) or ?format=json */
    { { "GET", "/v1/properties/{pid}/exports/bills" }, "billing.exports.bills", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_INTEGRATION, GW_ROUTE_FILE },
    { { "GET", "/v1/properties/{pid}/exports/payments" }, "billing.exports.payments", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_INTEGRATION, GW_ROUTE_FILE },
    { { "GET", "/v1/properties/{pid}/exports/ledger" }, "billing.exports.ledger", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_INTEGRATION, GW_ROUTE_FILE },
    /* notifications: the caller's inbox (their own, and their role's in their
     * properties); unread-count and read-all before {id} */
    { { "GET", "/v1/notifications" }, "notifications.inbox.list", NULL, GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/notifications/unread-count" }, "notifications.inbox.count", NULL, GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/notifications/read-all" }, "notifications.inbox.read_all", NULL, GW_ROLES_STAFF, 0 },
    { { "POST", "/v1/notifications/{id}/read" }, "notifications.inbox.read", NULL, GW_ROLES_STAFF, 0 },
    /* routing rules, templates, residents' preferences, the delivery log */
    { { "GET", "/v1/properties/{pid}/notification-rules" }, "notifications.rules.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "PUT", "/v1/properties/{pid}/notification-rules" }, "notifications.rules.put", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/notification-templates" }, "notifications.templates.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "PUT", "/v1/properties/{pid}/notification-templates/{event_type}/{locale}" },
      "notifications.templates.put", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "DELETE", "/v1/properties/{pid}/notification-templates/{event_type}/{locale}" },
      "notifications.templates.delete", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/parties/{party_id}/notification-preferences" },
      "notifications.preferences.get", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PUT", "/v1/properties/{pid}/parties/{party_id}/notification-preferences" },
      "notifications.preferences.put", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/notification-log" }, "notifications.log.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    /* announcements (通知公告, 社区活动): fan-out to the audience's occupants */
    { { "POST", "/v1/properties/{pid}/announcements" }, "notifications.announcements.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/announcements" }, "notifications.announcements.list", NULL,
      GW_ROLES_STAFF, 0 },
    { { "GET", "/v1/properties/{pid}/announcements/{id}" }, "notifications.announcements.get", NULL,
      GW_ROLES_STAFF, 0 },
    /* community activities (社区活动): managers run them, the desk signs residents up */
    { { "POST", "/v1/properties/{pid}/activities" }, "notifications.activities.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/activities" }, "notifications.activities.list", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/activities/{id}" }, "notifications.activities.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "PATCH", "/v1/properties/{pid}/activities/{id}" }, "notifications.activities.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "POST", "/v1/properties/{pid}/activities/{id}/cancel" }, "notifications.activities.cancel", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER, 0 },
    { { "GET", "/v1/properties/{pid}/activities/{id}/registrations" },
      "notifications.activities.registrations", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/activities/{id}/registrations" },
      "notifications.activities.register", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "DELETE", "/v1/properties/{pid}/activities/{id}/registrations/{rid}" },
      "notifications.activities.unregister", NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "POST", "/v1/properties/{pid}/activities/{id}/attendance" }, "notifications.activities.attendance",
      NULL, GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    { { "GET", "/v1/properties/{pid}/reports/activities" }, "notifications.activities.report", NULL,
      GW_ROLE_ADMIN | GW_ROLE_MANAGER | GW_ROLE_AGENT, 0 },
    /* a resident's own announcements, activities and preferences (issue K, notifications/me.h) */
    { { "GET", "/v1/me/announcements" }, "notifications.me.announcements", NULL, GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me/activities" }, "notifications.me.activities", NULL, GW_ROLE_RESIDENT, 0 },
    { { "POST", "/v1/me/activities/{id}/registrations" }, "notifications.me.register", NULL, GW_ROLE_RESIDENT, 0 },
    { { "DELETE", "/v1/me/activities/{id}/registrations/{rid}" }, "notifications.me.unregister", NULL,
      GW_ROLE_RESIDENT, 0 },
    { { "GET", "/v1/me/notification-preferences" }, "notifications.me.preferences.get", NULL, GW_ROLE_RESIDENT, 0 },
    { { "PUT", "/v1/me/notification-preferences" }, "notifications.me.preferences.put", NULL, GW_ROLE_RESIDENT, 0 },
    /* the resident's inbox: their parties' notices (issue K item 7, notifications/me.h) */
    { { "GET", "/v1/me/notifications" }, "notifications.me.notifications", NULL, GW_ROLE_RESIDENT, 0 },
    { { "POST", "/v1/me/notifications/{id}/read" }, "notifications.me.notifications.read", NULL,
      GW_ROLE_RESIDENT, 0 },
    /* a resident announces a visitor (and their car) to the desk (issue K, tickets/me_visitors.h) */
    { { "POST", "/v1/me/visitors" }, "tickets.me.visitors.create", NULL, GW_ROLE_RESIDENT, 0 },
    /* webhooks for external systems: an integration key sees its own, of its properties */
    { { "POST", "/v1/webhooks" }, "notifications.webhooks.create", NULL,
      GW_ROLE_ADMIN | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/webhooks" }, "notifications.webhooks.list", NULL, GW_ROLE_ADMIN | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/webhooks/{id}" }, "notifications.webhooks.get", NULL,
      GW_ROLE_ADMIN | GW_ROLE_INTEGRATION, 0 },
    { { "PATCH", "/v1/webhooks/{id}" }, "notifications.webhooks.update", NULL,
      GW_ROLE_ADMIN | GW_ROLE_INTEGRATION, 0 },
    { { "DELETE", "/v1/webhooks/{id}" }, "notifications.webhooks.delete", NULL,
      GW_ROLE_ADMIN | GW_ROLE_INTEGRATION, 0 },
    { { "GET", "/v1/webhooks/{id}/deliveries" }, "notifications.webhooks.deliveries", NULL,
      GW_ROLE_ADMIN | GW_ROLE_INTEGRATION, 0 },
    { { "POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver" },
      "notifications.webhooks.redeliver", NULL, GW_ROLE_ADMIN | GW_ROLE_INTEGRATION, 0 },
};
const size_t gw_nroutes = sizeof gw_routes / sizeof gw_routes[0];

/* --- contexts ---------------------------------------------------------------- */

static gw_ctx_t *
s_ctx_take (gw_t *gw)
{
    gw_ctx_t *ctx = gw->pool;
    if (ctx)
        gw->pool = ctx->pool_next;
    else
        ctx = malloc (sizeof *ctx);
    if (!ctx)
        return NULL;
    /* the match buffer is large and always written before it is read */
    memset (ctx, 0, offsetof (gw_ctx_t, match));
    memset ((char *) ctx + offsetof (gw_ctx_t, match) + sizeof ctx->match, 0,
            sizeof *ctx - offsetof (gw_ctx_t, match) - sizeof ctx->match);
    ctx->match.index = -1;
    ctx->match.nparams = 0;
    ctx->gw = gw;
    gw->ctx_live++;
    return ctx;
}

static void
s_ctx_give (gw_ctx_t *ctx)
{
    gw_t *gw = ctx->gw;
    cJSON_Delete (ctx->params);
    cJSON_Delete (ctx->data);
    cJSON_Delete (ctx->ops_stats);
    cJSON_Delete (ctx->caller_pids);
    free (ctx->envelope);
    ctx->params = ctx->data = ctx->ops_stats = ctx->caller_pids = NULL;
    ctx->envelope = NULL;
    ctx->req = NULL;
    ctx->pool_next = gw->pool;
    gw->pool = ctx;
    gw->ctx_live--;
}

/* --- answers ----------------------------------------------------------------- */

void
gw_fresh_id (char out[ENVELOPE_ID_MAX + 1])
{
    http_request_id (NULL, out);
}

void
gw_finish_raw (gw_ctx_t *ctx, int status, const char *content_type, char *body, size_t len,
               unsigned flags, const char *extra)
{
    http_respond (ctx->req, status, content_type, body, len, flags, extra);
    s_ctx_give (ctx);
}

/* How long a claim of this route may stay "in progress" before another
 * request takes it over: the route's deadline and a margin. */
static int
s_idem_abandon_s (const gw_t *gw, const gw_route_t *route)
{
    int64_t ms = route && (route->flags & GW_ROUTE_IMPORT) ? gw->import_timeout_ms : gw->timeout_ms;
    return (int) ((ms + 999) / 1000) + GW_IDEM_SETTLE_S;
}

void
gw_finish (gw_ctx_t *ctx, int status, char *body, const char *extra)
{
    gw_audit_record (ctx, status, body);
    if (ctx->idem_claimed) {
        /* stored, or released on a 5xx; queued if the database is away */
        gw_idem_finish (ctx->gw->idem, ctx->idem_key, ctx->caller.id, ctx->idem_stamp, status, body,
                        s_idem_abandon_s (ctx->gw, ctx->route), ctx->req->request_id);
        ctx->idem_claimed = false;
    }
    /* API answers are per caller and may hold secrets (a login's token):
     * no cache keeps them */
#define S_NO_STORE "Cache-Control: no-store\r\n"
    char headers[HTTP_EXTRA_MAX];
    if (extra)
        snprintf (headers, sizeof headers, S_NO_STORE "%s", extra);
    gw_finish_raw (ctx, status, body ? "application/json" : NULL, body, body ? strlen (body) : 0,
                   HTTP_FREE_BODY | (status == 413 ? HTTP_CLOSE : 0), extra ? headers : S_NO_STORE);
}

void
gw_finish_json (gw_ctx_t *ctx, int status, cJSON *json)
{
    char *body = json ? cJSON_PrintUnformatted (json) : NULL;
    cJSON_Delete (json);
    if (json && !body) {
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return;
    }
    gw_finish (ctx, status, body, NULL);
}

static void
s_finish_error_extra (gw_ctx_t *ctx, int status, const char *code, cJSON *details,
                      const char *extra, const char *message)
{
    char *body = env_error_body (code ? code : env_status_code (status), message, details,
                                 ctx->req->request_id);
    cJSON_Delete (details);
    gw_finish (ctx, status, body, extra);
}

void
gw_finish_error (gw_ctx_t *ctx, int status, const char *code, cJSON *details,
                 const char *fmt, ...)
{
    char message[256];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (message, sizeof message, fmt, ap);
    va_end (ap);
    s_finish_error_extra (ctx, status, code, details, NULL, message);
}

void
gw_finish_db_error (gw_ctx_t *ctx, const PGresult *res, const char *what)
{
    env_reply_t rep = { 0 };
    db_reply_error (res, &rep, ctx->req->request_id);
    log_warn (ctx->req->request_id, "%s: %s", what, rep.message);
    /* the database's own words stay in the log: the client learns the class */
    const char *msg = rep.status == 409 ? "it exists already"
                    : rep.status == 503 ? "the gateway database is unavailable"
                    : rep.status == 422 ? "the data breaks a rule"
                                        : "internal error";
    gw_finish_error (ctx, rep.status, rep.code, NULL, "%s", msg);
    env_reply_reset (&rep);
}

void
gw_finish_page (gw_ctx_t *ctx, PGresult *res, cJSON *page, const char *what)
{
    if (!db_ok (res))
        gw_finish_db_error (ctx, res, what);
    else
    if (!page)
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
    else
        gw_finish_json (ctx, 200, page);
    if (!db_ok (res))
        cJSON_Delete (page);
    PQclear (res);
}

/* --- wire ids in flight -------------------------------------------------------
 * The broker and the client match a reply to its request by id. Ids we
 * generate are random, but a client's X-Request-Id is echoed and becomes the
 * envelope id, and two clients (or one careless benchmark) may send the same
 * one at once: such a call gets a fresh id on the wire, and a log line ties
 * the two together, so replies can never cross. */

static unsigned
s_id_hash (const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 16777619u;
    return h & (sizeof ((gw_t *) 0)->inflight / sizeof (gw_ctx_t *) - 1);
}

static bool
s_inflight_has (gw_t *gw, const char *id)
{
    for (gw_ctx_t *c = gw->inflight[s_id_hash (id)]; c; c = c->inflight_next)
        if (strcmp (c->wire_id, id) == 0)
            return true;
    return false;
}

static void
s_inflight_add (gw_t *gw, gw_ctx_t *ctx)
{
    snprintf (ctx->wire_id, sizeof ctx->wire_id, "%s", ctx->req->request_id);
    if (s_inflight_has (gw, ctx->wire_id)) {
        gw_fresh_id (ctx->wire_id);
        log_info (ctx->req->request_id, "request id already in flight: sent as %s", ctx->wire_id);
    }
    unsigned h = s_id_hash (ctx->wire_id);
    ctx->inflight_next = gw->inflight[h];
    gw->inflight[h] = ctx;
}

static void
s_inflight_remove (gw_t *gw, gw_ctx_t *ctx)
{
    for (gw_ctx_t **p = &gw->inflight[s_id_hash (ctx->wire_id)]; *p; p = &(*p)->inflight_next)
        if (*p == ctx) {
            *p = ctx->inflight_next;
            break;
        }
    ctx->inflight_next = NULL;
}

/* --- forwarding -------------------------------------------------------------- */

static void s_on_reply (void *arg, env_reply_t *rep);

static void
s_send (gw_ctx_t *ctx)
{
    gw_t *gw = ctx->gw;
    ctx->attempts++;
    ctx->sent_ms = uv_now (gw->loop);
    /* an upload's file goes as the binary frame after the envelope (mdp.h) */
    bool blob = (ctx->route->flags & GW_ROUTE_BLOB) && ctx->req->body_len > 0;
    int rc = blob ? client_send_blob (gw->client, ctx->service, ctx->wire_id, ctx->envelope,
                                      ctx->req->body, ctx->req->body_len, ctx->deadline_ms,
                                      s_on_reply, ctx)
                  : client_send_text (gw->client, ctx->service, ctx->wire_id, ctx->envelope,
                                      ctx->deadline_ms, s_on_reply, ctx);
    if (rc != 0) {
        s_inflight_remove (gw, ctx);
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the %s service cannot be reached",
                         ctx->service);
    }
    else
    if (ctx->req->method == HTTP_GET || ctx->idem_claimed)
        /* a read, or a write its service runs once (common/idem.h): a lost
         * broker's copy goes again through another (client.h) */
        client_repeatable (gw->client, ctx->wire_id);
}

static void
s_on_retry_timer (uv_timer_t *t)
{
    gw_t *gw = t->data;
    gw_ctx_t *list = gw->retry_head;
    gw->retry_head = gw->retry_tail = NULL;
    while (list) {
        gw_ctx_t *ctx = list;
        list = ctx->retry_next;
        ctx->retry_next = NULL;
        if (gw->stopping || http_req_gone (ctx->req)) {
            s_inflight_remove (gw, ctx);
            gw_finish_error (ctx, 503, "service_unavailable", NULL, "the %s service is unavailable",
                             ctx->service);
        }
        else
            s_send (ctx);
    }
}


/* A file route's file (GW_ROUTE_FILE): the service answers
 * {"content_type","filename","text"} and the client gets the text itself:
 * an export's "text/csv..." as a download; a printable page's "text/html..."
 * (a receipt, an item release pass) inline, under a policy that lets it
 * load nothing and style itself only (the text is the service's, its data
 * escaped there). false when the body is not such a file (it is then
 * answered as JSON, e.g. format=json). */
static bool
s_finish_file (gw_ctx_t *ctx, const cJSON *body)
{
    const char *type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (body, "content_type"));
    const char *text = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (body, "text"));
    const char *name = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (body, "filename"));
    bool html = type && strncmp (type, "text/html", 9) == 0;
    if (!type || !text || (!html && strncmp (type, "text/csv", 8) != 0))
        return false;
    char safe[80];
    snprintf (safe, sizeof safe, "%s", html ? "page.html" : "export.csv");
    size_t n = name ? strlen (name) : 0;
    if (n > 0 && n < sizeof safe && strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n)
        memcpy (safe, name, n + 1);
    char *copy = strdup (text);
    if (!copy) {
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return true;
    }
    char headers[HTTP_EXTRA_MAX];
    snprintf (headers, sizeof headers, "Cache-Control: no-store\r\nContent-Disposition: %s; filename=\"%s\"\r\n%s",
              html ? "inline" : "attachment", safe,
              html ? "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n" : "");
    gw_finish_raw (ctx, 200, html ? "text/html; charset=utf-8" : "text/csv; charset=utf-8", copy, strlen (copy),
                   HTTP_FREE_BODY, headers);
    return true;
}

/* A file the service answered as bytes (env_reply_blob: the reply's binary
 * frame, mdp.h), sent as itself: a download (Content-Disposition) of a
 * type filetype.h allows, never sniffed (nosniff is on every answer,
 * http_response.c), under a sandbox that gives it no script and no origin
 * should a browser show it anyway, kept by no shared cache. The bytes are
 * handed over, not copied: http_respond frees them once written. */
static void
s_finish_blob (gw_ctx_t *ctx, env_reply_t *rep)
{
    const char *type = filetype_allowed_type (env_reply_blob_type (rep));
    char name[FILETYPE_NAME_MAX + 1];
    if (!filetype_name_clean (env_reply_blob_name (rep), name, sizeof name))
        snprintf (name, sizeof name, "attachment.%s", filetype_extension (type));
    char headers[HTTP_EXTRA_MAX];
    int n = snprintf (headers, sizeof headers,
                      "Cache-Control: private, no-store\r\nContent-Security-Policy: sandbox\r\n");
    if (filetype_disposition (name, headers + n, sizeof headers - (size_t) n) < 0)
        snprintf (headers + n, sizeof headers - (size_t) n, "Content-Disposition: attachment\r\n");
    void *bytes = rep->blob;
    rep->blob = NULL;
    gw_finish_raw (ctx, 200, type ? type : "application/octet-stream", bytes, rep->blob_len,
                   HTTP_FREE_BODY, headers);
}

static void
s_on_reply (void *arg, env_reply_t *rep)
{
    gw_ctx_t *ctx = arg;
    gw_t *gw = ctx->gw;
    /* DESIGN.md: a GET may be retried once on another worker. Only a 503
     * that came back fast (a worker that could not serve, e.g. its database
     * is down), not the broker's "no live worker" answer after it waited:
     * that must reach the client in under a second. The retry runs from a
     * timer, not from inside the client's callback. */
    if (rep->status == 503 && ctx->req->method == HTTP_GET && ctx->attempts == 1 && !gw->stopping
        && uv_now (gw->loop) - ctx->sent_ms < GW_RETRY_WINDOW_MS
        && env_now_ms () + 100 < ctx->deadline_ms && !http_req_gone (ctx->req)) {
        if (gw->retry_tail)
            gw->retry_tail->retry_next = ctx;
        else
            gw->retry_head = ctx;
        gw->retry_tail = ctx;
        uv_timer_start (&gw->retry_timer, s_on_retry_timer, 0, 0);
        return;
    }
    s_inflight_remove (gw, ctx);
    int status = rep->status;
    if (rep->code) {
        if (status < 400 || status > 599)
            status = 502;
        char *body = env_error_body (rep->code, rep->message, rep->details, ctx->req->request_id);
        gw_finish (ctx, status, body, NULL);
        return;
    }
    if (status < 200 || status > 299) {
        log_warn (ctx->req->request_id, "%s answered status %d without an error", ctx->service, status);
        gw_finish_error (ctx, 502, "internal", NULL, "the %s service answered badly", ctx->service);
        return;
    }
    /* a file answered as bytes; never for a POST with a key: what gw_idem
     * stores then is the JSON body, not the bytes */
    if (rep->blob && status == 200 && !ctx->idem_claimed) {
        s_finish_blob (ctx, rep);
        return;
    }
    if ((ctx->route->flags & GW_ROUTE_FILE) && status == 200 && !ctx->idem_claimed
        && env_reply_body (rep) && s_finish_file (ctx, rep->body))
        return;
    char *body = NULL;
    if (status != 204) {
        /* the service printed the body already: its text, not a re-print
         * (client_send_text: a canonical reply's body comes only as text) */
        if (rep->body_json) {
            body = rep->body_json;
            rep->body_json = NULL;
        }
        else
            body = rep->body ? cJSON_PrintUnformatted (rep->body) : strdup ("{}");
        if (!body) {
            gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
            return;
        }
    }
    gw_finish (ctx, status, body, NULL);
}

static int64_t
s_route_timeout_ms (const gw_t *gw, const gw_route_t *route)
{
    return route && (route->flags & GW_ROUTE_IMPORT) ? gw->import_timeout_ms : gw->timeout_ms;
}

static void
s_forward (gw_t *gw, gw_ctx_t *ctx)
{
    const char *method = ctx->route->service_method;
    const char *dot = strchr (method, '.');
    size_t slen = dot ? (size_t) (dot - method) : strlen (method);
    if (slen >= sizeof ctx->service)
        slen = sizeof ctx->service - 1;
    memcpy (ctx->service, method, slen);
    ctx->service[slen] = 0;

    cJSON *body = cJSON_CreateObject ();
    cJSON_AddItemToObject (body, "params", ctx->params);
    cJSON_AddItemToObject (body, "data", ctx->data ? ctx->data : cJSON_CreateNull ());
    ctx->params = ctx->data = NULL;
    /* a resident's parties (gw_resident.h): who they are, for the service to check */
    cJSON *party_ids = ctx->caller.party_ids[0] ? cJSON_Parse (ctx->caller.party_ids) : NULL;
    env_caller_t caller = { .user_id = ctx->caller.id, .name = ctx->caller.name, .role = ctx->caller.role,
                            .property_ids = ctx->caller.property_ids, .party_ids = party_ids };
    /* the service's worker skips a request past this deadline, so a bulk
     * import carries its own, longer one */
    ctx->deadline_ms = env_now_ms () + s_route_timeout_ms (gw, ctx->route);
    s_inflight_add (gw, ctx);
    /* a claimed key goes on: the service runs a keyed write once (common/idem.h) */
    ctx->envelope = env_request_build_keyed (ctx->wire_id, method, &caller, ctx->deadline_ms,
                                             ctx->idem_claimed ? ctx->idem_key : NULL,
                                             ctx->idem_fingerprint, body);
    cJSON_Delete (party_ids);
    ctx->caller.property_ids = NULL;     /* borrowed: not beyond this point */
    if (!ctx->envelope) {
        s_inflight_remove (gw, ctx);
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return;
    }
    if (strlen (ctx->envelope) > GW_ENVELOPE_MAX_BYTES) {
        s_inflight_remove (gw, ctx);
        gw_finish_error (ctx, 413, "payload_too_large", NULL,
                         "the request is larger than %d bytes once encoded for the service",
                         GW_ENVELOPE_MAX_BYTES);
        return;
    }
    s_send (ctx);
}

/* --- dispatch ---------------------------------------------------------------- */

static bool
s_is_api_path (const char *path, size_t len)
{
    return (len >= 3 && memcmp (path, "/v1", 3) == 0 && (len == 3 || path[3] == '/'));
}

/* A text/csv body becomes data, a JSON string of UTF-8 text: converted
 * from GB18030/GBK when the charset parameter says so (Excel in China saves
 * CSV that way), refused with the row of the first bad byte when it is not
 * text, 415 for another charset. 0, or -1 after answering. */
/* The length of text (UTF-8) once written as a JSON string by cJSON. */
static size_t
s_json_string_len (const char *text, size_t len)
{
    size_t n = len + 2;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) text[i];
        if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' || ch == '\t')
            n += 1;
        else if (ch < 0x20)
            n += 5;
    }
    return n;
}

/* The charset of a text/csv body (label: as sent), or NULL after answering 415. */
static const char *
s_csv_charset (gw_ctx_t *ctx, char label[41])
{
    label[0] = 0;
    int found = http_media_type_param (ctx->req->content_type, "charset", label, 41);
    const char *charset = found == 0 ? "UTF-8" : found > 0 ? csv_charset (label) : NULL;
    if (!charset) {
        bool shown = found > 0;      /* the label goes back only as printable ASCII */
        for (const char *p = label; shown && *p; p++)
            shown = *p > 0x20 && *p < 0x7f;
        gw_finish_error (ctx, 415, "unsupported_media_type", NULL,
                         "charset %s is not supported: send UTF-8 (the default) or GB18030/GBK",
                         shown ? label : "(malformed)");
    }
    return charset;
}

static int
s_csv_body (gw_ctx_t *ctx)
{
    http_req_t *req = ctx->req;
    char label[41];
    const char *charset = s_csv_charset (ctx, label);
    if (!charset)
        return -1;
    const char *text = req->body;
    size_t len = req->body_len, bad = 0;
    char *converted = NULL;
    if (strcmp (charset, "UTF-8") != 0) {
        if (csv_to_utf8 (charset, req->body, req->body_len, &converted, &len, &bad) != 0) {
            if (bad == (size_t) -1) {
                gw_finish_error (ctx, 500, "internal", NULL, "cannot convert from %s", label);
                return -1;
            }
            size_t row = csv_row_at (req->body, req->body_len, bad);
            char problem[96];
            snprintf (problem, sizeof problem, "line %zu: not %s text", row, label);
            gw_finish_error (ctx, 422, "validation_failed", jv_detail ("body", problem),
                             "the file is not valid %s text (line %zu)", label, row);
            return -1;
        }
        text = converted;
    }
    if (!csv_utf8_ok (text, len, &bad)) {
        size_t row = csv_row_at (text, len, bad);
        bool nul = text[bad] == 0;
        char problem[160];
        snprintf (problem, sizeof problem, "line %zu: %s", row,
                  nul ? "contains a NUL byte"
                      : "not UTF-8 text (save as \"CSV UTF-8\", or send charset=gb18030)");
        gw_finish_error (ctx, 422, "validation_failed", jv_detail ("body", problem),
                         "the file is not valid UTF-8 text (line %zu)", row);
        free (converted);
        return -1;
    }
    /* a file of control characters grows six-fold as a JSON string: refuse
     * it before the copies are made, not after (memory, "The edge") */
    if (s_json_string_len (text, len) > GW_ENVELOPE_MAX_BYTES) {
        free (converted);
        gw_finish_error (ctx, 413, "payload_too_large", NULL,
                         "the request is larger than %d bytes once encoded for the service",
                         GW_ENVELOPE_MAX_BYTES);
        return -1;
    }
    ctx->data = cJSON_CreateString (text);
    free (converted);
    if (!ctx->data) {
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return -1;
    }
    return 0;
}

static bool
s_is_csv (const gw_ctx_t *ctx)
{
    return (ctx->route->flags & GW_ROUTE_CSV) && http_media_type_is (ctx->req->content_type, "text/csv");
}

/* The body's media type (and a CSV's charset), known from the headers;
 * 0, or -1 after answering 415. */
static int
s_media_check (gw_ctx_t *ctx)
{
    http_req_t *req = ctx->req;
    if (!req->has_body && req->body_len == 0)
        return 0;
    char label[41];
    if (s_is_csv (ctx))
        return s_csv_charset (ctx, label) ? 0 : -1;
    if (ctx->route->flags & GW_ROUTE_BLOB) {
        if (filetype_allowed_type (req->content_type))
            return 0;
        gw_finish_error (ctx, 415, "unsupported_media_type", NULL,
                         "send the file as image/jpeg, image/png, image/webp or application/pdf");
        return -1;
    }
    if (!http_media_type_is (req->content_type, "application/json")) {
        gw_finish_error (ctx, 415, "unsupported_media_type", NULL,
                         (ctx->route->flags & GW_ROUTE_CSV)
                             ? "send the body as application/json or text/csv"
                             : "send the body as application/json");
        return -1;
    }
    return 0;
}

/* Parses the body as JSON (or keeps CSV text); its media type passed
 * s_media_check. 0, or -1 after answering. */
static int
s_body (gw_ctx_t *ctx)
{
    http_req_t *req = ctx->req;
    if (!req->has_body && req->body_len == 0)
        return 0;
    if (ctx->route->flags & GW_ROUTE_BLOB)
        return 0;                    /* a file: its bytes go as they are (s_send) */
    if (s_is_csv (ctx))
        return s_csv_body (ctx);
    if (!jv_is_utf8 (req->body, req->body_len) || memchr (req->body, 0, req->body_len)) {
        gw_finish_error (ctx, 400, "bad_json", NULL, "the body is not valid UTF-8");
        return -1;
    }
    const char *end = NULL;
    ctx->data = cJSON_ParseWithLengthOpts (req->body, req->body_len, &end, false);
    if (ctx->data && end)
        while (end < req->body + req->body_len
               && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
            end++;
    if (!ctx->data || end != req->body + req->body_len) {
        size_t at = end && end >= req->body ? (size_t) (end - req->body) : 0;
        if (!ctx->data) {
            const char *e = cJSON_GetErrorPtr ();
            at = e && e >= req->body && e <= req->body + req->body_len ? (size_t) (e - req->body) : 0;
        }
        gw_finish_error (ctx, 400, "bad_json", NULL, "the body is not valid JSON (near byte %zu)", at);
        return -1;
    }
    return 0;
}

/* An upload's "content_type" (canonical) and "filename": X-Filename
 * percent-decoded (a browser sends no other bytes than Latin-1 in a header,
 * so UTF-8 names come encoded) and cleaned (filetype.h); absent or empty
 * once cleaned, the service names the file. 0, or -1 after answering. */
static int
s_blob_params (gw_ctx_t *ctx)
{
    http_req_t *req = ctx->req;
    const char *type = filetype_allowed_type (req->content_type);
    if (type)
        cJSON_AddStringToObject (ctx->params, "content_type", type);
    if (!req->filename)
        return 0;
    /* a longer name is cut when cleaned, not refused */
    char decoded[2048], name[FILETYPE_NAME_MAX + 1];
    size_t len = strlen (req->filename);
    if (len >= sizeof decoded || url_decode (req->filename, len, decoded, sizeof decoded, false) < 0) {
        gw_finish_error (ctx, 422, "validation_failed",
                         jv_detail ("X-Filename", "must be percent-encoded UTF-8, at most 2047 characters"),
                         "invalid X-Filename");
        return -1;
    }
    if (filetype_name_clean (decoded, name, sizeof name) > 0)
        cJSON_AddStringToObject (ctx->params, "filename", name);
    return 0;
}

/* Path and query parameters; 0, or -1 after answering. */
static int
s_params (gw_ctx_t *ctx, const char *query, size_t qlen)
{
    ctx->params = cJSON_CreateObject ();
    if (!ctx->params) {
        gw_finish_error (ctx, 500, "internal", NULL, "out of memory");
        return -1;
    }
    /* pid was checked and put in lower case by s_check */
    for (int i = 0; i < ctx->match.nparams; i++)
        cJSON_AddStringToObject (ctx->params, ctx->match.param[i].name, ctx->match.param[i].value);
    /* before the query's, which then cannot name them */
    if ((ctx->route->flags & GW_ROUTE_BLOB) && s_blob_params (ctx) != 0)
        return -1;
    char err[128];
    if (url_query_params (query, qlen, ctx->params, err) != 0) {
        gw_finish_error (ctx, 400, "bad_request", NULL, "%s", err);
        return -1;
    }
    return 0;
}

/* Idempotency-Key; 0 to go on, or -1 after answering (replay or refusal). */
static int
s_idempotency (gw_t *gw, gw_ctx_t *ctx)
{
    http_req_t *req = ctx->req;
    if (req->method != HTTP_POST || !req->idempotency_key || !ctx->authenticated
        || (ctx->route->flags & GW_ROUTE_NO_IDEM))
        return 0;
    if (!env_idem_key_valid (req->idempotency_key)) {
        gw_finish_error (ctx, 400, "bad_request", NULL,
                         "Idempotency-Key must be 1 to %d visible ASCII characters", GW_IDEM_KEY_MAX);
        return -1;
    }
    const char *path;
    size_t plen;
    const char *q;
    size_t qlen;
    url_split (req->target, req->target_len, &path, &plen, &q, &qlen);
    char route[ROUTER_PATH_MAX + 16];
    snprintf (route, sizeof route, "%s %.*s", req->method_name, (int) plen, path);
    char hash[GW_IDEM_HASH_HEX];
    gw_idem_hash (req->body, req->body_len, hash);
    int status = 0;
    char *response = NULL;
    gw_idem_result_t r = gw_idem_begin (gw->idem, req->idempotency_key, ctx->caller.id, route, hash,
                                        s_idem_abandon_s (gw, ctx->route), ctx->idem_stamp,
                                        &status, &response, req->request_id);
    switch (r) {
    case GW_IDEM_CLAIMED:
        ctx->idem_claimed = true;
        snprintf (ctx->idem_key, sizeof ctx->idem_key, "%s", req->idempotency_key);
        gw_idem_fingerprint (route, hash, ctx->idem_fingerprint);
        return 0;
    case GW_IDEM_REPLAY:
        gw_finish_raw (ctx, status, response ? "application/json" : NULL, response,
                       response ? strlen (response) : 0, HTTP_FREE_BODY, "Idempotent-Replayed: true\r\n");
        return -1;
    case GW_IDEM_MISMATCH:
        gw_finish_error (ctx, 409, "idempotency_mismatch", NULL,
                         "this Idempotency-Key was used with a different request");
        return -1;
    case GW_IDEM_IN_PROGRESS:
        s_finish_error_extra (ctx, 409, "idempotency_in_progress", NULL,
                              "Retry-After: " GW_IDEM_RETRY_AFTER "\r\n",
                              "a request with this Idempotency-Key is still in progress: "
                              "retry once it is answered");
        return -1;
    default:
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the gateway database is unavailable");
        return -1;
    }
}

/* The route of the request line into ctx (route, match). 0 for an API
 * route, 1 for a console file (a GET or HEAD off the API's paths), or -1
 * after answering (400 bad target, 404, 405 with Allow). */
static int
s_route (gw_t *gw, gw_ctx_t *ctx)
{
    http_req_t *req = ctx->req;
    const char *path, *query;
    size_t plen, qlen;
    if (url_split (req->target, req->target_len, &path, &plen, &query, &qlen) != 0) {
        gw_finish_error (ctx, 400, "bad_request", NULL, "the request target must be a path");
        return -1;
    }
    /* HEAD is GET without the body (http_respond drops it) */
    const char *method = req->method == HTTP_HEAD ? "GET" : req->method_name;
    router_result_t rr = router_match (gw->router, method, path, plen, &ctx->match);
    if (rr == ROUTER_NOT_FOUND && !s_is_api_path (path, plen)) {
        if (req->method == HTTP_GET || req->method == HTTP_HEAD)
            return 1;
        s_finish_error_extra (ctx, 405, "method_not_allowed", NULL, "Allow: GET, HEAD\r\n",
                              "the console's files are read with GET");
        return -1;
    }
    if (rr == ROUTER_NOT_FOUND) {
        gw_finish_error (ctx, 404, "not_found", NULL, "no such resource");
        return -1;
    }
    if (rr == ROUTER_BAD_PATH) {
        gw_finish_error (ctx, 400, "bad_request", NULL, "the path has invalid percent-encoding or UTF-8");
        return -1;
    }
    if (rr == ROUTER_BAD_METHOD) {
        char extra[sizeof ctx->match.allow + 16];
        snprintf (extra, sizeof extra, "Allow: %s\r\n", ctx->match.allow);
        char message[200];
        snprintf (message, sizeof message, "%s is not allowed here; allowed: %s", req->method_name,
                  ctx->match.allow);
        s_finish_error_extra (ctx, 405, "method_not_allowed", NULL, extra, message);
        return -1;
    }
    ctx->route = &gw->routes[ctx->match.index];
    req->route = ctx->match.index;
    return 0;
}

/* Who is asking (the token's caller into ctx->caller, its properties
 * copied) and whether their role may use the route. 0, or -1 after
 * answering (503 database away, 401, 403). */
static int
s_authenticate (gw_t *gw, gw_ctx_t *ctx)
{
    http_req_t *req = ctx->req;
    int rc = gw_auth_caller (gw->auth, req->authorization, &ctx->caller, req->request_id);
    if (rc == GW_AUTH_UNAVAILABLE) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "the gateway database is unavailable");
        return -1;
    }
    if (rc != 0) {
        s_finish_error_extra (ctx, 401, "unauthenticated", NULL, "WWW-Authenticate: Bearer\r\n",
                              req->authorization ? "the token is not valid (expired or revoked?)"
                                                 : "send Authorization: Bearer <token>");
        return -1;
    }
    ctx->authenticated = true;
    if (!(gw_role_bit (ctx->caller.role) & ctx->route->roles)) {
        gw_finish_error (ctx, 403, "forbidden", NULL, "the role %s may not do this", ctx->caller.role);
        return -1;
    }
    return 0;
}

/* The caller's properties are borrowed from the token cache, which may
 * reuse the slot once the request waits (for its body, the thread pool, a
 * service): a request that will wait keeps a copy. A forwarded request
 * without a body does not: its envelope is built before it first waits,
 * and the copy would be an allocation per request. 0, or -1 after answering. */
static int
s_own_caller (gw_ctx_t *ctx)
{
    if (!ctx->caller.property_ids || ctx->caller_pids)
        return 0;
    ctx->caller_pids = cJSON_Duplicate (ctx->caller.property_ids, true);
    if (!ctx->caller_pids) {
        gw_finish_error (ctx, 503, "service_unavailable", NULL, "out of memory");
        return -1;
    }
    ctx->caller.property_ids = ctx->caller_pids;
    return 0;
}

/* The path's {pid}: a UUID, put in lower case (as the caller's list holds
 * them), of a property the caller may see. 0, or -1 after answering 404:
 * anything but a UUID names nothing, and another property's resource is
 * "not found", not "forbidden", so that its existence does not leak. */
static int
s_property_check (gw_ctx_t *ctx)
{
    for (int i = 0; i < ctx->match.nparams; i++) {
        if (strcmp (ctx->match.param[i].name, "pid") != 0)
            continue;
        char *value = (char *) ctx->match.param[i].value;   /* in match.buf: ours */
        if (!jv_is_uuid (value)) {
            gw_finish_error (ctx, 404, "not_found", NULL, "no such property");
            return -1;
        }
        for (char *p = value; *p; p++)
            if (*p >= 'A' && *p <= 'F')
                *p = (char) (*p - 'A' + 'a');
        env_caller_t c = { .user_id = ctx->caller.id, .role = ctx->caller.role,
                           .property_ids = ctx->caller.property_ids };
        if (ctx->authenticated && !env_caller_has_property (&c, value)) {
            gw_finish_error (ctx, 404, "not_found", NULL, "no such property");
            return -1;
        }
    }
    return 0;
}

/* Everything decided from the request line and headers: the route, who is
 * asking (once per request), whether their role may use the route, whether
 * they may see the property of a /v1/properties/{pid}/... path, the body's
 * media type. 0 to go on (ctx->route, match, caller set), 1 for a console
 * file (not an API route), or -1 after answering. */
static int
s_check (gw_t *gw, gw_ctx_t *ctx)
{
    int rc = s_route (gw, ctx);
    if (rc != 0)
        return rc;
    if (ctx->route->roles && s_authenticate (gw, ctx) != 0)
        return -1;
    if (s_property_check (ctx) != 0)
        return -1;
    return s_media_check (ctx);
}

static gw_ctx_t *
s_ctx_for (gw_t *gw, http_req_t *req)
{
    gw_ctx_t *ctx = s_ctx_take (gw);
    if (!ctx)
        return NULL;
    ctx->req = req;
    req->user = ctx;
    req->route = GW_LABEL_UNMATCHED (gw);
    return ctx;
}

void
gw_on_headers (void *app, http_req_t *req)
{
    gw_t *gw = app;
    /* a request without a body is decided in gw_on_request, all at once,
     * and keeps its connection; one with a body is decided now, before a
     * byte of it is read: a refusal closes the connection (its body unread),
     * and only a caller the route allows gets an import's bigger limit */
    if (!req->has_body || !gw->router)
        return;
    gw_ctx_t *ctx = s_ctx_for (gw, req);
    if (!ctx) {
        http_respond_error (req, 503, "service_unavailable", NULL, "out of memory",
                            "Retry-After: " HTTP_RETRY_AFTER "\r\n");
        return;
    }
    int rc = s_check (gw, ctx);
    if (rc < 0)
        return;                      /* answered */
    if (rc > 0) {                    /* a console file: gw_on_request serves it */
        req->user = NULL;
        s_ctx_give (ctx);
        return;
    }
    if (s_own_caller (ctx) != 0)
        return;
    ctx->checked = true;
    if (ctx->route->flags & GW_ROUTE_IMPORT)
        req->max_body_bytes = gw->import_max_bytes;
    else if (ctx->route->flags & GW_ROUTE_BLOB)
        req->max_body_bytes = gw->attachment_max_bytes;
    else if (!ctx->route->roles)
        /* strangers' routes (login) take small bodies: a parsed megabyte of
         * JSON is tens of megabytes of tree, held while a password hashes */
        req->max_body_bytes = GW_PUBLIC_MAX_BODY;
}

void
gw_on_abandon (void *app, http_req_t *req)
{
    (void) app;
    gw_ctx_t *ctx = req->user;
    req->user = NULL;
    if (ctx)
        s_ctx_give (ctx);
}

void
gw_on_request (void *app, http_req_t *req)
{
    gw_t *gw = app;
    gw_ctx_t *ctx = req->user ? req->user : s_ctx_for (gw, req);
    if (!ctx) {
        http_respond_error (req, 503, "service_unavailable", NULL, "out of memory",
                            "Retry-After: " HTTP_RETRY_AFTER "\r\n");
        return;
    }
    const char *path = "", *query = "";
    size_t plen = 0, qlen = 0;
    url_split (req->target, req->target_len, &path, &plen, &query, &qlen);
    if (!ctx->checked) {
        int rc = s_check (gw, ctx);
        if (rc < 0)
            return;
        if (rc > 0) {
            req->route = GW_LABEL_STATIC (gw);
            gw_static_serve (gw, ctx, path, plen);
            return;
        }
    }
    if (s_body (ctx) != 0 || s_params (ctx, query, qlen) != 0)
        return;
    if (s_idempotency (gw, ctx) != 0)
        return;
    if (!ctx->route->handler)
        s_forward (gw, ctx);
    else
    if (s_own_caller (ctx) == 0)
        ctx->route->handler (gw, ctx);
}

/* --- life -------------------------------------------------------------------- */

int
gw_api_init (gw_t *gw)
{
    gw->routes = gw_routes;
    gw->nroutes = gw_nroutes;
    /* never more than a blob frame of the bus carries */
    gw->attachment_max_bytes = (size_t) config_int ("PM_ATTACHMENT_MAX_BYTES", GW_ATTACHMENT_MAX_BYTES,
                                                    1, MDP_BLOB_MAX);
    uv_timer_init (gw->loop, &gw->retry_timer);
    gw->retry_timer.data = gw;
    gw->api_ready = true;
    gw->router = router_new (gw_routes, gw_nroutes, sizeof gw_routes[0]);
    return gw->router ? 0 : -1;
}

void
gw_api_shutdown (gw_t *gw)
{
    if (!gw->api_ready)
        return;
    gw->api_ready = false;
    /* pending retries are answered (503) before the client goes */
    if (gw->retry_head)
        s_on_retry_timer (&gw->retry_timer);
    uv_close ((uv_handle_t *) &gw->retry_timer, NULL);
    router_destroy (&gw->router);
}

void
gw_api_free_pool (gw_t *gw)
{
    while (gw->pool) {
        gw_ctx_t *next = gw->pool->pool_next;
        free (gw->pool);
        gw->pool = next;
    }
}
