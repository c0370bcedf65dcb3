/*
 * app.h - the program's wiring: open the database, migrate, check it can
 * start, run the servers until a signal, and seed the demo. The CLI calls
 * these; it holds no logic of its own.
 */
#ifndef BENCHSIDE_APP_APP_H
#define BENCHSIDE_APP_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "auth/audit.h"
#include "base/err.h"
#include "store/db.h"

#define APP_DEFAULT_DB   "sqlite:benchside.db"
#define APP_DEMO_DB      "sqlite:benchside-demo.db"
#define APP_DEFAULT_HTTP "127.0.0.1:8080"

typedef struct app_serve_opts {
    const char *db_url;
    const char *http;     /* ADDR:PORT or [ADDR6]:PORT */
    const char *tls_cert; /* PEM files, both or neither */
    const char *tls_key;
    size_t max_body;
    int64_t session_idle_s;
    int threads;
    bool demo;        /* seed demo data on first start and print the sign-ins */
    const char *mllp; /* ADDR:PORT for HL7 over MLLP; NULL: the default; "off": none */
    const char *astm; /* ADDR:PORT for ASTM over TCP; NULL: the default; "off": none */
    size_t max_message;
    int heartbeat_s;  /* between heartbeats of live-event streams; 0: 15 */
    const char *node; /* this node's name among several on one database; NULL: HOST-PID */
    /* security: see http_config */
    const char *origin;
    int per_address;        /* 0: no limit */
    int sign_in_burst;      /* 0: no limit */
    int sign_in_interval_s; /* 0: 10 */
} app_serve_opts;

#define APP_PER_ADDRESS_DEFAULT 256 /* connections per client address */

/* Whether name may name a node: 1 to 64 of A-Z a-z 0-9 . _ - */
bool app_node_valid(const char *name);

/* The database URL: the option, else $BENCHSIDE_DB, else sqlite:benchside.db. */
const char *app_db_url(const char *option);

/* Split "ADDR:PORT" / "[ADDR6]:PORT" into addr (size n) and port. */
err_t app_parse_listen(const char *s, char *addr, size_t n, int *port, errinfo *ei);

/* Open url and apply the migrations; the caller closes *out. */
err_t app_open_db(const char *url, db **out, errinfo *ei);

/* The same for a database that must exist already (a SQLite file that is
 * missing is refused rather than created). */
err_t app_open_existing_db(const char *url, db **out, errinfo *ei);

/* Serve until SIGINT or SIGTERM. Refuses to start without an enabled admin. */
err_t app_serve(const app_serve_opts *o, errinfo *ei);

/* The audit actor for command-line actions. */
audit_ctx app_cli_actor(void);

/* Seed demo users (and data) into an empty database; *seeded says whether it did. */
err_t app_demo_seed(db *d, bool *seeded, errinfo *ei);
/* The demo's simulated analyzers (benchside sim in threads): CHEM-1 over
 * ASTM and HEME-1 over HL7 result the received specimens still waiting,
 * one message every 5 s, so orders are seen going down and results coming
 * up. A port of 0 leaves that analyzer out. */
typedef struct demo_analyzers demo_analyzers;
err_t app_demo_analyzers_start(const char *url, int mllp_port, int astm_port, demo_analyzers **out,
                               errinfo *ei);
void app_demo_analyzers_stop(demo_analyzers *a);

/* Whether the database at url holds benchside data already (a schema
 * applied), so that restoring over it asks to be sure. A SQLite file that
 * does not exist, or an empty one, holds none. */
err_t app_restore_target_holds_data(const char *url, bool *holds, errinfo *ei);

/* What `benchside doctor` checks: the database (reachable, migrated, an
 * administrator, the audit chain's head, or with full the whole chain), the
 * clock, the disk under a SQLite file, the TLS files, and whether the
 * listening addresses are free (NULL: serve's defaults; "off": not used). */
typedef struct app_doctor_opts {
    const char *db_url;
    const char *http, *mllp, *astm;
    const char *tls_cert, *tls_key;
    bool full;
} app_doctor_opts;

/* Run every check, one line each on out, then a summary line. Returns how
 * many failed (0: the site can run; warnings are only printed). */
int app_doctor(const app_doctor_opts *o, FILE *out);

/* Print the demo sign-ins on stdout. */
void app_demo_print(const char *url);

#endif
