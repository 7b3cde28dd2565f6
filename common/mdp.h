/* mdp: the Majordomo-style protocol between clients, the broker and workers
 * (after ZeroMQ RFC 7, MDP/0.1). All peers use DEALER sockets connected to
 * the broker's ROUTER at config_broker_endpoint ().
 *
 * Client -> broker:  "" | "MDPC01" | service | request_id | request JSON [| blob]
 * Broker -> client:  "" | "MDPC01" | service | request_id | reply JSON [| blob]
 * Worker -> broker:  "" | "MDPW01" | READY     | service [| credit]
 *                    "" | "MDPW01" | REPLY     | client | "" | request_id | reply JSON [| blob]
 *                    "" | "MDPW01" | HEARTBEAT
 *                    "" | "MDPW01" | DISCONNECT
 * Broker -> worker:  "" | "MDPW01" | REQUEST   | client | "" | request_id | request JSON | sender
 *                                                                                     [| blob]
 *                    "" | "MDPW01" | HEARTBEAT
 *                    "" | "MDPW01" | DISCONNECT
 *
 * blob (optional, both ways) is a file's bytes as they are (an attachment:
 * API.md), never inside the JSON, where base64 would grow it by a third and
 * every hop would parse it. The JSON says what it is (the request's params
 * "content_type" and "filename"; a reply's body {"content_type","filename",
 * "size"}). The broker forwards it without reading or copying it (a moved
 * zmq_msg_t), after the sender frame of a REQUEST so that the frames a
 * worker already knew keep their places; it refuses (413) a client's blob
 * over MDP_BLOB_MAX. A message without a blob is the same as before: older
 * peers keep working as long as no blob reaches them (README: upgrade the
 * broker, then the workers, then the gateway).
 *
 * Several brokers (docs/DESIGN.md, "Two brokers"): a worker says READY to
 * each and answers a request through the broker it came from; when that one
 * is gone, through another, which forwards a REPLY for a request it does not
 * hold (without a blob) to the client frame's identity: a client has one
 * routing id on every broker, and takes a reply only from the service it
 * asked.
 *
 * sender is the identity the broker's ZAP handler gave the client's CURVE
 * key (services/broker/zap.h): written by the broker, never by the client.
 *
 * credit (decimal, 1..MDP_CREDIT_MAX; 1 when absent) is how many requests
 * the broker may send the worker before it has answered them: the worker
 * serves them one after another in the order they came, so that while it
 * is busy the next request already waits in its socket (no round trip
 * through the broker between two requests, no sleep of the worker's loop).
 * The broker gives a request to a worker holding others only when no
 * worker of the service holds none.
 *
 * The request_id frame lets the broker answer 503 for a request it cannot
 * place without parsing JSON, and lets clients match replies to requests.
 *
 * A REPLY with an empty reply frame means "skipped, nothing to deliver"
 * (the request's deadline had passed when the worker got it): the broker
 * takes it off the worker's count and forwards nothing. A worker heartbeats while it
 * is busy too, so that a long handler does not get it expired. */
#ifndef PM_MDP_H
#define PM_MDP_H

#define MDP_CLIENT "MDPC01"
#define MDP_WORKER "MDPW01"

#define MDP_READY      "\001"
#define MDP_REQUEST    "\002"
#define MDP_REPLY      "\003"
#define MDP_HEARTBEAT  "\004"
#define MDP_DISCONNECT "\005"

/* Both sides heartbeat every MDP_HEARTBEAT_MS; a peer silent for
 * MDP_HEARTBEAT_LIVENESS intervals is dead. */
#define MDP_HEARTBEAT_MS       300
#define MDP_HEARTBEAT_LIVENESS 3

/* The most requests a worker may hold (its READY credit). */
#define MDP_CREDIT_MAX 16

/* How long the broker holds a request for a service with no live worker
 * before answering 503 (a restarting worker gets this long to come back). */
#define MDP_NO_WORKER_WAIT_MS  700

/* The message of the broker's 503 for a request whose worker was lost while
 * holding it: the request may still have run, so the gateway keeps its
 * Idempotency-Key claim (gw_idem.h) instead of releasing it. */
#define MDP_WORKER_LOST "the worker handling this request was lost"

/* The message of the broker's 503 for a request no worker of the service
 * took in time: it never ran, so a client may send it through another
 * broker (client.c, several brokers). */
#define MDP_NO_WORKER "no live worker for this service"

/* The largest blob frame (the gateway's PM_ATTACHMENT_MAX_BYTES at most). */
#define MDP_BLOB_MAX (10 * 1024 * 1024)
/* The largest frame any peer takes (libzmq's ZMQ_MAXMSGSIZE, set on the
 * broker's and the workers' sockets, applies to each frame, not to the whole
 * message): a request JSON up to the gateway's GW_ENVELOPE_MAX_BYTES (60 MiB,
 * a CSV import) with room for its envelope. A blob frame needs only
 * MDP_BLOB_MAX of it. A peer sending a larger frame is disconnected. */
#define MDP_FRAME_MAX (64LL << 20)

/* Service names: 1..32 of [a-z0-9_-]. They are also the bus identities
 * (curve.h) and the names consumers are known by (outbox.h). */
#define MDP_SERVICE_MAX 32

#include <stdbool.h>
#include <stddef.h>

static inline bool
mdp_name_valid (const char *s, size_t n)
{
    if (!s || n < 1 || n > MDP_SERVICE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'
              || s[i] == '-'))
            return false;
    return true;
}

#endif
