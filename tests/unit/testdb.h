/*
 * testdb.h - the database of a unit-test program that runs against a real
 * backend (test_store, test_auth, test_lab, test_catalog, test_results, test_pt).
 *
 * A suite runs against the URL in BENCHSIDE_TEST_DB (a PostgreSQL database the
 * test runner may share between suites and reuse between runs, or any sqlite:
 * URL) or, when it is unset, against a new temporary SQLite file
 * /tmp/benchside-test-<suite>-XXXXXX, which testdb_close() removes with its
 * -wal, -shm and -journal siblings. The suite owns the buffers it passes in;
 * nothing here keeps state between calls.
 */
#ifndef BENCHSIDE_TESTS_TESTDB_H
#define BENCHSIDE_TESTS_TESTDB_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/audit.h"
#include "base/evbus.h"
#include "store/db.h"

/*
 * Pick the suite's database: its URL into url (url_size bytes) and the path of
 * the temporary SQLite file made for it into tmp (tmp_size bytes), or "" into
 * tmp when BENCHSIDE_TEST_DB names the database. False (said on stderr) when
 * the URL does not fit or is not one db_open() knows, or the file cannot be
 * made.
 */
bool testdb_pick(const char *suite, char *url, size_t url_size, char *tmp, size_t tmp_size);

/*
 * Open url into *out and apply the migrations; with demo_ctx, also import the
 * demo catalog acting as demo_ctx (importing it again changes nothing). False
 * (said on stderr) on failure, with *out closed and NULL. The caller closes
 * *out with testdb_close().
 */
bool testdb_open(const char *url, const audit_ctx *demo_ctx, db **out);

/* Close d (NULL is fine) and remove the temporary file tmp and its siblings ("": none). */
void testdb_close(db *d, const char *tmp);

/*
 * n random characters of a new id and a NUL into out (n + 1 bytes): Crockford
 * base32, upper case and digits, or lower-cased when lower. At most 16 (the
 * random part of an id); a larger n is taken as 16. Made once per run, it keeps
 * the names a run writes apart from those of earlier runs on the same database.
 */
void testdb_suffix(char *out, size_t n, bool lower);

/* True when BENCHSIDE_TEST_DB names a PostgreSQL database. */
bool testdb_is_pg(void);

/* "<suite>/postgresql" or "<suite>/sqlite", the cmocka group name, in a static buffer. */
const char *testdb_group(const char *suite);

/*
 * The first column of the first row of sql (with one text parameter unless
 * arg is NULL) as an integer into *out. Returns ERR_NOT_FOUND when there is
 * no row, or the database's error with ei filled.
 */
err_t testdb_scalar(db *d, const char *sql, const char *arg, int64_t *out, errinfo *ei);

/* The live events waiting for sub, one line each ("kind data\n"), into out
 * (cut at n bytes); "" when none waits. */
void testdb_events(evbus_sub *sub, char *out, size_t n);

#endif
