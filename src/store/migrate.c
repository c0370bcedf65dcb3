/*
 * migrate.c - apply the embedded schema migrations (see migrate.h).
 */
#include "store/migrate.h"

#include <stdbool.h>

#include "base/time.h"

static const char sql_create[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 " version INTEGER PRIMARY KEY,"
                                 " name TEXT NOT NULL,"
                                 " applied_at BIGINT NOT NULL)";
static const char sql_has[] = "SELECT 1 FROM schema_migrations WHERE version = ?";
static const char sql_max[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
/* BEGIN on PostgreSQL takes no lock: serialise migrating processes by hand. */
static const char sql_pg_lock[] = "SELECT pg_advisory_xact_lock(7262353)";
static const char sql_record[] =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)";

err_t migrate_version(db *d, int *version, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    err_t rc = db_exec(d, sql_create, ei);
    if (rc)
        return rc;
    rc = db_prepare(d, sql_max, &st, ei);
    if (rc)
        return rc;
    rc = db_step(st, &row, ei);
    *version = (!rc && row) ? (int)db_col_int64(st, 0) : 0;
    db_finalize(st);
    return rc;
}

err_t migrate_apply(db *d, int *applied, errinfo *ei)
{
    int count = 0;
    err_t rc = db_exec(d, sql_create, ei);
    if (applied)
        *applied = 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < migrate_table_len; i++) {
        const struct migration *m = &migrate_table[i];
        /* Read the version inside the write transaction: another process may
         * have migrated while this one waited for the lock. */
        rc = db_begin(d, ei);
        if (rc)
            return rc;
        if (db_kind(d) == DB_POSTGRES) {
            rc = db_exec(d, sql_pg_lock, ei);
            if (rc)
                goto fail;
        }
        /* Each migration is applied once, by its number: one that landed
         * after a higher-numbered one is still applied. */
        bool done = false;
        db_stmt *st = NULL;
        rc = db_query(d, &st, ei, sql_has, "i", (int64_t)m->version);
        if (!rc)
            rc = db_step(st, &done, ei);
        db_finalize(st);
        if (rc)
            goto fail;
        if (done) {
            db_rollback(d);
            continue;
        }
        rc = db_exec(d, m->sql, ei);
        if (rc)
            goto fail;
        rc = db_run(d, ei, NULL, sql_record, "iti", (int64_t)m->version, m->name, time_now_us());
        if (rc)
            goto fail;
        rc = db_commit(d, ei);
        if (rc)
            return rc;
        count++;
    }
    if (applied)
        *applied = count;
    return ERR_OK;
fail:
    db_rollback(d);
    return rc;
}
