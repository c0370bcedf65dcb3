/*
 * migrate.h - numbered schema migrations, embedded in the binary.
 *
 * The files src/store/migrations/NNNN_name.sql are compiled in (numbered from 1
 * without gaps, checked at build time). db_migrate applies, in order and each in
 * its own transaction, those not yet recorded in the table schema_migrations.
 * Two processes migrating at once are serialised by the database's write lock.
 */
#ifndef BENCHSIDE_STORE_MIGRATE_H
#define BENCHSIDE_STORE_MIGRATE_H

#include <stddef.h>

#include "base/err.h"
#include "store/db.h"

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration migrate_table[];
extern const size_t migrate_table_len;

/* Apply pending migrations; *applied (may be NULL) receives how many ran. */
err_t migrate_apply(db *d, int *applied, errinfo *ei);
/* The highest applied version (0 for an empty database). */
err_t migrate_version(db *d, int *version, errinfo *ei);

#endif
