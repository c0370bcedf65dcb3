/*
 * link.h - the instrument and EHR links: the MLLP and ASTM listeners, the
 * serial lines of the instrument register, the ingest writer, and the
 * outbox worker.
 *
 * One libuv loop thread owns every connection. It frames and decodes bytes
 * (src/proto) and hands each complete message to the ingest writer: one
 * thread that owns the write connection to the database and commits the
 * messages waiting for it together (group commit). Each message is handled
 * and journalled inside that transaction (link/handle.h); only after the
 * commit is durable does the loop send its reply (HL7 ACK, the ACK of the
 * last ASTM frame). If the commit fails, the connections that were waiting
 * are closed without a reply, so the senders send again: nothing
 * acknowledged is ever lost. On SQLite a checkpointer thread copies the
 * write-ahead log into the database file after the writer's commits, so
 * that the writer's commits only append to the log.
 *
 * Faults are answered by each protocol's own rule and journalled: bytes
 * outside frames and oversize messages (MLLP: AR), bad frames (E1381: NAK),
 * a peer stalled in the middle of a message or idle too long (closed).
 */
#ifndef BENCHSIDE_LINK_LINK_H
#define BENCHSIDE_LINK_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/err.h"

#define LINK_DEFAULT_MLLP "0.0.0.0:2575"
#define LINK_DEFAULT_ASTM "0.0.0.0:5000"

typedef struct link_config {
    const char *db_url;
    const char *mllp;   /* ADDR:PORT to listen on for MLLP, NULL for none */
    const char *astm;   /* ADDR:PORT for ASTM over TCP, NULL for none */
    size_t max_message; /* bytes; 0 = 1 MiB */
    int idle_s;         /* a connection silent this long is closed; 0 = 600 */
    int stall_s;        /* a message begun and not ended within this is dropped
                           and its connection closed; 0 = 30 */
    int batch_max;      /* most messages in one commit; 0 = 256 */
    bool serial;        /* open the serial lines of the instrument register */
    bool outbox;        /* deliver the outbox to the EHRs */
    const char *node;   /* this process among the nodes sharing the database,
                           unique to it (outbox claims); NULL: HOST-PID */
} link_config;

typedef struct link_server link_server;

/* Open the listeners and start the threads. */
err_t link_start(const link_config *c, link_server **out, errinfo *ei);

/* A node name unique to this process on this machine: HOST-PID (out of n
 * bytes, at most 64 used). */
void link_node_default(char *out, size_t n);

/* The ports listened on (useful with port 0), or 0 when that listener is off. */
int link_mllp_port(const link_server *s);
int link_astm_port(const link_server *s);

/* Stop: close the listeners and connections, let the writer finish what it
 * holds (committed and answered, or not answered at all), join the threads. */
void link_stop(link_server *s);

/*
 * What this process's links are doing now, as a new JSON object in *out:
 * {"node","mllp":{"listening":bool,"port"},"astm":{...},"connections":[
 * {"transport" (mllp, astm-tcp, serial),"protocol" (hl7, astm),"peer",
 * "instrument" (recognised from its last message; the instrument of a
 * serial line; else null),"connected_at","last_message_at" (null before
 * the first),"messages","not_accepted" (rejected, in error or not
 * stored),"last_status"}]}, newest connection first. s may be NULL (links
 * not started): nothing listening, no connections. Safe from any thread.
 */
err_t link_connections(link_server *s, json_t **out);

#endif
