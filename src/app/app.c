/*
 * app.c - start-up and shut-down of the server (see app.h).
 */
#include "app/app.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/user.h"
#include "base/log.h"
#include "base/str.h"
#include "http/http.h"
#include "link/link.h"
#include "store/migrate.h"

const char *app_db_url(const char *option)
{
    const char *env = getenv("BENCHSIDE_DB");
    if (option && *option)
        return option;
    if (env && *env)
        return env;
    return APP_DEFAULT_DB;
}

err_t app_parse_listen(const char *s, char *addr, size_t n, int *port, errinfo *ei)
{
    if (str_split_hostport(s, addr, n, port))
        return err_set(ei, ERR_USAGE, "http",
                       "--http wants ADDR:PORT (e.g. 127.0.0.1:8080), got '%s'", s ? s : "");
    return ERR_OK;
}

err_t app_open_db(const char *url, db **out, errinfo *ei)
{
    int applied = 0;
    err_t rc = db_open(url, out, ei);
    if (rc)
        return rc;
    rc = migrate_apply(*out, &applied, ei);
    if (rc) {
        db_close(*out);
        *out = NULL;
        return rc;
    }
    if (applied)
        log_info("applied %d migration(s)", applied);
    return ERR_OK;
}

err_t app_open_existing_db(const char *url, db **out, errinfo *ei)
{
    if (url && !strncmp(url, "sqlite:", 7)) {
        char path[4096];
        const char *p = url + 7;
        size_t n = strcspn(p, "?");
        if (n < sizeof(path)) {
            memcpy(path, p, n);
            path[n] = '\0';
            if (n && access(path, F_OK))
                return err_set(ei, ERR_DB_UNAVAILABLE, "db", "no database at %s", path);
        }
    }
    return app_open_db(url, out, ei);
}

bool app_node_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

err_t app_restore_target_holds_data(const char *url, bool *holds, errinfo *ei)
{
    db *d = NULL;
    int version = 0;
    *holds = false;
    if (url && !strncmp(url, "sqlite:", 7)) {
        char path[4096];
        const char *p = url + 7;
        struct stat sb;
        if (!strncmp(p, "//", 2))
            p += 2;
        size_t n = strcspn(p, "?");
        if (n == 0 || n >= sizeof(path))
            return err_set(ei, ERR_USAGE, "db", "the database path is empty or too long");
        memcpy(path, p, n);
        path[n] = '\0';
        if (stat(path, &sb) || sb.st_size == 0)
            return ERR_OK;
    }
    err_t rc = db_open(url, &d, ei);
    if (!rc)
        rc = migrate_version(d, &version, ei);
    db_close(d);
    *holds = !rc && version > 0;
    return rc;
}

audit_ctx app_cli_actor(void)
{
    static __thread char source[48];
    snprintf(source, sizeof(source), "local:uid=%u", (unsigned)getuid());
    audit_ctx c = {NULL, "cli", source};
    return c;
}

/* The links of app_serve, for the HTTP threads that ask what they do: set
 * once they run, cleared before they stop, read under the lock. */
static pthread_mutex_t serve_links_lock = PTHREAD_MUTEX_INITIALIZER;
static link_server *serve_links;

static err_t serve_link_state(json_t **out)
{
    pthread_mutex_lock(&serve_links_lock);
    err_t rc = link_connections(serve_links, out);
    pthread_mutex_unlock(&serve_links_lock);
    return rc;
}

static void serve_links_set(link_server *links)
{
    pthread_mutex_lock(&serve_links_lock);
    serve_links = links;
    pthread_mutex_unlock(&serve_links_lock);
}

err_t app_serve(const app_serve_opts *o, errinfo *ei)
{
    char addr[128];
    int port = 0, sig = 0;
    int64_t admins = 0;
    db *d = NULL;
    db_pool *pool = NULL;
    auditq *audit_writer = NULL;
    http_server *srv = NULL;
    link_server *links = NULL;
    db_listener *listener = NULL;
    demo_analyzers *analyzers = NULL;
    char node[65];
    sigset_t set;
    err_t rc;

    /* Block the stop signals in every thread; the main thread waits for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit makes a write fail (EFBIG), refused like a full disk,
     * rather than end the server. */
    signal(SIGXFSZ, SIG_IGN);

    rc = app_parse_listen(o->http ? o->http : APP_DEFAULT_HTTP, addr, sizeof(addr), &port, ei);
    if (rc)
        return rc;
    rc = app_open_db(o->db_url, &d, ei);
    if (rc)
        return rc;
    if (o->demo) {
        bool seeded = false;
        rc = app_demo_seed(d, &seeded, ei);
        if (rc)
            goto done;
    }
    rc = user_count_admins(d, &admins, ei);
    if (rc)
        goto done;
    if (admins == 0) {
        rc = err_set(ei, ERR_SETUP, NULL,
                     "the database has no administrator; create one first with: benchside user "
                     "add --db %s --username NAME --role admin --password-stdin",
                     o->db_url);
        goto done;
    }
    db_close(d);
    d = NULL;

    /* Several nodes on one PostgreSQL database: each tells the others of its
     * events, and hears theirs (store/db.h). */
    if (o->node)
        snprintf(node, sizeof(node), "%s", o->node);
    else
        link_node_default(node, sizeof(node));
    db_share_events(node);
    log_set_node(node);
    rc = db_listen_start(o->db_url, &listener, ei);
    if (rc)
        goto done;

    int threads = o->threads > 0 ? o->threads : 4;
    rc = db_pool_open(o->db_url, threads + 2, &pool, ei);
    if (rc)
        goto done;
    /* The audit events of reads, in group commits (auth/auditq.h). */
    rc = auditq_start(o->db_url, &audit_writer, ei);
    if (rc)
        goto done;
    http_config cfg = {
        .addr = addr,
        .port = port,
        .tls_cert_path = o->tls_cert,
        .tls_key_path = o->tls_key,
        .max_body = o->max_body ? o->max_body : 1024 * 1024,
        .session_idle_us = (o->session_idle_s > 0 ? o->session_idle_s : 900) * 1000000,
        .threads = threads,
        .timeout_s = 30,
        .pool = pool,
        .audit_writer = audit_writer,
        .heartbeat_s = o->heartbeat_s,
        .link_state = serve_link_state,
        .origin = o->origin,
        .per_address = o->per_address,
        .sign_in_burst = o->sign_in_burst,
        .sign_in_interval_s = o->sign_in_interval_s,
    };
    rc = http_start(&cfg, &srv, ei);
    if (rc)
        goto done;
    const char *dflt_mllp = o->demo ? "127.0.0.1:2575" : LINK_DEFAULT_MLLP;
    const char *dflt_astm = o->demo ? "127.0.0.1:5000" : LINK_DEFAULT_ASTM;
    const char *mllp = o->mllp ? o->mllp : dflt_mllp, *astm = o->astm ? o->astm : dflt_astm;
    link_config lc = {
        .db_url = o->db_url,
        .mllp = strcmp(mllp, "off") ? mllp : NULL,
        .astm = strcmp(astm, "off") ? astm : NULL,
        .max_message = o->max_message,
        .serial = true,
        .outbox = true,
        .node = node,
    };
    rc = link_start(&lc, &links, ei);
    if (rc)
        goto done;
    serve_links_set(links);
    printf("benchside links: mllp %d, astm %d\n", link_mllp_port(links), link_astm_port(links));
    if (o->demo) {
        rc = app_demo_analyzers_start(o->db_url, link_mllp_port(links), link_astm_port(links),
                                      &analyzers, ei);
        if (rc)
            goto done;
    }
    log_info("benchside node %s listening on %s://%s:%d (database %s)", node,
             o->tls_cert ? "https" : "http", addr, http_port(srv), db_pool_url(pool));
    if (o->demo)
        app_demo_print(o->db_url);
    printf("benchside is running on %s://%s:%d ; stop it with Ctrl-C\n",
           o->tls_cert ? "https" : "http", strchr(addr, ':') ? "[::1]" : "localhost",
           http_port(srv));
    fflush(stdout);
    sigwait(&set, &sig);
    log_info("stopping on signal %d", sig);
done:
    app_demo_analyzers_stop(analyzers);
    serve_links_set(NULL);
    link_stop(links);
    http_stop(srv);
    auditq_stop(audit_writer);
    db_listen_stop(listener);
    db_share_events(NULL);
    db_pool_close(pool);
    db_close(d);
    return rc;
}
