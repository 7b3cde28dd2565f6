/* attachments: the files of units (floor plans, meter photos) and of
 * parties (ID copies, contracts: 证件, 合同), the bytes stored in the
 * tenants schema. The file comes and goes as the bus's binary frame
 * (mdp.h), never inside the JSON; its type is checked from its first bytes
 * (filetype.h).
 *
 * Who may: a unit's files, staff; a party's documents are personal data:
 * the desk (admin, manager, agent) files them, only roles with full PII
 * (admin, manager) list and read them, and each read of a document writes a
 * pii_reads row in the transaction of the read, as a whole party read does
 * (a read that cannot be audited is not answered). */
#ifndef TN_ATTACHMENTS_H
#define TN_ATTACHMENTS_H

#include "tenants.h"

int tn_attachments_prepare (db_t *db);

/* tenants.unit_attachments.* and tenants.party_attachments.*: create (201
 * {"id","content_type","filename","size","sha256","uploaded_by","created_at"}),
 * list (newest first, a page), get (the file itself: a blob reply). */
void tn_unit_attachments_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_unit_attachments_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_unit_attachments_get (void *app, const env_request_t *req, env_reply_t *rep);
void tn_party_attachments_create (void *app, const env_request_t *req, env_reply_t *rep);
void tn_party_attachments_list (void *app, const env_request_t *req, env_reply_t *rep);
void tn_party_attachments_get (void *app, const env_request_t *req, env_reply_t *rep);

#endif
