/*
 * test_store.c - the storage suite: db.h and migrate.h against a real backend.
 *
 * Runs against the URL in BENCHSIDE_TEST_DB (a fresh PostgreSQL database from
 * the test runner, or any sqlite: URL), or, when it is unset, a temporary
 * SQLite file removed at the end. Every test drops and creates the tables it
 * uses, so the suite can run twice against the same database. Tests that only
 * make sense for one backend are listed for that backend only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/db.h"
#include "store/migrate.h"
#include "testdb.h"

static char store_url[1024];
static char store_tmp_path[256]; /* the temporary SQLite file, "" when none */
static bool store_is_pg;

static void store_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static db *store_open(void)
{
    errinfo ei = {0};
    db *d = NULL;
    err_t rc = db_open(store_url, &d, &ei);
    if (rc)
        fail_msg("db_open(%s): %s: %s", store_url, err_name(rc), ei.message);
    assert_non_null(d);
    return d;
}

static void store_exec(db *d, const char *sql)
{
    errinfo ei = {0};
    err_t rc = db_exec(d, sql, &ei);
    if (rc)
        fail_msg("db_exec(%s): %s: %s", sql, err_name(rc), ei.message);
}

/* The first column of the only row of sql, which takes no parameters. */
static int64_t store_scalar(db *d, const char *sql)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t v;
    assert_int_equal(db_prepare(d, sql, &st, &ei), ERR_OK);
    if (db_step(st, &row, &ei))
        fail_msg("db_step(%s): %s", sql, ei.message);
    assert_true(row);
    v = db_col_int64(st, 0);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_false(row);
    db_finalize(st);
    return v;
}

static int store_setup(void **state)
{
    (void)state;
    if (!testdb_pick("store", store_url, sizeof(store_url), store_tmp_path, sizeof(store_tmp_path)))
        return -1;
    return 0;
}

static int store_teardown(void **state)
{
    (void)state;
    testdb_close(NULL, store_tmp_path);
    return 0;
}

static void test_open_close(void **state)
{
    db *d = store_open();
    (void)state;
    assert_int_equal(db_kind(d), store_is_pg ? DB_POSTGRES : DB_SQLITE);
    assert_string_equal(db_backend_name(d), store_is_pg ? "postgresql" : "sqlite");
    assert_false(db_in_transaction(d));
    assert_int_equal(store_scalar(d, "SELECT 1 + 41"), 42);
    db_close(d);
    db_close(NULL);
}

static void test_url(void **state)
{
    static char not_a_db;
    errinfo ei = {0};
    db *d = (db *)&not_a_db; /* db_open must set it to NULL on failure */
    (void)state;
    assert_true(db_url_valid("sqlite:x.db"));
    assert_true(db_url_valid("sqlite://x.db"));
    assert_true(db_url_valid("postgresql://u@127.0.0.1:5432/db"));
    assert_true(db_url_valid("postgres://u@localhost/db"));
    assert_false(db_url_valid(NULL));
    assert_false(db_url_valid(""));
    assert_false(db_url_valid("sqlite:"));
    assert_false(db_url_valid("mysql://u@h/db"));
    assert_false(db_url_valid("x.db"));
    assert_true(db_url_valid(store_url));

    assert_int_equal(db_open("mysql://u@h/db", &d, &ei), ERR_USAGE);
    assert_null(d);
    assert_int_equal(ei.code, ERR_USAGE);
    assert_non_null(strstr(ei.message, "mysql://u@h/db"));
    assert_int_equal(db_open("sqlite:", &d, &ei), ERR_USAGE);
    assert_null(d);
    assert_int_equal(db_open(NULL, &d, &ei), ERR_USAGE);
    assert_int_equal(db_open("sqlite:x.db?journal=off", &d, &ei), ERR_USAGE);
    assert_null(d);
    /* Nothing listens on port 1: the database is unavailable, quickly. */
    err_clear(&ei);
    assert_int_equal(db_open("postgresql://u@127.0.0.1:1/db?connect_timeout=2", &d, &ei),
                     ERR_DB_UNAVAILABLE);
    assert_null(d);
    assert_non_null(strstr(ei.message, "postgresql: "));
    assert_null(strchr(ei.message, '\n'));
    /* A URL libpq cannot parse is a usage error. */
    assert_int_equal(db_open("postgresql://u@127.0.0.1/db?no_such_option=1", &d, &ei), ERR_USAGE);
    assert_null(d);
}

static void test_exec_script(void **state)
{
    errinfo ei = {0};
    db *d = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_script");
    store_exec(d, "CREATE TABLE st_script (id BIGINT PRIMARY KEY, name TEXT NOT NULL);\n"
                  "-- a comment; with a semicolon\n"
                  "INSERT INTO st_script (id, name) VALUES (1, 'one; two');\n"
                  "INSERT INTO st_script (id, name) VALUES (2, 'it''s');\n"
                  "UPDATE st_script SET name = name || '!' WHERE id = 2;");
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_script"), 2);
    assert_int_equal(store_scalar(d, "SELECT LENGTH(name) FROM st_script WHERE id = 1"), 8);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_script WHERE name = 'it''s!'"), 1);
    /* An empty script does nothing and succeeds. */
    assert_int_equal(db_exec(d, "", &ei), ERR_OK);
    store_exec(d, "DROP TABLE st_script");
    db_close(d);
}

static void test_text_values(void **state)
{
    static const char quoted[] = "O'Brien said \"hi\"; -- not a comment /* nor this */";
    static const char utf8[] = "Gr\xc3\xb6\xc3\x9f"
                               "e \xc2\xb5g/L \xe6\xa4\x9c\xe4\xbd\x93";
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    db *d = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_text");
    store_exec(d, "CREATE TABLE st_text (id BIGINT PRIMARY KEY, a TEXT, b TEXT)");
    /* The `?` inside the literal is text, not a parameter: two parameters. */
    assert_int_equal(
        db_prepare(d, "INSERT INTO st_text (id, a, b) VALUES (?, ?, 'what?')", &st, &ei), ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, 1), ERR_OK);
    assert_int_equal(db_bind_str(st, 2, quoted), ERR_OK);
    assert_int_equal(db_bind_int64(st, 3, 7), ERR_INTERNAL);
    assert_int_equal(db_bind_int64(st, 0, 7), ERR_INTERNAL);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_false(row);
    assert_int_equal(db_changes(st), 1);
    /* Reset keeps the bindings until they are replaced. */
    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 2), ERR_OK);
    assert_int_equal(db_bind_text(st, 2, utf8, strlen(utf8)), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 3), ERR_OK);
    /* Only the first n bytes are bound. */
    assert_int_equal(db_bind_text(st, 2, "abcdef", 3), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 4), ERR_OK);
    assert_int_equal(db_bind_text(st, 2, "", 0), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    db_finalize(st);

    assert_int_equal(db_prepare(d, "SELECT a, b, id FROM st_text WHERE id = ?", &st, &ei), ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, 1), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_int_equal(db_col_count(st), 3);
    assert_false(db_col_null(st, 0));
    assert_string_equal(db_col_text(st, 0), quoted);
    assert_int_equal(db_col_len(st, 0), strlen(quoted));
    assert_string_equal(db_col_text(st, 1), "what?");
    assert_string_equal(db_col_text(st, 2), "1");
    assert_int_equal(db_col_int64(st, 2), 1);
    assert_int_equal(db_col_int64(st, 0), 0); /* text that is no integer */
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_false(row);

    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 2), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), utf8);
    assert_int_equal(db_col_len(st, 0), 20);
    assert_int_equal(db_col_len(st, 0), strlen(utf8));

    /* The same binding again after a reset. */
    db_reset(st);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), utf8);

    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 3), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), "abc");
    assert_int_equal(db_col_len(st, 0), 3);

    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 4), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_false(db_col_null(st, 0)); /* empty text is not NULL */
    assert_string_equal(db_col_text(st, 0), "");
    assert_int_equal(db_col_len(st, 0), 0);

    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 99), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_false(row);
    db_finalize(st);

    /* Text compared in SQL, as a parameter. */
    assert_int_equal(db_prepare(d, "SELECT id FROM st_text WHERE a = ?", &st, &ei), ERR_OK);
    assert_int_equal(db_bind_str(st, 1, utf8), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(st, 0), 2);
    db_finalize(st);

    store_exec(d, "DROP TABLE st_text");
    db_close(d);
}

static void test_int64_and_null(void **state)
{
    static const int64_t values[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    static const char *const texts[] = {
        "-9223372036854775808", "-9223372036854775807", "-1", "0", "1",
        "9223372036854775806",  "9223372036854775807"};
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t changes = -1;
    db *d = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_num");
    store_exec(d, "CREATE TABLE st_num (id BIGINT PRIMARY KEY, v BIGINT, t TEXT)");
    assert_int_equal(db_prepare(d, "INSERT INTO st_num (id, v, t) VALUES (?, ?, ?)", &st, &ei),
                     ERR_OK);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        db_reset(st);
        assert_int_equal(db_bind_int64(st, 1, (int64_t)i), ERR_OK);
        assert_int_equal(db_bind_int64(st, 2, values[i]), ERR_OK);
        assert_int_equal(db_bind_str(st, 3, texts[i]), ERR_OK);
        assert_int_equal(db_step(st, &row, &ei), ERR_OK);
        assert_int_equal(db_changes(st), 1);
    }
    db_finalize(st);
    /* NULL both ways: db_bind_null and db_bind_str(NULL); 'n' in db_run. */
    assert_int_equal(db_prepare(d, "INSERT INTO st_num (id, v, t) VALUES (?, ?, ?)", &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, 100), ERR_OK);
    assert_int_equal(db_bind_null(st, 2), ERR_OK);
    assert_int_equal(db_bind_str(st, 3, NULL), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    db_finalize(st);
    assert_int_equal(db_run(d, &ei, &changes, "INSERT INTO st_num (id, v, t) VALUES (?, ?, ?)",
                            "iin", (int64_t)101, (int64_t)-5),
                     ERR_OK);
    assert_int_equal(changes, 1);

    assert_int_equal(db_prepare(d, "SELECT v, t FROM st_num WHERE id = ?", &st, &ei), ERR_OK);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        db_reset(st);
        assert_int_equal(db_bind_int64(st, 1, (int64_t)i), ERR_OK);
        assert_int_equal(db_step(st, &row, &ei), ERR_OK);
        assert_true(row);
        assert_true(db_col_int64(st, 0) == values[i]);
        assert_string_equal(db_col_text(st, 0), texts[i]);
        assert_true(db_col_int64(st, 1) == values[i]); /* integer text parses */
    }
    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 100), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_true(db_col_null(st, 0));
    assert_true(db_col_null(st, 1));
    assert_null(db_col_text(st, 0));
    assert_null(db_col_text(st, 1));
    assert_int_equal(db_col_len(st, 0), 0);
    assert_int_equal(db_col_int64(st, 0), 0);
    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 101), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_true(db_col_int64(st, 0) == -5);
    assert_true(db_col_null(st, 1));
    db_finalize(st);

    /* Order and extremes compare as numbers, not as text. */
    assert_true(store_scalar(d, "SELECT MIN(v) FROM st_num") == INT64_MIN);
    assert_true(store_scalar(d, "SELECT MAX(v) FROM st_num") == INT64_MAX);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_num WHERE v IS NULL"), 1);
    store_exec(d, "DROP TABLE st_num");
    db_close(d);
}

static void test_doubles(void **state)
{
    static const double values[] = {0.0, -0.0, 1.5, -273.15, 0.1, 1e-9, 6.02214076e23, 97.25};
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    db *d = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_dbl");
    store_exec(d, "CREATE TABLE st_dbl (id BIGINT PRIMARY KEY, v DOUBLE PRECISION)");
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_dbl (id, v) VALUES (?, ?)", "id",
                                (int64_t)i, values[i]),
                         ERR_OK);
    assert_int_equal(db_prepare(d, "SELECT v FROM st_dbl ORDER BY id", &st, &ei), ERR_OK);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_int_equal(db_step(st, &row, &ei), ERR_OK);
        assert_true(row);
        /* exactly the same double back, on both backends */
        assert_true(db_col_double(st, 0) == values[i]);
    }
    db_finalize(st);
    /* comparisons happen in SQL as numbers */
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_dbl WHERE v > 1.0"), 3);
    assert_int_equal(db_prepare(d, "INSERT INTO st_dbl (id, v) VALUES (99, ?)", &st, &ei), ERR_OK);
    assert_int_equal(db_bind_double(st, 1, 1.0 / 0.0), ERR_INVALID);
    db_finalize(st);
    /* db_run refuses a type string that does not match the placeholders */
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_dbl (id, v) VALUES (?, ?)", "idd",
                            (int64_t)77, 1.0, 2.0),
                     ERR_INTERNAL);
    assert_non_null(strstr(ei.message, "2 placeholder(s)"));
    assert_int_equal(
        db_run(d, &ei, NULL, "INSERT INTO st_dbl (id, v) VALUES (?, ?)", "i", (int64_t)77),
        ERR_INTERNAL);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_dbl WHERE id = 77"), 0);
    store_exec(d, "DROP TABLE st_dbl");
    db_close(d);
}

static void test_changes(void **state)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t changes = -1;
    db *d = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_chg");
    store_exec(d, "CREATE TABLE st_chg (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)");
    for (int64_t i = 0; i < 10; i++)
        assert_int_equal(
            db_run(d, &ei, NULL, "INSERT INTO st_chg (id, n) VALUES (?, ?)", "ii", i, i % 3),
            ERR_OK);
    assert_int_equal(db_prepare(d, "UPDATE st_chg SET n = n + 10 WHERE n = ?", &st, &ei), ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, 0), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_false(row);
    assert_int_equal(db_changes(st), 4); /* 0, 3, 6, 9 */
    db_reset(st);
    assert_int_equal(db_bind_int64(st, 1, 42), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_int_equal(db_changes(st), 0);
    db_finalize(st);

    assert_int_equal(db_run(d, &ei, &changes, "DELETE FROM st_chg WHERE n >= ?", "i", (int64_t)1),
                     ERR_OK);
    assert_int_equal(changes, 10);
    assert_int_equal(db_run(d, &ei, &changes, "DELETE FROM st_chg", NULL), ERR_OK);
    assert_int_equal(changes, 0);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_chg"), 0);
    store_exec(d, "DROP TABLE st_chg");
    db_close(d);
}

/* The SQLite backend keeps statements to prepare them once; a kept statement
 * must behave exactly as a new one: no bindings, no changes, its own rows. */
static void test_statement_reuse(void **state)
{
    errinfo ei = {0};
    db_stmt *a = NULL, *b = NULL;
    bool row = false;
    db *d = store_open();
    (void)state;
    static const char ins[] = "INSERT INTO st_reuse (id, v) VALUES (?, ?)";
    static const char sel[] = "SELECT id, v FROM st_reuse ORDER BY id";
    store_exec(d, "DROP TABLE IF EXISTS st_reuse");
    store_exec(d, "CREATE TABLE st_reuse (id BIGINT PRIMARY KEY, v TEXT)");

    assert_int_equal(db_prepare(d, ins, &a, &ei), ERR_OK);
    assert_int_equal(db_bind_int64(a, 1, 1), ERR_OK);
    assert_int_equal(db_bind_str(a, 2, "one"), ERR_OK);
    assert_int_equal(db_step(a, &row, &ei), ERR_OK);
    assert_int_equal(db_changes(a), 1);
    db_finalize(a);
    /* Prepared again: nothing of the last run is left, bindings included. */
    assert_int_equal(db_prepare(d, ins, &a, &ei), ERR_OK);
    assert_int_equal(db_changes(a), 0);
    assert_int_equal(db_bind_int64(a, 1, 2), ERR_OK);
    assert_int_equal(db_step(a, &row, &ei), ERR_OK);
    db_finalize(a);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_reuse WHERE v IS NULL"), 1);
    assert_int_equal(db_run(d, &ei, NULL, ins, "it", (int64_t)3, "three"), ERR_OK);

    /* The same text twice at once: two statements, each with its own rows. */
    assert_int_equal(db_prepare(d, sel, &a, &ei), ERR_OK);
    assert_int_equal(db_step(a, &row, &ei), ERR_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(a, 0), 1);
    assert_int_equal(db_prepare(d, sel, &b, &ei), ERR_OK);
    assert_ptr_not_equal(a, b);
    for (int64_t want = 1; want <= 3; want++) {
        assert_int_equal(db_step(b, &row, &ei), ERR_OK);
        assert_true(row);
        assert_int_equal(db_col_int64(b, 0), want);
    }
    assert_int_equal(db_step(b, &row, &ei), ERR_OK);
    assert_false(row);
    db_finalize(b);
    assert_int_equal(db_step(a, &row, &ei), ERR_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(a, 0), 2);
    assert_true(db_col_null(a, 1));
    db_finalize(a);

    /* More texts than are kept: each still runs, and the hot one again after. */
    for (int i = 0; i < 600; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT %d + id FROM st_reuse WHERE id = 1", i);
        assert_int_equal(store_scalar(d, sql), i + 1);
        assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_reuse"), 3);
    }

    /* A kept statement follows a change of the schema. */
    store_exec(d, "DROP TABLE st_reuse");
    store_exec(d, "CREATE TABLE st_reuse (id BIGINT PRIMARY KEY, w BIGINT, v TEXT)");
    assert_int_equal(db_run(d, &ei, NULL, ins, "it", (int64_t)7, "seven"), ERR_OK);
    assert_int_equal(db_prepare(d, sel, &a, &ei), ERR_OK);
    assert_int_equal(db_step(a, &row, &ei), ERR_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(a, 0), 7);
    assert_string_equal(db_col_text(a, 1), "seven");
    db_finalize(a);
    store_exec(d, "DROP TABLE st_reuse");
    db_close(d);
}

/* Log upkeep: runs on either backend, and a checkpoint waits for no writer. */
static void test_checkpoint(void **state)
{
    errinfo ei = {0};
    db *d = store_open(), *other = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_ckpt");
    store_exec(d, "CREATE TABLE st_ckpt (id BIGINT PRIMARY KEY)");
    assert_int_equal(db_autocheckpoint(d, 0, &ei), ERR_OK);
    for (int64_t i = 0; i < 50; i++)
        assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_ckpt (id) VALUES (?)", "i", i),
                         ERR_OK);
    assert_int_equal(db_checkpoint(other, &ei), ERR_OK);
    /* A writer in the middle of a transaction holds nobody up. */
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_ckpt (id) VALUES (?)", "i", (int64_t)50),
                     ERR_OK);
    assert_int_equal(db_checkpoint(other, &ei), ERR_OK);
    assert_int_equal(db_commit(d, &ei), ERR_OK);
    assert_int_equal(db_checkpoint(other, &ei), ERR_OK);
    assert_int_equal(store_scalar(other, "SELECT COUNT(*) FROM st_ckpt"), 51);
    assert_int_equal(db_autocheckpoint(d, 1000, &ei), ERR_OK);
    store_exec(d, "DROP TABLE st_ckpt");
    db_close(other);
    db_close(d);
}

static void test_db_run(void **state)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t changes = -1;
    db *d = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_run");
    store_exec(d, "CREATE TABLE st_run (id TEXT PRIMARY KEY, n BIGINT, note TEXT)");
    assert_int_equal(db_run(d, &ei, &changes, "INSERT INTO st_run (id, n, note) VALUES (?, ?, ?)",
                            "tin", "a", (int64_t)7),
                     ERR_OK);
    assert_int_equal(changes, 1);
    assert_int_equal(db_run(d, &ei, &changes, "INSERT INTO st_run (id, n, note) VALUES (?, ?, ?)",
                            "tit", "b", (int64_t)INT64_MIN, (const char *)NULL),
                     ERR_OK);
    assert_int_equal(db_run(d, &ei, &changes, "INSERT INTO st_run (id, n, note) VALUES (?, ?, ?)",
                            "tnt", "c", "note ?"),
                     ERR_OK);
    assert_int_equal(
        db_run(d, &ei, &changes, "UPDATE st_run SET note = ? WHERE n IS NOT NULL", "t", "set"),
        ERR_OK);
    assert_int_equal(changes, 2);
    /* A query run to its end through db_run. */
    assert_int_equal(db_run(d, &ei, NULL, "SELECT id FROM st_run", NULL), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "SELECT 1", "x"), ERR_INTERNAL);

    assert_int_equal(db_prepare(d, "SELECT id, n, note FROM st_run ORDER BY id", &st, &ei), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), "a");
    assert_int_equal(db_col_int64(st, 1), 7);
    assert_string_equal(db_col_text(st, 2), "set");
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), "b");
    assert_true(db_col_int64(st, 1) == INT64_MIN);
    assert_string_equal(db_col_text(st, 2), "set");
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), "c");
    assert_true(db_col_null(st, 1));
    assert_string_equal(db_col_text(st, 2), "note ?");
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_false(row);
    db_finalize(st);
    store_exec(d, "DROP TABLE st_run");
    db_close(d);
}

static void test_transactions(void **state)
{
    errinfo ei = {0};
    db *d = store_open();
    db *other = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_tx");
    store_exec(d, "CREATE TABLE st_tx (id BIGINT PRIMARY KEY)");

    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_true(db_in_transaction(d));
    assert_int_equal(db_transaction_depth(d), 1);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_tx (id) VALUES (?)", "i", (int64_t)1),
                     ERR_OK);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_tx"), 1);
    /* Not visible to another connection before the commit. */
    assert_int_equal(store_scalar(other, "SELECT COUNT(*) FROM st_tx"), 0);
    assert_int_equal(db_commit(d, &ei), ERR_OK);
    assert_false(db_in_transaction(d));
    assert_int_equal(store_scalar(other, "SELECT COUNT(*) FROM st_tx"), 1);

    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_tx (id) VALUES (?)", "i", (int64_t)2),
                     ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "DELETE FROM st_tx WHERE id = 1", NULL), ERR_OK);
    assert_int_equal(store_scalar(d, "SELECT SUM(id) FROM st_tx"), 2);
    db_rollback(d);
    assert_false(db_in_transaction(d));
    assert_int_equal(store_scalar(d, "SELECT SUM(id) FROM st_tx"), 1);
    assert_int_equal(store_scalar(other, "SELECT SUM(id) FROM st_tx"), 1);

    /* Commit or roll back with none open. */
    assert_int_equal(db_commit(d, &ei), ERR_INTERNAL);
    db_rollback(d);
    /* Closing rolls back an open transaction. */
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_tx (id) VALUES (?)", "i", (int64_t)3),
                     ERR_OK);
    db_close(d);
    assert_int_equal(store_scalar(other, "SELECT COUNT(*) FROM st_tx"), 1);
    store_exec(other, "DROP TABLE st_tx");
    db_close(other);
}

/* A transaction begun inside another is a savepoint: its rollback undoes
 * only its own work, and nothing is visible before the outer commit. */
static void test_nested_transactions(void **state)
{
    errinfo ei = {0};
    db *d = store_open();
    db *other = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_nest");
    store_exec(d, "CREATE TABLE st_nest (id BIGINT PRIMARY KEY)");

    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_nest (id) VALUES (1)", NULL), ERR_OK);
    /* A part that fails is undone alone, even after an SQL error inside it. */
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_transaction_depth(d), 2);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_nest (id) VALUES (2)", NULL), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_nest (id) VALUES (1)", NULL),
                     ERR_CONFLICT);
    db_rollback(d);
    assert_int_equal(db_transaction_depth(d), 1);
    assert_int_equal(store_scalar(d, "SELECT SUM(id) FROM st_nest"), 1);
    /* A part that succeeds joins the outer transaction. */
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_transaction_depth(d), 3);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_nest (id) VALUES (4)", NULL), ERR_OK);
    assert_int_equal(db_commit(d, &ei), ERR_OK);
    assert_int_equal(db_commit(d, &ei), ERR_OK);
    assert_int_equal(db_transaction_depth(d), 1);
    assert_int_equal(store_scalar(other, "SELECT COUNT(*) FROM st_nest"), 0);
    assert_int_equal(db_commit(d, &ei), ERR_OK);
    assert_false(db_in_transaction(d));
    assert_int_equal(store_scalar(other, "SELECT SUM(id) FROM st_nest"), 5);

    /* Rolling back the outer transaction undoes its committed parts too. */
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_nest (id) VALUES (8)", NULL), ERR_OK);
    assert_int_equal(db_commit(d, &ei), ERR_OK);
    db_rollback(d);
    assert_int_equal(store_scalar(d, "SELECT SUM(id) FROM st_nest"), 5);
    /* Closing with savepoints open rolls everything back. */
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_nest (id) VALUES (16)", NULL), ERR_OK);
    db_close(d);
    assert_int_equal(store_scalar(other, "SELECT SUM(id) FROM st_nest"), 5);
    store_exec(other, "DROP TABLE st_nest");
    db_close(other);
}

static void test_conflict_and_errors(void **state)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    err_t rc;
    const char *prefix;
    db *d = store_open();
    (void)state;
    prefix = store_is_pg ? "postgresql: " : "sqlite: ";
    store_exec(d, "DROP TABLE IF EXISTS st_err");
    store_exec(d, "CREATE TABLE st_err (id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, "
                  "n BIGINT NOT NULL CHECK (n >= 0))");
    assert_int_equal(
        db_run(d, &ei, NULL, "INSERT INTO st_err (id, code, n) VALUES (?, ?, 1)", "tt", "a", "A"),
        ERR_OK);
    err_clear(&ei);
    assert_int_equal(
        db_run(d, &ei, NULL, "INSERT INTO st_err (id, code, n) VALUES (?, ?, 1)", "tt", "a", "B"),
        ERR_CONFLICT);
    assert_int_equal(ei.code, ERR_CONFLICT);
    assert_true(strncmp(ei.message, prefix, strlen(prefix)) == 0);
    /* A unique column other than the key conflicts too. */
    assert_int_equal(
        db_run(d, &ei, NULL, "INSERT INTO st_err (id, code, n) VALUES (?, ?, 1)", "tt", "b", "A"),
        ERR_CONFLICT);
    /* Other constraints are plain database errors. */
    assert_int_equal(
        db_run(d, &ei, NULL, "INSERT INTO st_err (id, code, n) VALUES (?, ?, -1)", "tt", "c", "C"),
        ERR_DB);
    assert_int_equal(
        db_run(d, &ei, NULL, "INSERT INTO st_err (id, code, n) VALUES (?, ?, 1)", "tn", "d"),
        ERR_DB);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_err"), 1);

    /* Syntax errors, through db_exec and through a statement. */
    err_clear(&ei);
    assert_int_equal(db_exec(d, "SELEKT 1", &ei), ERR_DB);
    assert_int_equal(ei.code, ERR_DB);
    assert_true(strncmp(ei.message, prefix, strlen(prefix)) == 0);
    assert_true(strlen(ei.message) > strlen(prefix));
    assert_null(strchr(ei.message, '\n'));
    err_clear(&ei);
    rc = db_prepare(d, "SELECT FROM WHERE ?", &st, &ei);
    if (!rc) {
        /* PostgreSQL parses at the first step. */
        assert_int_equal(db_bind_int64(st, 1, 1), ERR_OK);
        rc = db_step(st, &row, &ei);
        assert_false(row);
        db_finalize(st);
    }
    assert_int_equal(rc, ERR_DB);
    assert_true(strncmp(ei.message, prefix, strlen(prefix)) == 0);
    err_clear(&ei);
    assert_int_equal(db_run(d, &ei, NULL, "SELECT * FROM st_no_such_table", NULL), ERR_DB);
    assert_non_null(strstr(ei.message, "st_no_such_table"));

    /* The connection is still usable after errors. */
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_err"), 1);
    store_exec(d, "DROP TABLE st_err");
    db_close(d);
}

static void store_check_rewrite(const char *in, const char *want, int want_count)
{
    int count = -1;
    char *out = db_rewrite_placeholders(in, &count);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(count, want_count);
    free(out);
}

static void test_rewrite_placeholders(void **state)
{
    char *out;
    (void)state;
    store_check_rewrite("", "", 0);
    store_check_rewrite("SELECT 1", "SELECT 1", 0);
    store_check_rewrite("SELECT ?", "SELECT $1", 1);
    store_check_rewrite("INSERT INTO t VALUES (?,?, ?)", "INSERT INTO t VALUES ($1,$2, $3)", 3);
    store_check_rewrite("SELECT '?', ? FROM t", "SELECT '?', $1 FROM t", 1);
    store_check_rewrite("SELECT \"a?b\" FROM t WHERE x = ?", "SELECT \"a?b\" FROM t WHERE x = $1",
                        1);
    /* Doubled quotes stay inside the literal or identifier. */
    store_check_rewrite("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1", 1);
    store_check_rewrite("SELECT '''?''', ?", "SELECT '''?''', $1", 1);
    store_check_rewrite("SELECT \"a\"\"?\" , ?", "SELECT \"a\"\"?\" , $1", 1);
    store_check_rewrite("SELECT '', ?", "SELECT '', $1", 1);
    /* Quotes of the other kind inside a literal do not end it. */
    store_check_rewrite("SELECT '\"?', ?, \"'?\"", "SELECT '\"?', $1, \"'?\"", 1);
    /* Comments. */
    store_check_rewrite("SELECT ? -- is it ?\n, ?", "SELECT $1 -- is it ?\n, $2", 2);
    store_check_rewrite("SELECT ? -- ? to the end", "SELECT $1 -- ? to the end", 1);
    store_check_rewrite("SELECT /* ? 'x */ ?, ?", "SELECT /* ? 'x */ $1, $2", 2);
    store_check_rewrite("SELECT ?/**/?", "SELECT $1/**/$2", 2);
    store_check_rewrite("SELECT 1 - ?, 2 / ?", "SELECT 1 - $1, 2 / $2", 2);
    /* Unterminated literal or comment: the rest is left alone. */
    store_check_rewrite("SELECT ?, 'abc ?", "SELECT $1, 'abc ?", 1);
    store_check_rewrite("SELECT ? /* ?", "SELECT $1 /* ?", 1);
    store_check_rewrite("SELECT ? /* ? *", "SELECT $1 /* ? *", 1);
    store_check_rewrite("SELECT '", "SELECT '", 0);
    /* Two-digit numbers. */
    store_check_rewrite("?,?,?,?,?,?,?,?,?,?,?,?", "$1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12", 12);
    /* UTF-8 passes through. */
    store_check_rewrite("SELECT '\xc2\xb5?' || ?", "SELECT '\xc2\xb5?' || $1", 1);
    /* The count is optional. */
    out = db_rewrite_placeholders("? ?", NULL);
    assert_non_null(out);
    assert_string_equal(out, "$1 $2");
    free(out);
}

static void test_migrate(void **state)
{
    errinfo ei = {0};
    int before = -1, applied = -1, version = -1;
    db *d = store_open();
    (void)state;
    assert_true(migrate_table_len >= 1);
    /* Numbered from 1 in increasing order; a number may be missing while a
     * branch not merged yet holds it (scripts/embed.py --reserved). */
    assert_int_equal(migrate_table[0].version, 1);
    for (size_t i = 0; i < migrate_table_len; i++) {
        /* numbered in order, each once */
        assert_true(migrate_table[i].version > (i ? migrate_table[i - 1].version : 0));
        assert_non_null(migrate_table[i].name);
        assert_non_null(migrate_table[i].sql);
    }
    assert_int_equal(migrate_version(d, &before, &ei), ERR_OK);
    assert_true(before >= 0 && before <= migrate_table[migrate_table_len - 1].version);
    if (migrate_apply(d, &applied, &ei))
        fail_msg("migrate_apply: %s", ei.message);
    assert_true(applied >= 0 && applied <= (int)migrate_table_len);
    if (before == 0)
        assert_int_equal(applied, (int)migrate_table_len);
    assert_false(db_in_transaction(d));
    assert_int_equal(migrate_apply(d, &applied, &ei), ERR_OK);
    assert_int_equal(applied, 0);
    assert_int_equal(migrate_apply(d, NULL, &ei), ERR_OK);
    assert_int_equal(migrate_version(d, &version, &ei), ERR_OK);
    assert_int_equal(version, migrate_table[migrate_table_len - 1].version);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM schema_migrations"),
                     (int64_t)migrate_table_len);
    /* The first migration made its tables and row. */
    assert_int_equal(store_scalar(d, "SELECT seq FROM audit_head WHERE id = 1"), 0);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM users WHERE 1 = 0"), 0);
    db_close(d);
}

struct store_release_arg {
    db_pool *pool;
    db *conn;
};

static void *store_release_later(void *p)
{
    struct store_release_arg *a = p;
    store_sleep_ms(100);
    db_pool_release(a->pool, a->conn);
    return NULL;
}

static void test_pool(void **state)
{
    errinfo ei = {0};
    db_pool *p = NULL;
    db *conns[3] = {NULL, NULL, NULL};
    db *d;
    pthread_t th;
    struct store_release_arg arg;
    (void)state;
    d = store_open();
    store_exec(d, "DROP TABLE IF EXISTS st_pool");
    store_exec(d, "CREATE TABLE st_pool (id BIGINT PRIMARY KEY)");
    db_close(d);

    if (db_pool_open(store_url, 3, &p, &ei))
        fail_msg("db_pool_open: %s", ei.message);
    assert_string_equal(db_pool_url(p), store_url);
    for (int i = 0; i < 3; i++) {
        conns[i] = db_pool_acquire(p, 1000, &ei);
        assert_non_null(conns[i]);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(conns[i], conns[j]);
        assert_int_equal(store_scalar(conns[i], "SELECT 7"), 7);
    }
    err_clear(&ei);
    assert_null(db_pool_acquire(p, 100, &ei));
    assert_int_equal(ei.code, ERR_DB_BUSY);

    /* Released: the next acquire gets it back. */
    db_pool_release(p, conns[1]);
    d = db_pool_acquire(p, 100, &ei);
    assert_ptr_equal(d, conns[1]);

    /* Released by another thread while this one waits. */
    arg.pool = p;
    arg.conn = conns[2];
    assert_int_equal(pthread_create(&th, NULL, store_release_later, &arg), 0);
    d = db_pool_acquire(p, 10000, &ei);
    assert_ptr_equal(d, conns[2]);
    assert_int_equal(pthread_join(th, NULL), 0);

    /* Release rolls back what the borrower left open. */
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_pool (id) VALUES (1)", NULL), ERR_OK);
    db_pool_release(p, d);
    d = db_pool_acquire(p, 100, &ei);
    assert_ptr_equal(d, conns[2]);
    assert_false(db_in_transaction(d));
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_pool"), 0);
    store_exec(d, "DROP TABLE st_pool");

    db_pool_release(p, d);
    db_pool_release(p, conns[0]);
    db_pool_release(p, conns[1]);
    db_pool_release(p, NULL);
    db_pool_close(p);
    db_pool_close(NULL);
}

/* SQLite: a writer waiting longer than busy_timeout is told the database is busy. */
static void test_sqlite_busy(void **state)
{
    char url[sizeof(store_url) + 32];
    const char *q = strchr(store_url, '?');
    int len = q ? (int)(q - store_url) : (int)strlen(store_url);
    errinfo ei = {0};
    db *a = store_open();
    db *b = NULL;
    struct timespec t0, t1;
    long ms;
    (void)state;
    snprintf(url, sizeof(url), "%.*s?busy_timeout=50", len, store_url);
    if (db_open(url, &b, &ei))
        fail_msg("db_open(%s): %s", url, ei.message);
    store_exec(a, "DROP TABLE IF EXISTS st_busy");
    store_exec(a, "CREATE TABLE st_busy (id BIGINT PRIMARY KEY)");

    assert_int_equal(db_begin(a, &ei), ERR_OK);
    assert_int_equal(db_run(a, &ei, NULL, "INSERT INTO st_busy (id) VALUES (1)", NULL), ERR_OK);
    err_clear(&ei);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(db_begin(b, &ei), ERR_DB_BUSY);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 40 && ms < 5000);
    assert_int_equal(ei.code, ERR_DB_BUSY);
    assert_false(db_in_transaction(b));
    /* Readers are not blocked by the writer (WAL) and see the last commit. */
    assert_int_equal(store_scalar(b, "SELECT COUNT(*) FROM st_busy"), 0);

    assert_int_equal(db_commit(a, &ei), ERR_OK);
    assert_int_equal(db_begin(b, &ei), ERR_OK);
    assert_int_equal(store_scalar(b, "SELECT COUNT(*) FROM st_busy"), 1);
    db_rollback(b);
    store_exec(a, "DROP TABLE st_busy");
    db_close(b);
    db_close(a);
}

/* PostgreSQL: session settings made at connection time. */
static void test_pg_session(void **state)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    db *d = store_open();
    (void)state;
    assert_int_equal(db_prepare(d,
                                "SELECT current_setting('TimeZone'), "
                                "current_setting('client_min_messages'), "
                                "current_setting('client_encoding')",
                                &st, &ei),
                     ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_string_equal(db_col_text(st, 0), "UTC");
    assert_string_equal(db_col_text(st, 1), "warning");
    assert_string_equal(db_col_text(st, 2), "UTF8");
    db_finalize(st);
    /* A WARNING goes to the notice processor, which drops it: nothing on stderr. */
    store_exec(d, "DO $$ BEGIN RAISE WARNING 'store test warning (expected)'; END $$");
    db_close(d);
}

/* PostgreSQL: COMMIT after a failed statement rolls back, and says so. */
static void test_pg_failed_commit(void **state)
{
    errinfo ei = {0};
    db *d = store_open();
    (void)state;
    store_exec(d, "DROP TABLE IF EXISTS st_fc");
    store_exec(d, "CREATE TABLE st_fc (id BIGINT PRIMARY KEY)");
    assert_int_equal(db_begin(d, &ei), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_fc (id) VALUES (1)", NULL), ERR_OK);
    assert_int_equal(db_run(d, &ei, NULL, "INSERT INTO st_fc (id) VALUES (1)", NULL), ERR_CONFLICT);
    err_clear(&ei);
    assert_int_equal(db_commit(d, &ei), ERR_DB);
    assert_non_null(strstr(ei.message, "rolled back"));
    assert_false(db_in_transaction(d));
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_fc"), 0);
    store_exec(d, "DROP TABLE st_fc");
    db_close(d);
}

/* PostgreSQL: a lock not granted within lock_timeout is ERR_DB_BUSY. */
static void test_pg_busy(void **state)
{
    errinfo ei = {0};
    db *a = store_open();
    db *b = store_open();
    (void)state;
    store_exec(a, "DROP TABLE IF EXISTS st_lock");
    store_exec(a, "CREATE TABLE st_lock (id BIGINT PRIMARY KEY)");
    store_exec(b, "SET lock_timeout = 50");
    assert_int_equal(db_begin(a, &ei), ERR_OK);
    store_exec(a, "LOCK TABLE st_lock IN ACCESS EXCLUSIVE MODE");
    err_clear(&ei);
    assert_int_equal(db_run(b, &ei, NULL, "SELECT COUNT(*) FROM st_lock", NULL), ERR_DB_BUSY);
    assert_true(strncmp(ei.message, "postgresql: ", 12) == 0);
    db_rollback(a);
    assert_int_equal(store_scalar(b, "SELECT COUNT(*) FROM st_lock"), 0);
    store_exec(a, "DROP TABLE st_lock");
    db_close(b);
    db_close(a);
}

static int64_t store_backend_pid(db *d)
{
    int64_t pid = store_scalar(d, "SELECT pg_backend_pid()");
    assert_true(pid > 0);
    return pid;
}

/* End the server process of pid from another connection and wait until it is gone. */
static void store_kill_backend(int64_t pid)
{
    errinfo ei = {0};
    db *k = store_open();
    db_stmt *st = NULL;
    bool row = false, gone = false;
    assert_int_equal(db_run(k, &ei, NULL, "SELECT pg_terminate_backend(?)", "i", pid), ERR_OK);
    assert_int_equal(db_prepare(k, "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, pid), ERR_OK);
    for (int i = 0; i < 500 && !gone; i++) {
        db_reset(st);
        assert_int_equal(db_step(st, &row, &ei), ERR_OK);
        assert_true(row);
        gone = db_col_int64(st, 0) == 0;
        if (!gone)
            store_sleep_ms(10);
    }
    assert_true(gone);
    db_finalize(st);
    db_close(k);
    store_sleep_ms(50); /* the process has left pg_stat_activity; let it close its socket */
}

/*
 * PostgreSQL: a connection whose server process was killed answers
 * ERR_DB_UNAVAILABLE, and the pool re-establishes it at the next acquire.
 */
static void test_pg_reconnect(void **state)
{
    errinfo ei = {0};
    db_pool *p = NULL;
    db *d, *again;
    db_stmt *st = NULL;
    bool row = false;
    int64_t pid, pid2;
    (void)state;
    if (db_pool_open(store_url, 1, &p, &ei))
        fail_msg("db_pool_open: %s", ei.message);
    d = db_pool_acquire(p, 1000, &ei);
    assert_non_null(d);
    pid = store_backend_pid(d);
    store_kill_backend(pid);

    err_clear(&ei);
    assert_int_equal(db_prepare(d, "SELECT ?", &st, &ei), ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, 1), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_DB_UNAVAILABLE);
    assert_false(row);
    assert_int_equal(ei.code, ERR_DB_UNAVAILABLE);
    assert_true(strncmp(ei.message, "postgresql: ", 12) == 0);
    db_finalize(st);
    assert_int_equal(db_exec(d, "SELECT 1", &ei), ERR_DB_UNAVAILABLE);
    db_pool_release(p, d);

    again = db_pool_acquire(p, 1000, &ei);
    if (!again)
        fail_msg("db_pool_acquire after the kill: %s", ei.message);
    assert_ptr_equal(again, d);
    pid2 = store_backend_pid(again);
    assert_true(pid2 != pid);
    assert_int_equal(store_scalar(again, "SELECT 40 + 2"), 42);
    /* The session settings came back with the connection. */
    assert_int_equal(store_scalar(again, "SELECT COUNT(*) WHERE current_setting('TimeZone') = "
                                         "'UTC' AND current_setting('client_encoding') = 'UTF8'"),
                     1);

    /* Killed while idle in the pool: acquire notices before any query fails. */
    db_pool_release(p, again);
    store_kill_backend(pid2);
    d = db_pool_acquire(p, 1000, &ei);
    if (!d)
        fail_msg("db_pool_acquire after an idle kill: %s", ei.message);
    assert_int_equal(store_scalar(d, "SELECT 1"), 1);
    assert_true(store_backend_pid(d) != pid2);

    /* A transaction opened outside db_begin (db.c does not know of it) is
     * rolled back at acquire. */
    store_exec(d, "DROP TABLE IF EXISTS st_reconnect");
    store_exec(d, "CREATE TABLE st_reconnect (id BIGINT PRIMARY KEY)");
    store_exec(d, "BEGIN; INSERT INTO st_reconnect (id) VALUES (1)");
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_reconnect"), 1);
    db_pool_release(p, d);
    d = db_pool_acquire(p, 1000, &ei);
    assert_non_null(d);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_reconnect"), 0);
    /* Also when a failed statement left it aborted. */
    store_exec(d, "BEGIN");
    assert_int_equal(db_exec(d, "SELEKT", &ei), ERR_DB);
    db_pool_release(p, d);
    d = db_pool_acquire(p, 1000, &ei);
    assert_non_null(d);
    assert_int_equal(store_scalar(d, "SELECT COUNT(*) FROM st_reconnect"), 0);
    store_exec(d, "DROP TABLE st_reconnect");
    db_pool_release(p, d);
    db_pool_close(p);
}

/* A filter whose value is given is written where an index serves, one left
 * NULL names no column; a literal holding the pattern and the placeholders'
 * numbers stay as they are; the rewritten text gives the same rows; a kept
 * text is the same text again. */
static void test_sql_given(void **state)
{
    (void)state;
    static const char sql[] = "SELECT '(CAST(? AS TEXT) IS NULL OR ', n FROM t"
                              " WHERE (CAST(? AS TEXT) IS NULL OR a = ?)"
                              " AND (CAST(? AS TEXT) IS NULL OR b = ?) AND c < ?";
    bool is_null[6] = {false, false, false, true, true, false};
    char *out = db_sql_given(sql, is_null, 5);
    assert_non_null(out);
    assert_string_equal(out, "SELECT '(CAST(? AS TEXT) IS NULL OR ', n FROM t"
                             " WHERE (CAST(? AS TEXT) IS NOT NULL AND a = ?)"
                             " AND (CAST(? AS TEXT) IS NULL AND CAST(? AS TEXT) IS NULL)"
                             " AND c < ?");
    free(out);
    /* beyond max: left as it is */
    out = db_sql_given(sql, is_null, 0);
    assert_non_null(out);
    assert_string_equal(out, sql);
    free(out);
    /* kept: one text for one statement and set of NULLs */
    char *owned = NULL;
    const char *kept = db_sql_given_kept(sql, is_null, 5, &owned);
    assert_non_null(kept);
    assert_null(owned);
    assert_ptr_equal(db_sql_given_kept(sql, is_null, 5, &owned), kept);
    is_null[1] = is_null[2] = true;
    assert_ptr_not_equal(db_sql_given_kept(sql, is_null, 5, &owned), kept);
    /* the same rows either way */
    db *d = store_open();
    errinfo ei = {0};
    store_exec(d, "DROP TABLE IF EXISTS st_given");
    store_exec(d, "CREATE TABLE st_given (a TEXT, b TEXT)");
    store_exec(d, "INSERT INTO st_given VALUES ('x', 'p'), ('x', 'q'), ('y', 'p')");
    static const char q[] = "SELECT COUNT(*) FROM st_given WHERE (CAST(? AS TEXT) IS NULL OR a = ?)"
                            " AND (CAST(? AS TEXT) IS NULL OR b = ?)";
    const char *cases[][2] = {{"x", NULL}, {NULL, "p"}, {"x", "p"}, {NULL, NULL}, {"z", NULL}};
    const int64_t want[] = {2, 2, 1, 3, 0};
    for (size_t i = 0; i < 5; i++) {
        bool nulls[5] = {false, !cases[i][0], !cases[i][0], !cases[i][1], !cases[i][1]};
        char *text = db_sql_given(q, nulls, 4);
        db_stmt *st = NULL;
        bool row = false;
        assert_non_null(text);
        assert_int_equal(
            db_query(d, &st, &ei, text, "tttt", cases[i][0], cases[i][0], cases[i][1], cases[i][1]),
            ERR_OK);
        assert_int_equal(db_step(st, &row, &ei), ERR_OK);
        assert_int_equal(db_col_int64(st, 0), want[i]);
        db_finalize(st);
        free(text);
    }
    store_exec(d, "DROP TABLE st_given");
    db_close(d);
}

#define STORE_COMMON_TESTS                                                                         \
    cmocka_unit_test(test_open_close), cmocka_unit_test(test_url),                                 \
        cmocka_unit_test(test_exec_script), cmocka_unit_test(test_text_values),                    \
        cmocka_unit_test(test_int64_and_null), cmocka_unit_test(test_doubles),                     \
        cmocka_unit_test(test_changes), cmocka_unit_test(test_statement_reuse),                    \
        cmocka_unit_test(test_checkpoint), cmocka_unit_test(test_db_run),                          \
        cmocka_unit_test(test_transactions), cmocka_unit_test(test_nested_transactions),           \
        cmocka_unit_test(test_conflict_and_errors), cmocka_unit_test(test_rewrite_placeholders),   \
        cmocka_unit_test(test_migrate), cmocka_unit_test(test_pool),                               \
        cmocka_unit_test(test_sql_given)

int main(void)
{
    static const struct CMUnitTest sqlite_tests[] = {
        STORE_COMMON_TESTS,
        cmocka_unit_test(test_sqlite_busy),
    };
    static const struct CMUnitTest pg_tests[] = {
        STORE_COMMON_TESTS,
        cmocka_unit_test(test_pg_session),
        cmocka_unit_test(test_pg_failed_commit),
        cmocka_unit_test(test_pg_busy),
        cmocka_unit_test(test_pg_reconnect),
    };
    store_is_pg = testdb_is_pg();
    if (store_is_pg)
        return cmocka_run_group_tests_name(testdb_group("store"), pg_tests, store_setup,
                                           store_teardown);
    return cmocka_run_group_tests_name(testdb_group("store"), sqlite_tests, store_setup,
                                       store_teardown);
}
