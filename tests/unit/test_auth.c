/*
 * test_auth.c - the auth suite: the role/permission matrix, user accounts,
 * sign-in, sessions and lockout, and the hash-chained audit trail (src/auth),
 * against a real backend.
 *
 * Runs against the URL in BENCHSIDE_TEST_DB (a PostgreSQL database the runner
 * may share between suites and reuse between runs) or, when it is unset, a
 * temporary SQLite file removed at the end. Usernames and audit actors carry a
 * random suffix made once per run, and every audit check compares with the
 * head sequence read before the action, so nothing assumes an empty table. The
 * tamper tests come last and change the trail only inside a transaction that
 * they roll back, so the chain stays intact for the next run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/audit.h"
#include "auth/perm.h"
#include "auth/session.h"
#include "auth/throttle.h"
#include "auth/user.h"
#include "base/err.h"
#include "base/id.h"
#include "base/str.h"
#include "base/time.h"
#include "store/db.h"
#include "testdb.h"

#define AUTH_PW      "correct horse battery"
#define AUTH_PW2     "staple 2 the horse"
#define AUTH_WRONG   "not the password"
#define AUTH_IDLE_US (3600LL * 1000000LL)
#define AUTH_SOURCE  "192.0.2.1"
#define AUTH_THREADS 2
#define AUTH_PER_THR 50
#define AUTH_EVENTS  ((int64_t)AUTH_THREADS * AUTH_PER_THR)

static char auth_url[1024];
static char auth_tmp_path[256]; /* the temporary SQLite file, "" when none */
static char auth_sfx[12];       /* random, lower case, once per run */
static db *auth_db;
static const audit_ctx auth_cli = {NULL, "cli", "cli"};

/* ---------------------------------------------------------------- helpers */

static void auth_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* "<prefix>-<suffix of this run>" into out. */
static void auth_name(char *out, size_t n, const char *prefix)
{
    snprintf(out, n, "%s-%s", prefix, auth_sfx);
}

static void auth_run(const char *sql)
{
    errinfo ei = {0};
    err_t rc = db_run(auth_db, &ei, NULL, sql, NULL);
    if (rc)
        fail_msg("db_run(%s): %s: %s", sql, err_name(rc), ei.message);
}

/* The first column of the only row of sql, with one text parameter unless arg is NULL. */
static int64_t auth_scalar(const char *sql, const char *arg)
{
    errinfo ei = {0};
    int64_t v = 0;
    if (testdb_scalar(auth_db, sql, arg, &v, &ei))
        fail_msg("%s: %s", sql, ei.message);
    return v;
}

static int64_t auth_head_seq(void)
{
    return auth_scalar("SELECT seq FROM audit_head WHERE id = 1", NULL);
}

static int64_t auth_user_count(const char *username)
{
    return auth_scalar("SELECT COUNT(*) FROM users WHERE username = ?", username);
}

/* The time of event seq. */
static int64_t auth_event_at(int64_t seq)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t v;
    assert_int_equal(db_prepare(auth_db, "SELECT at FROM audit_event WHERE seq = ?", &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, seq), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    v = db_col_int64(st, 0);
    db_finalize(st);
    return v;
}

/* Events of actor and action newer than seq after. */
static int64_t auth_count_since(const char *actor, const char *action, int64_t after)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t v;
    assert_int_equal(db_prepare(auth_db,
                                "SELECT COUNT(*) FROM audit_event WHERE actor = ? AND action = ?"
                                " AND seq > ?",
                                &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_str(st, 1, actor), ERR_OK);
    assert_int_equal(db_bind_str(st, 2, action), ERR_OK);
    assert_int_equal(db_bind_int64(st, 3, after), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    v = db_col_int64(st, 0);
    db_finalize(st);
    return v;
}

/* Events matching f as a new JSON array; the cursor into *next when next is given. */
static json_t *auth_list(const audit_filter *f, int64_t *next)
{
    errinfo ei = {0};
    json_t *items = NULL;
    int64_t n = -1;
    err_t rc = audit_list(auth_db, f, &items, &n, &ei);
    if (rc)
        fail_msg("audit_list: %s: %s", err_name(rc), ei.message);
    assert_non_null(items);
    assert_true(json_is_array(items));
    if (next)
        *next = n;
    return items;
}

/* The newest event of actor and action (new reference); it must be newer than after. */
static json_t *auth_newest(const char *actor, const char *action, int64_t after)
{
    audit_filter f = {.actor = actor, .action = action, .limit = 1};
    json_t *items = auth_list(&f, NULL);
    json_t *ev;
    assert_int_equal(json_array_size(items), 1);
    ev = json_incref(json_array_get(items, 0));
    json_decref(items);
    assert_true(json_integer_value(json_object_get(ev, "seq")) > after);
    return ev;
}

static int64_t auth_ev_seq(const json_t *ev)
{
    return json_integer_value(json_object_get(ev, "seq"));
}

static void auth_expect_str(const json_t *obj, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(obj, key));
    if (!got)
        fail_msg("'%s' is not a string", key);
    assert_string_equal(got, want);
}

static void auth_expect_reason(const json_t *ev, const char *reason)
{
    auth_expect_str(json_object_get(ev, "detail"), "reason", reason);
}

static void auth_new_user(const char *prefix, const char *role, user *u)
{
    char name[USER_NAME_MAX + 1];
    errinfo ei = {0};
    err_t rc;
    auth_name(name, sizeof(name), prefix);
    rc = user_create(auth_db, &auth_cli, name, NULL, role, AUTH_PW, u, &ei);
    if (rc)
        fail_msg("user_create(%s): %s: %s", name, err_name(rc), ei.message);
}

static err_t auth_login(const char *username, const char *password, char *token, user *u,
                        errinfo *ei)
{
    err_clear(ei);
    return session_login(auth_db, username, password, AUTH_SOURCE, token, u, ei);
}

static void auth_login_ok(const char *username, const char *password, char *token, user *u)
{
    errinfo ei = {0};
    err_t rc = auth_login(username, password, token, u, &ei);
    if (rc)
        fail_msg("session_login(%s): %s: %s", username, err_name(rc), ei.message);
}

static user auth_reload(const char *id)
{
    user u;
    errinfo ei = {0};
    assert_int_equal(user_get(auth_db, id, &u, &ei), ERR_OK);
    return u;
}

/* BLAKE2b-256 of token as hex: what the sessions table stores. */
static void auth_token_hash(const char *token, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    str_hex(h, sizeof(h), out);
}

/*
 * The event hash as audit.c documents it, computed independently: BLAKE2b-256
 * over seq, id, at, actor_id, actor, action, entity_type, entity_id, source,
 * outcome, detail, prev_hash, each as "<decimal length>:<bytes>;".
 */
static void auth_event_hash(const char *const fields[12], char out[65])
{
    crypto_generichash_state st;
    unsigned char h[32];
    char len[24];
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    for (int i = 0; i < 12; i++) {
        int k = snprintf(len, sizeof(len), "%zu:", strlen(fields[i]));
        crypto_generichash_update(&st, (const unsigned char *)len, (size_t)k);
        crypto_generichash_update(&st, (const unsigned char *)fields[i], strlen(fields[i]));
        crypto_generichash_update(&st, (const unsigned char *)";", 1);
    }
    crypto_generichash_final(&st, h, sizeof(h));
    str_hex(h, sizeof(h), out);
}

/* One stored event: its hash recomputed from its columns, its stored hash and prev_hash. */
struct auth_row {
    char id[ID_LEN + 1];
    char detail[256];
    char computed[65], hash[65], prev[65];
};

static void auth_read_event(int64_t seq, struct auth_row *r)
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    const char *f[12];
    char seqs[24], ats[24];
    assert_int_equal(db_prepare(auth_db,
                                "SELECT seq, id, at, actor_id, actor, action, entity_type,"
                                " entity_id, source, outcome, detail, prev_hash, hash"
                                " FROM audit_event WHERE seq = ?",
                                &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, seq), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    for (int i = 0; i < 12; i++) {
        f[i] = db_col_text(st, i);
        assert_non_null(f[i]);
    }
    snprintf(seqs, sizeof(seqs), "%lld", (long long)db_col_int64(st, 0));
    snprintf(ats, sizeof(ats), "%lld", (long long)db_col_int64(st, 2));
    f[0] = seqs;
    f[2] = ats;
    auth_event_hash(f, r->computed);
    snprintf(r->id, sizeof(r->id), "%s", f[1]);
    snprintf(r->detail, sizeof(r->detail), "%s", f[10]);
    snprintf(r->prev, sizeof(r->prev), "%s", f[11]);
    snprintf(r->hash, sizeof(r->hash), "%s", db_col_text(st, 12));
    db_finalize(st);
}

static void auth_head_hash(char out[65])
{
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    assert_int_equal(db_prepare(auth_db, "SELECT hash FROM audit_head WHERE id = 1", &st, &ei),
                     ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    snprintf(out, 65, "%s", db_col_text(st, 0));
    db_finalize(st);
}

static void auth_expect_verified(void)
{
    audit_verify_result r;
    errinfo ei = {0};
    assert_int_equal(audit_verify(auth_db, &r, &ei), ERR_OK);
    if (!r.ok)
        fail_msg("audit trail broken at %lld: %s", (long long)r.seq, r.problem);
    assert_int_equal(r.events, auth_head_seq());
}

/* ------------------------------------------------------- suite set-up */

/* Pick the URL, open the suite's connection and migrate; false (said on stderr) on failure. */
static bool auth_open_suite(void)
{
    if (!testdb_pick("auth", auth_url, sizeof(auth_url), auth_tmp_path, sizeof(auth_tmp_path)))
        return false;
    testdb_suffix(auth_sfx, 10, true);
    return testdb_open(auth_url, NULL, &auth_db);
}

static void auth_close_suite(void)
{
    testdb_close(auth_db, auth_tmp_path);
    auth_db = NULL;
}

/* Per-test teardown of the tamper tests: whatever a failed test left open is rolled back. */
static int auth_rollback(void **state)
{
    (void)state;
    db_rollback(auth_db);
    return 0;
}

/* ------------------------------------------------------------------ perm */

static void test_perm_matrix(void **state)
{
    static const struct {
        perm_role role;
        bool manage, read, verify;
    } want[] = {
        {ROLE_ADMIN, true, true, true},         {ROLE_SUPERVISOR, false, true, false},
        {ROLE_TECHNICIAN, false, false, false}, {ROLE_BIOMED, false, false, false},
        {ROLE_CLINICIAN, false, false, false},  {ROLE_INTERFACE, false, false, false},
    };
    (void)state;
    assert_int_equal(sizeof(want) / sizeof(want[0]), ROLE__COUNT);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        perm_role r = want[i].role;
        assert_false(perm_role_has(r, PERM_NONE));
        assert_true(perm_role_has(r, PERM_PUBLIC));
        assert_true(perm_role_has(r, PERM_SIGNED_IN));
        assert_int_equal(perm_role_has(r, PERM_USERS_MANAGE), want[i].manage);
        assert_int_equal(perm_role_has(r, PERM_AUDIT_READ), want[i].read);
        assert_int_equal(perm_role_has(r, PERM_AUDIT_VERIFY), want[i].verify);
        /* Out of range permissions are refused to everyone. */
        assert_false(perm_role_has(r, PERM__COUNT));
        assert_false(perm_role_has(r, (perm_id)99));
    }
    /* No role at all holds nothing, not even what is public. */
    for (int p = 0; p < PERM__COUNT; p++) {
        assert_false(perm_role_has(ROLE_NONE, (perm_id)p));
        assert_false(perm_role_has(ROLE__COUNT, (perm_id)p));
    }
    assert_string_equal(perm_name(PERM_NONE), "none");
    assert_string_equal(perm_name(PERM_PUBLIC), "public");
    assert_string_equal(perm_name(PERM_SIGNED_IN), "signed_in");
    assert_string_equal(perm_name(PERM_USERS_MANAGE), "users.manage");
    assert_string_equal(perm_name(PERM_AUDIT_READ), "audit.read");
    assert_string_equal(perm_name(PERM_AUDIT_VERIFY), "audit.verify");
    assert_string_equal(perm_name(PERM__COUNT), "none");
}

static void test_perm_role_names(void **state)
{
    static const struct {
        const char *name;
        perm_role role;
    } roles[] = {
        {"admin", ROLE_ADMIN},   {"supervisor", ROLE_SUPERVISOR}, {"technician", ROLE_TECHNICIAN},
        {"biomed", ROLE_BIOMED}, {"clinician", ROLE_CLINICIAN},   {"interface", ROLE_INTERFACE},
    };
    static const char *const not_roles[] = {"root",   "",     "Admin",        "admin ",
                                            " admin", "none", "administrator"};
    (void)state;
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        assert_int_equal(perm_role_from_name(roles[i].name), roles[i].role);
        assert_string_equal(perm_role_name(roles[i].role), roles[i].name);
        assert_non_null(strstr(perm_role_names(), roles[i].name));
    }
    for (size_t i = 0; i < sizeof(not_roles) / sizeof(not_roles[0]); i++)
        assert_int_equal(perm_role_from_name(not_roles[i]), ROLE_NONE);
    assert_int_equal(perm_role_from_name(NULL), ROLE_NONE);
    assert_string_equal(perm_role_name(ROLE_NONE), "none");
    assert_string_equal(perm_role_name(ROLE__COUNT), "none");
    assert_string_equal(perm_role_names(),
                        "admin, supervisor, technician, biomed, clinician, interface");
}

/* ------------------------------------------------------------ user rules */

static void test_check_username(void **state)
{
    char n64[65], n65[66], upper64[65];
    errinfo ei;
    (void)state;
    memset(n64, 'a', 64);
    n64[64] = '\0';
    memset(n65, 'a', 65);
    n65[65] = '\0';
    memcpy(upper64, n64, sizeof(upper64));
    upper64[63] = 'A';

    const struct {
        const char *name;
        bool ok;
    } cases[] = {
        {"abc", true},   {n64, true},     {"a.b_c-9", true},     {"0123456789", true},
        {"ab", false},   {n65, false},    {"", false},           {NULL, false},
        {"Abc", false},  {"abC", false},  {upper64, false},      {"a b", false},
        {"ab@c", false}, {"ab/c", false}, {"ab\xc3\xa9", false}, {"ab\tc", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err_clear(&ei);
        err_t rc = user_check_username(cases[i].name, &ei);
        if (cases[i].ok) {
            assert_int_equal(rc, ERR_OK);
            assert_string_equal(ei.field, "");
        } else {
            assert_int_equal(rc, ERR_INVALID);
            assert_int_equal(ei.code, ERR_INVALID);
            assert_string_equal(ei.field, "username");
            assert_non_null(strstr(ei.message, "username"));
        }
    }
    /* ei is optional. */
    assert_int_equal(user_check_username("ab", NULL), ERR_INVALID);
}

static void test_check_password(void **state)
{
    char p1024[USER_PASSWORD_MAX + 1], p1025[USER_PASSWORD_MAX + 2];
    errinfo ei;
    (void)state;
    memset(p1024, 'x', USER_PASSWORD_MAX);
    p1024[USER_PASSWORD_MAX] = '\0';
    memset(p1025, 'x', USER_PASSWORD_MAX + 1);
    p1025[USER_PASSWORD_MAX + 1] = '\0';

    assert_int_equal(user_check_password("123456789a", "password", &ei), ERR_OK);
    assert_int_equal(user_check_password(p1024, "password", &ei), ERR_OK);
    const char *bad[] = {"123456789", "", NULL, p1025};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&ei);
        assert_int_equal(user_check_password(bad[i], "password", &ei), ERR_INVALID);
        assert_string_equal(ei.field, "password");
        assert_non_null(strstr(ei.message, "password must be at"));
        err_clear(&ei);
        assert_int_equal(user_check_password(bad[i], "new_password", &ei), ERR_INVALID);
        assert_string_equal(ei.field, "new_password");
        assert_true(strncmp(ei.message, "new_password must be at", 23) == 0);
    }
    err_clear(&ei);
    user_check_password("short", "password", &ei);
    assert_non_null(strstr(ei.message, "at least 10"));
    err_clear(&ei);
    user_check_password(p1025, "password", &ei);
    assert_non_null(strstr(ei.message, "at most 1024"));
}

/* ----------------------------------------------------------- user_create */

static void test_user_create(void **state)
{
    char name[USER_NAME_MAX + 1], other[USER_NAME_MAX + 1], hash[crypto_pwhash_STRBYTES];
    char long_display[USER_DISPLAY_MAX + 2];
    errinfo ei = {0};
    user u, g;
    int64_t before, t0, t1;
    json_t *ev;
    (void)state;
    auth_name(name, sizeof(name), "uc");
    auth_name(other, sizeof(other), "ur");
    memset(long_display, 'd', USER_DISPLAY_MAX + 1);
    long_display[USER_DISPLAY_MAX + 1] = '\0';
    assert_int_equal(auth_user_count(name), 0);

    before = auth_head_seq();
    t0 = time_now_us();
    assert_int_equal(
        user_create(auth_db, &auth_cli, name, "Tech One", "technician", AUTH_PW, &u, &ei), ERR_OK);
    t1 = time_now_us();
    assert_true(id_valid(u.id, strlen(u.id)));
    assert_string_equal(u.username, name);
    assert_string_equal(u.display_name, "Tech One");
    assert_int_equal(u.role, ROLE_TECHNICIAN);
    assert_int_equal(u.failed_logins, 0);
    assert_false(u.locked);
    assert_false(u.disabled);
    assert_true(u.created_at >= t0 && u.created_at <= t1);
    assert_true(u.updated_at == u.created_at);
    assert_int_equal(auth_user_count(name), 1);

    /* Found again by id and by name. */
    assert_int_equal(user_get(auth_db, u.id, &g, &ei), ERR_OK);
    assert_string_equal(g.username, name);
    assert_int_equal(user_get_by_name(auth_db, name, &g, &ei), ERR_OK);
    assert_string_equal(g.id, u.id);
    assert_int_equal(user_get(auth_db, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &g, &ei), ERR_NOT_FOUND);

    /* Only an argon2id hash of the password is stored. */
    assert_int_equal(user_password_hash(auth_db, u.id, hash, sizeof(hash), &ei), ERR_OK);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_null(strstr(hash, AUTH_PW));
    assert_true(user_verify_password(hash, AUTH_PW));
    assert_false(user_verify_password(hash, AUTH_WRONG));

    /* One event, user.create, for the new user, in the same commit. */
    assert_int_equal(auth_head_seq(), before + 1);
    ev = auth_newest("cli", "user.create", before);
    assert_int_equal(auth_ev_seq(ev), before + 1);
    auth_expect_str(ev, "entity_type", "user");
    auth_expect_str(ev, "entity_id", u.id);
    auth_expect_str(ev, "outcome", "ok");
    auth_expect_str(ev, "source", "cli");
    assert_true(json_is_null(json_object_get(ev, "actor_id")));
    auth_expect_str(json_object_get(ev, "detail"), "username", name);
    auth_expect_str(json_object_get(ev, "detail"), "role", "technician");
    json_decref(ev);

    /* Refusals write nothing: no user row and no audit event. */
    before = auth_head_seq();
    err_clear(&ei);
    assert_int_equal(
        user_create(auth_db, &auth_cli, name, "Someone Else", "admin", AUTH_PW2, &g, &ei),
        ERR_CONFLICT);
    assert_string_equal(ei.field, "username");
    assert_non_null(strstr(ei.message, name));
    assert_int_equal(auth_user_count(name), 1);
    g = auth_reload(u.id);
    assert_string_equal(g.display_name, "Tech One");
    assert_int_equal(g.role, ROLE_TECHNICIAN);

    const struct {
        const char *username, *display, *role, *password, *field;
    } bad[] = {
        {other, NULL, "root", AUTH_PW, "role"},
        {other, NULL, NULL, AUTH_PW, "role"},
        {other, NULL, "Admin", AUTH_PW, "role"},
        {other, NULL, "clinician", "123456789", "password"},
        {other, NULL, "clinician", NULL, "password"},
        {other, "", "clinician", AUTH_PW, "display_name"},
        {other, long_display, "clinician", AUTH_PW, "display_name"},
        {"No-Upper", NULL, "clinician", AUTH_PW, "username"},
        {"xy", NULL, "clinician", AUTH_PW, "username"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&ei);
        assert_int_equal(user_create(auth_db, &auth_cli, bad[i].username, bad[i].display,
                                     bad[i].role, bad[i].password, &g, &ei),
                         ERR_INVALID);
        assert_string_equal(ei.field, bad[i].field);
    }
    assert_int_equal(auth_user_count(other), 0);
    assert_int_equal(auth_user_count("No-Upper"), 0);
    assert_int_equal(auth_head_seq(), before);
    assert_int_equal(auth_count_since("cli", "user.create", before), 0);
    assert_false(db_in_transaction(auth_db));
}

static void test_user_list_json_admins(void **state)
{
    char after[USER_NAME_MAX + 1], created[TIME_ISO_LEN];
    errinfo ei = {0};
    user a, list[3];
    int count = -1;
    int64_t admins = -1, admins2 = -1, before;
    json_t *j;
    (void)state;
    assert_int_equal(user_count_admins(auth_db, &admins, &ei), ERR_OK);
    auth_new_user("ad", "admin", &a);
    assert_int_equal(user_count_admins(auth_db, &admins2, &ei), ERR_OK);
    assert_int_equal(admins2, admins + 1);

    /* Listed in username order after a cursor: the name less its last character. */
    snprintf(after, sizeof(after), "%.*s", (int)strlen(a.username) - 1, a.username);
    assert_int_equal(user_list(auth_db, after, 1, list, &count, &ei), ERR_OK);
    assert_int_equal(count, 1);
    assert_string_equal(list[0].id, a.id);
    assert_int_equal(list[0].role, ROLE_ADMIN);
    assert_int_equal(user_list(auth_db, a.username, 3, list, &count, &ei), ERR_OK);
    for (int i = 0; i < count; i++)
        assert_true(strcmp(list[i].username, a.username) > 0);

    /* The API view: no hash, no counters. */
    j = user_to_json(&a);
    assert_non_null(j);
    auth_expect_str(j, "id", a.id);
    auth_expect_str(j, "username", a.username);
    auth_expect_str(j, "display_name", a.username); /* defaults to the username */
    auth_expect_str(j, "role", "admin");
    assert_true(json_is_false(json_object_get(j, "locked")));
    assert_true(json_is_false(json_object_get(j, "disabled")));
    time_format_iso(a.created_at, created);
    auth_expect_str(j, "created_at", created);
    assert_null(json_object_get(j, "password_hash"));
    assert_null(json_object_get(j, "failed_logins"));
    assert_int_equal(json_object_size(j), 8);
    json_decref(j);

    /* A disabled administrator does not count. */
    assert_int_equal(user_update(auth_db, &auth_cli, a.id, NULL, NULL, 1, NULL, &ei), ERR_OK);
    assert_int_equal(user_count_admins(auth_db, &admins2, &ei), ERR_OK);
    assert_int_equal(admins2, admins);

    /* user_set_password checks its input and its user, and writes nothing when refusing. */
    before = auth_head_seq();
    err_clear(&ei);
    assert_int_equal(user_set_password(auth_db, &auth_cli, a.id, "short", NULL, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "password");
    assert_int_equal(
        user_set_password(auth_db, &auth_cli, "01ARZ3NDEKTSV4RRFFQ69G5FAV", AUTH_PW2, NULL, &ei),
        ERR_NOT_FOUND);
    assert_int_equal(auth_head_seq(), before);
    assert_false(db_in_transaction(auth_db));
}

/* ---------------------------------------------------------------- login */

static void test_login_ok(void **state)
{
    char token[SESSION_TOKEN_LEN + 1], token2[SESSION_TOKEN_LEN + 1], th[65];
    errinfo ei = {0};
    user c, u, v;
    int64_t before;
    json_t *ev;
    (void)state;
    auth_new_user("li", "clinician", &c);

    before = auth_head_seq();
    memset(&u, 0, sizeof(u));
    auth_login_ok(c.username, AUTH_PW, token, &u);
    assert_int_equal(strlen(token), SESSION_TOKEN_LEN);
    for (size_t i = 0; i < SESSION_TOKEN_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", token[i]));
    assert_string_equal(u.id, c.id);
    assert_string_equal(u.username, c.username);
    assert_int_equal(u.role, ROLE_CLINICIAN);
    assert_int_equal(u.failed_logins, 0);

    /* The token itself is not stored, only its BLAKE2b hash. */
    auth_token_hash(token, th);
    assert_int_equal(auth_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = ?", token), 0);
    assert_int_equal(auth_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = ?"
                                 " AND ended_at IS NULL AND source = '" AUTH_SOURCE "'",
                                 th),
                     1);
    assert_int_equal(auth_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = ?", c.id), 1);

    ev = auth_newest(c.username, "session.create", before);
    auth_expect_str(ev, "actor_id", c.id);
    auth_expect_str(ev, "entity_id", c.id);
    auth_expect_str(ev, "source", AUTH_SOURCE);
    auth_expect_str(ev, "outcome", "ok");
    json_decref(ev);

    memset(&v, 0, sizeof(v));
    assert_int_equal(session_lookup(auth_db, token, AUTH_IDLE_US, &v, &ei), ERR_OK);
    assert_string_equal(v.id, c.id);
    assert_string_equal(v.username, c.username);
    assert_int_equal(v.role, ROLE_CLINICIAN);

    /* A second sign-in is a second session with its own token; both work. */
    auth_login_ok(c.username, AUTH_PW, token2, NULL);
    assert_string_not_equal(token, token2);
    assert_int_equal(session_lookup(auth_db, token2, AUTH_IDLE_US, &v, &ei), ERR_OK);
    assert_int_equal(session_lookup(auth_db, token, AUTH_IDLE_US, &v, &ei), ERR_OK);
    assert_string_equal(v.id, c.id);
    assert_int_equal(auth_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = ?", c.id), 2);
}

static void test_login_refused(void **state)
{
    char token[SESSION_TOKEN_LEN + 1], nobody[USER_NAME_MAX + 1];
    errinfo ei = {0};
    user c, u;
    int64_t before;
    json_t *ev;
    (void)state;
    auth_new_user("lr", "technician", &c);
    auth_name(nobody, sizeof(nobody), "nobody");

    /* Wrong password. */
    before = auth_head_seq();
    assert_int_equal(auth_login(c.username, AUTH_WRONG, token, &u, &ei), ERR_BAD_CREDENTIALS);
    assert_int_equal(ei.code, ERR_BAD_CREDENTIALS);
    assert_string_equal(ei.message, "wrong username or password");
    ev = auth_newest(c.username, "session.fail", before);
    auth_expect_reason(ev, "bad_password");
    auth_expect_str(ev, "outcome", "failed");
    auth_expect_str(ev, "actor_id", c.id);
    auth_expect_str(ev, "entity_id", c.id);
    auth_expect_str(ev, "source", AUTH_SOURCE);
    json_decref(ev);
    assert_int_equal(auth_head_seq(), before + 1);
    assert_int_equal(auth_reload(c.id).failed_logins, 1);
    assert_int_equal(auth_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = ?", c.id), 0);

    /* Unknown user: the same answer, and the attempted name as actor. */
    before = auth_head_seq();
    assert_int_equal(auth_login(nobody, AUTH_PW, token, &u, &ei), ERR_BAD_CREDENTIALS);
    assert_string_equal(ei.message, "wrong username or password");
    ev = auth_newest(nobody, "session.fail", before);
    auth_expect_reason(ev, "unknown_user");
    auth_expect_str(ev, "outcome", "failed");
    auth_expect_str(ev, "entity_id", "");
    assert_true(json_is_null(json_object_get(ev, "actor_id")));
    json_decref(ev);
    assert_int_equal(auth_head_seq(), before + 1);
    /* Also without any password. */
    assert_int_equal(auth_login(nobody, NULL, token, &u, &ei), ERR_BAD_CREDENTIALS);
    assert_int_equal(auth_count_since(nobody, "session.fail", before), 2);
    assert_false(db_in_transaction(auth_db));
}

static void test_lockout(void **state)
{
    char token[SESSION_TOKEN_LEN + 1], early[SESSION_TOKEN_LEN + 1];
    errinfo ei = {0};
    user c, u, v;
    int64_t before, fail_seq;
    json_t *ev;
    (void)state;
    auth_new_user("lk", "biomed", &c);
    /* A session opened before the lock stops working once locked. */
    auth_login_ok(c.username, AUTH_PW, early, NULL);

    before = auth_head_seq();
    for (int i = 1; i <= USER_MAX_FAILED_LOGIN - 1; i++) {
        assert_int_equal(auth_login(c.username, AUTH_WRONG, token, &u, &ei), ERR_BAD_CREDENTIALS);
        u = auth_reload(c.id);
        assert_int_equal(u.failed_logins, i);
        assert_false(u.locked);
    }
    assert_int_equal(auth_count_since(c.username, "session.fail", before), 4);
    assert_int_equal(auth_count_since(c.username, "user.lock", before), 0);
    assert_int_equal(session_lookup(auth_db, early, AUTH_IDLE_US, &v, &ei), ERR_OK);

    /* The fifth wrong password in a row locks, and says so in the trail. */
    assert_int_equal(auth_login(c.username, AUTH_WRONG, token, &u, &ei), ERR_BAD_CREDENTIALS);
    u = auth_reload(c.id);
    assert_true(u.locked);
    assert_int_equal(u.failed_logins, USER_MAX_FAILED_LOGIN);
    assert_int_equal(auth_count_since(c.username, "session.fail", before), 5);
    assert_int_equal(auth_count_since(c.username, "user.lock", before), 1);
    ev = auth_newest(c.username, "session.fail", before);
    fail_seq = auth_ev_seq(ev);
    json_decref(ev);
    ev = auth_newest(c.username, "user.lock", before);
    assert_int_equal(auth_ev_seq(ev), fail_seq + 1); /* the same transaction */
    auth_expect_str(ev, "entity_id", c.id);
    auth_expect_str(ev, "outcome", "ok");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(ev, "detail"), "failed_logins")),
        USER_MAX_FAILED_LOGIN);
    json_decref(ev);
    err_clear(&ei);
    assert_int_equal(session_lookup(auth_db, early, AUTH_IDLE_US, &v, &ei), ERR_UNAUTHORIZED);

    /* The sixth, with the right password, is refused: locked. */
    before = auth_head_seq();
    assert_int_equal(auth_login(c.username, AUTH_PW, token, &u, &ei), ERR_LOCKED);
    assert_non_null(strstr(ei.message, "locked"));
    ev = auth_newest(c.username, "session.fail", before);
    auth_expect_reason(ev, "locked");
    json_decref(ev);
    assert_int_equal(auth_count_since(c.username, "user.lock", before), 0);
    assert_int_equal(auth_count_since(c.username, "session.create", before), 0);
    u = auth_reload(c.id);
    assert_true(u.locked);
    assert_int_equal(u.failed_logins, USER_MAX_FAILED_LOGIN);

    /* An administrator unlocks; the right password works again. */
    before = auth_head_seq();
    assert_int_equal(user_unlock(auth_db, &auth_cli, c.id, &u, &ei), ERR_OK);
    assert_false(u.locked);
    assert_int_equal(u.failed_logins, 0);
    ev = auth_newest("cli", "user.unlock", before);
    auth_expect_str(ev, "entity_id", c.id);
    json_decref(ev);
    assert_int_equal(user_unlock(auth_db, &auth_cli, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL, &ei),
                     ERR_NOT_FOUND);
    auth_login_ok(c.username, AUTH_PW, token, &u);
    assert_int_equal(session_lookup(auth_db, token, AUTH_IDLE_US, &v, &ei), ERR_OK);
    assert_string_equal(v.id, c.id);
}

static void test_failed_count_reset(void **state)
{
    char token[SESSION_TOKEN_LEN + 1];
    errinfo ei = {0};
    user c, u;
    int64_t before;
    (void)state;
    auth_new_user("rs", "interface", &c);
    before = auth_head_seq();
    for (int i = 0; i < USER_MAX_FAILED_LOGIN - 1; i++)
        assert_int_equal(auth_login(c.username, AUTH_WRONG, token, &u, &ei), ERR_BAD_CREDENTIALS);
    assert_int_equal(auth_reload(c.id).failed_logins, 4);

    /* A right password resets the count... */
    auth_login_ok(c.username, AUTH_PW, token, &u);
    assert_int_equal(u.failed_logins, 0);
    assert_int_equal(auth_reload(c.id).failed_logins, 0);

    /* ...so four more wrong ones do not lock. */
    for (int i = 0; i < USER_MAX_FAILED_LOGIN - 1; i++)
        assert_int_equal(auth_login(c.username, AUTH_WRONG, token, &u, &ei), ERR_BAD_CREDENTIALS);
    u = auth_reload(c.id);
    assert_int_equal(u.failed_logins, 4);
    assert_false(u.locked);
    assert_int_equal(auth_count_since(c.username, "user.lock", before), 0);
    assert_int_equal(auth_count_since(c.username, "session.fail", before), 8);
    auth_login_ok(c.username, AUTH_PW, token, &u);
}

static void test_disabled(void **state)
{
    char token[SESSION_TOKEN_LEN + 1], other[SESSION_TOKEN_LEN + 1];
    errinfo ei = {0};
    user c, u, v;
    int64_t before;
    json_t *ev;
    (void)state;
    auth_new_user("ds", "supervisor", &c);
    auth_login_ok(c.username, AUTH_PW, token, &u);
    assert_int_equal(session_lookup(auth_db, token, AUTH_IDLE_US, &v, &ei), ERR_OK);

    before = auth_head_seq();
    assert_int_equal(user_update(auth_db, &auth_cli, c.id, NULL, NULL, 1, &u, &ei), ERR_OK);
    assert_true(u.disabled);
    assert_string_equal(u.display_name, c.display_name);
    assert_int_equal(u.role, ROLE_SUPERVISOR);
    ev = auth_newest("cli", "user.update", before);
    auth_expect_str(ev, "entity_id", c.id);
    assert_true(json_is_true(json_object_get(json_object_get(ev, "detail"), "disabled")));
    json_decref(ev);

    /* The right password is refused, and the open session stops working. */
    before = auth_head_seq();
    err_clear(&ei);
    assert_int_equal(auth_login(c.username, AUTH_PW, other, &u, &ei), ERR_DISABLED);
    assert_int_equal(ei.code, ERR_DISABLED);
    ev = auth_newest(c.username, "session.fail", before);
    auth_expect_reason(ev, "disabled");
    json_decref(ev);
    assert_int_equal(auth_count_since(c.username, "session.create", before), 0);
    err_clear(&ei);
    assert_int_equal(session_lookup(auth_db, token, AUTH_IDLE_US, &v, &ei), ERR_UNAUTHORIZED);
    assert_int_equal(ei.code, ERR_UNAUTHORIZED);

    /* user_update changes only what is given, and checks the role. */
    before = auth_head_seq();
    assert_int_equal(user_update(auth_db, &auth_cli, c.id, "Sup Two", "technician", -1, &u, &ei),
                     ERR_OK);
    assert_string_equal(u.display_name, "Sup Two");
    assert_int_equal(u.role, ROLE_TECHNICIAN);
    assert_true(u.disabled);
    ev = auth_newest("cli", "user.update", before);
    auth_expect_str(json_object_get(json_object_get(ev, "detail"), "role"), "from", "supervisor");
    auth_expect_str(json_object_get(json_object_get(ev, "detail"), "role"), "to", "technician");
    auth_expect_str(json_object_get(ev, "detail"), "display_name", "Sup Two");
    json_decref(ev);
    before = auth_head_seq();
    err_clear(&ei);
    assert_int_equal(user_update(auth_db, &auth_cli, c.id, NULL, "root", -1, &u, &ei), ERR_INVALID);
    assert_string_equal(ei.field, "role");
    assert_int_equal(
        user_update(auth_db, &auth_cli, "01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL, NULL, 0, NULL, &ei),
        ERR_NOT_FOUND);
    assert_int_equal(auth_head_seq(), before);
    assert_int_equal(auth_reload(c.id).role, ROLE_TECHNICIAN);
    assert_false(db_in_transaction(auth_db));
}

/* Disabling, locking and a password reset end open sessions for good; a
 * change of one's own password keeps only the session it was made from. */
static void test_sessions_end(void **state)
{
    char t1[SESSION_TOKEN_LEN + 1], t2[SESSION_TOKEN_LEN + 1];
    errinfo ei = {0};
    user c, u;
    audit_ctx self;
    (void)state;
    auth_new_user("se", "technician", &c);

    /* disable, then enable again: the old session stays ended */
    auth_login_ok(c.username, AUTH_PW, t1, &u);
    assert_int_equal(user_update(auth_db, &auth_cli, c.id, NULL, NULL, 1, NULL, &ei), ERR_OK);
    assert_int_equal(user_update(auth_db, &auth_cli, c.id, NULL, NULL, 0, NULL, &ei), ERR_OK);
    assert_int_equal(session_lookup(auth_db, t1, AUTH_IDLE_US, &u, &ei), ERR_UNAUTHORIZED);

    /* lock by wrong passwords, then unlock: the old session stays ended */
    auth_login_ok(c.username, AUTH_PW, t1, &u);
    for (int i = 0; i < USER_MAX_FAILED_LOGIN; i++)
        assert_int_equal(auth_login(c.username, AUTH_WRONG, t2, &u, &ei), ERR_BAD_CREDENTIALS);
    assert_int_equal(user_unlock(auth_db, &auth_cli, c.id, NULL, &ei), ERR_OK);
    assert_int_equal(session_lookup(auth_db, t1, AUTH_IDLE_US, &u, &ei), ERR_UNAUTHORIZED);

    /* an administrator's reset ends every session */
    auth_login_ok(c.username, AUTH_PW, t1, &u);
    assert_int_equal(user_set_password(auth_db, &auth_cli, c.id, AUTH_PW2, NULL, &ei), ERR_OK);
    assert_int_equal(session_lookup(auth_db, t1, AUTH_IDLE_US, &u, &ei), ERR_UNAUTHORIZED);

    /* one's own change keeps the session it came from and ends the others */
    auth_login_ok(c.username, AUTH_PW2, t1, &u);
    auth_login_ok(c.username, AUTH_PW2, t2, &u);
    self = (audit_ctx){c.id, c.username, AUTH_SOURCE};
    assert_int_equal(session_change_password(auth_db, &self, c.id, t1, AUTH_PW2, AUTH_PW, &ei),
                     ERR_OK);
    assert_int_equal(session_lookup(auth_db, t1, AUTH_IDLE_US, &u, &ei), ERR_OK);
    assert_int_equal(session_lookup(auth_db, t2, AUTH_IDLE_US, &u, &ei), ERR_UNAUTHORIZED);

    /* a change that changes nothing writes nothing */
    int64_t before = auth_head_seq();
    assert_int_equal(
        user_update(auth_db, &auth_cli, c.id, c.display_name, "technician", 0, &u, &ei), ERR_OK);
    assert_int_equal(auth_head_seq(), before);
    assert_string_equal(u.id, c.id);
}

struct auth_guesser {
    const char *username;
    err_t rc;
};

static void *auth_guess_run(void *p)
{
    struct auth_guesser *g = p;
    char token[SESSION_TOKEN_LEN + 1];
    errinfo ei = {0};
    user u;
    db *d = NULL;
    g->rc = db_open(auth_url, &d, &ei);
    if (!g->rc)
        g->rc = session_login(d, g->username, AUTH_WRONG, AUTH_SOURCE, token, &u, &ei);
    db_close(d);
    return NULL;
}

/* Parallel wrong passwords: no more than five are checked, one lock is written. */
static void test_lockout_parallel(void **state)
{
    enum { GUESSERS = 12 };
    struct auth_guesser g[GUESSERS];
    pthread_t th[GUESSERS];
    int checked = 0, locked = 0;
    int64_t before;
    user c;
    (void)state;
    auth_new_user("lp", "technician", &c);
    before = auth_head_seq();
    for (int i = 0; i < GUESSERS; i++) {
        g[i] = (struct auth_guesser){c.username, ERR_OK};
        assert_int_equal(pthread_create(&th[i], NULL, auth_guess_run, &g[i]), 0);
    }
    for (int i = 0; i < GUESSERS; i++) {
        pthread_join(th[i], NULL);
        if (g[i].rc == ERR_BAD_CREDENTIALS)
            checked++;
        else if (g[i].rc == ERR_LOCKED)
            locked++;
        else
            fail_msg("guesser %d: unexpected %s", i, err_name(g[i].rc));
    }
    assert_int_equal(checked, USER_MAX_FAILED_LOGIN);
    assert_int_equal(locked, GUESSERS - USER_MAX_FAILED_LOGIN);
    assert_int_equal(auth_count_since(c.username, "user.lock", before), 1);
    assert_true(auth_reload(c.id).locked);
}

/* -------------------------------------------------------------- sessions */

static void test_lookup_bad_tokens(void **state)
{
    char t63[64], t65[66], upper[65], nonhex[65], unknown[65];
    unsigned char raw[32];
    errinfo ei;
    user v;
    int64_t before;
    audit_ctx ctx = {NULL, "x", AUTH_SOURCE};
    (void)state;
    memset(t63, 'a', 63);
    t63[63] = '\0';
    memset(t65, 'a', 65);
    t65[65] = '\0';
    memset(upper, 'A', 64);
    upper[64] = '\0';
    memset(nonhex, 'a', 64);
    nonhex[64] = '\0';
    nonhex[10] = 'g';
    randombytes_buf(raw, sizeof(raw));
    str_hex(raw, sizeof(raw), unknown);

    const char *bad[] = {NULL,  "",     "not a token", "garbage\x01\xff", t63, t65,
                         upper, nonhex, unknown};
    before = auth_head_seq();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&ei);
        assert_int_equal(session_lookup(auth_db, bad[i], AUTH_IDLE_US, &v, &ei), ERR_UNAUTHORIZED);
        assert_int_equal(ei.code, ERR_UNAUTHORIZED);
        err_clear(&ei);
        assert_int_equal(session_logout(auth_db, &ctx, bad[i], &ei), ERR_UNAUTHORIZED);
        assert_int_equal(ei.code, ERR_UNAUTHORIZED);
    }
    assert_int_equal(auth_head_seq(), before);
    assert_false(db_in_transaction(auth_db));
}

static int64_t auth_last_seen(const char *token)
{
    char th[65];
    auth_token_hash(token, th);
    return auth_scalar("SELECT last_seen FROM sessions WHERE token_hash = ?", th);
}

static void test_session_idle_and_logout(void **state)
{
    char token[SESSION_TOKEN_LEN + 1], th[65];
    errinfo ei = {0};
    user c, v;
    int64_t seen, before;
    json_t *ev;
    (void)state;
    auth_new_user("ss", "technician", &c);
    auth_login_ok(c.username, AUTH_PW, token, NULL);
    seen = auth_last_seen(token);

    /* Idle longer than the time-out: refused. */
    auth_sleep_ms(10);
    err_clear(&ei);
    assert_int_equal(session_lookup(auth_db, token, 1, &v, &ei), ERR_UNAUTHORIZED);
    assert_non_null(strstr(ei.message, "expired"));
    assert_int_equal(auth_last_seen(token), seen);

    /* Within a longer time-out: fine; last_seen is refreshed only once a quarter of
     * the time-out (at most 5 s) has passed, so that reads stay reads. */
    assert_int_equal(session_lookup(auth_db, token, AUTH_IDLE_US, &v, &ei), ERR_OK);
    assert_string_equal(v.id, c.id);
    assert_int_equal(auth_last_seen(token), seen);
    auth_sleep_ms(300);
    assert_int_equal(session_lookup(auth_db, token, 1000000, &v, &ei), ERR_OK);
    assert_true(auth_last_seen(token) > seen);

    /* Signing out ends it, once. */
    audit_ctx ctx = {c.id, c.username, "192.0.2.9"};
    before = auth_head_seq();
    assert_int_equal(session_logout(auth_db, &ctx, token, &ei), ERR_OK);
    ev = auth_newest(c.username, "session.delete", before);
    auth_expect_str(ev, "entity_id", c.id);
    auth_expect_str(ev, "actor_id", c.id);
    auth_expect_str(ev, "source", "192.0.2.9");
    json_decref(ev);
    auth_token_hash(token, th);
    assert_int_equal(
        auth_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = ? AND ended_at IS NOT NULL",
                    th),
        1);
    err_clear(&ei);
    assert_int_equal(session_lookup(auth_db, token, AUTH_IDLE_US, &v, &ei), ERR_UNAUTHORIZED);
    before = auth_head_seq();
    err_clear(&ei);
    assert_int_equal(session_logout(auth_db, &ctx, token, &ei), ERR_UNAUTHORIZED);
    assert_int_equal(ei.code, ERR_UNAUTHORIZED);
    assert_int_equal(auth_head_seq(), before);
    assert_false(db_in_transaction(auth_db));
}

static void test_change_password(void **state)
{
    char token[SESSION_TOKEN_LEN + 1];
    errinfo ei = {0};
    user c, u;
    int64_t before;
    json_t *ev;
    (void)state;
    auth_new_user("cp", "clinician", &c);
    audit_ctx ctx = {c.id, c.username, AUTH_SOURCE};

    before = auth_head_seq();
    err_clear(&ei);
    assert_int_equal(session_change_password(auth_db, &ctx, c.id, NULL, AUTH_WRONG, AUTH_PW2, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "current_password");
    err_clear(&ei);
    assert_int_equal(session_change_password(auth_db, &ctx, c.id, NULL, NULL, AUTH_PW2, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "current_password");
    err_clear(&ei);
    assert_int_equal(session_change_password(auth_db, &ctx, c.id, NULL, AUTH_PW, "short", &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "new_password");
    err_clear(&ei);
    assert_int_equal(session_change_password(auth_db, &ctx, c.id, NULL, AUTH_PW, NULL, &ei),
                     ERR_INVALID);
    assert_string_equal(ei.field, "new_password");
    assert_int_equal(auth_head_seq(), before);

    assert_int_equal(session_change_password(auth_db, &ctx, c.id, NULL, AUTH_PW, AUTH_PW2, &ei),
                     ERR_OK);
    ev = auth_newest(c.username, "user.password", before);
    auth_expect_str(ev, "entity_id", c.id);
    json_decref(ev);
    assert_int_equal(auth_head_seq(), before + 1);

    assert_int_equal(auth_login(c.username, AUTH_PW, token, &u, &ei), ERR_BAD_CREDENTIALS);
    auth_login_ok(c.username, AUTH_PW2, token, &u);
    assert_string_equal(u.id, c.id);
    /* The bad sign-in before the good one is forgotten. */
    assert_int_equal(auth_reload(c.id).failed_logins, 0);
}

/* ----------------------------------------------------------------- audit */

static void test_audit_write_and_record(void **state)
{
    char actor[USER_NAME_MAX + 1];
    errinfo ei = {0};
    int64_t before;
    json_t *ev, *detail;
    audit_ctx anon = {NULL, NULL, NULL};
    (void)state;
    auth_name(actor, sizeof(actor), "aw");
    audit_ctx ctx = {NULL, actor, "203.0.113.5"};

    /* Outside a transaction: refused, nothing written. */
    before = auth_head_seq();
    err_clear(&ei);
    assert_int_equal(audit_write(auth_db, &ctx, "test.write", "thing", "t1", "ok", NULL, &ei),
                     ERR_INTERNAL);
    assert_int_equal(ei.code, ERR_INTERNAL);
    assert_int_equal(auth_head_seq(), before);

    /* Rolled back with its transaction. */
    assert_int_equal(db_begin(auth_db, &ei), ERR_OK);
    assert_int_equal(audit_write(auth_db, &ctx, "test.write", "thing", "t1", "ok", NULL, &ei),
                     ERR_OK);
    assert_int_equal(auth_head_seq(), before + 1);
    db_rollback(auth_db);
    assert_int_equal(auth_head_seq(), before);
    assert_int_equal(auth_count_since(actor, "test.write", before), 0);

    /* Committed with it, two in one transaction numbered in order. */
    assert_int_equal(db_begin(auth_db, &ei), ERR_OK);
    assert_int_equal(audit_write(auth_db, &ctx, "test.write", "thing", "t1", "ok", NULL, &ei),
                     ERR_OK);
    assert_int_equal(audit_write(auth_db, &ctx, "test.write", "thing", "t2", "denied", NULL, &ei),
                     ERR_OK);
    assert_int_equal(db_commit(auth_db, &ei), ERR_OK);
    assert_int_equal(auth_head_seq(), before + 2);
    ev = auth_newest(actor, "test.write", before);
    assert_int_equal(auth_ev_seq(ev), before + 2);
    auth_expect_str(ev, "entity_id", "t2");
    auth_expect_str(ev, "outcome", "denied");
    json_decref(ev);

    /* audit_record: its own transaction; absent fields get their defaults. */
    before = auth_head_seq();
    detail = json_pack("{s:s,s:i}", "b", "x", "a", 1);
    assert_int_equal(audit_record(auth_db, &anon, "test.record", NULL, NULL, "ok", detail, &ei),
                     ERR_OK);
    json_decref(detail);
    assert_false(db_in_transaction(auth_db));
    assert_int_equal(auth_head_seq(), before + 1);
    ev = auth_newest("system", "test.record", before);
    auth_expect_str(ev, "source", "system");
    auth_expect_str(ev, "entity_type", "");
    auth_expect_str(ev, "entity_id", "");
    assert_true(json_is_null(json_object_get(ev, "actor_id")));
    auth_expect_str(json_object_get(ev, "detail"), "b", "x");
    json_decref(ev);
    /* Inside an open transaction audit_record is part of it: rolled back with it. */
    assert_int_equal(db_begin(auth_db, &ei), ERR_OK);
    assert_int_equal(audit_record(auth_db, &ctx, "test.record", NULL, NULL, "ok", NULL, &ei),
                     ERR_OK);
    assert_int_equal(db_transaction_depth(auth_db), 1);
    db_rollback(auth_db);
    assert_int_equal(auth_head_seq(), before + 1);
}

/* The stored hashes follow the documented format and link each event to the last. */
static void test_audit_hash_chain(void **state)
{
    char actor[USER_NAME_MAX + 1], head_hash[65];
    errinfo ei = {0};
    struct auth_row r, prev;
    int64_t seq;
    json_t *detail;
    audit_ctx ctx = {NULL, NULL, "203.0.113.6"};
    (void)state;
    auth_name(actor, sizeof(actor), "ah");
    ctx.actor = actor;
    detail = json_pack("{s:i,s:s}", "zeta", 2, "alpha", "\xc2\xb5g/L \"q\"");
    assert_int_equal(audit_record(auth_db, &ctx, "test.hash", "thing", "h1", "ok", detail, &ei),
                     ERR_OK);
    json_decref(detail);
    seq = auth_head_seq();
    assert_true(seq >= 1);

    auth_read_event(seq, &r);
    assert_true(id_valid(r.id, strlen(r.id)));
    /* The detail is stored compact, keys sorted. */
    assert_string_equal(r.detail, "{\"alpha\":\"\xc2\xb5g/L \\\"q\\\"\",\"zeta\":2}");
    assert_string_equal(r.computed, r.hash);
    auth_head_hash(head_hash);
    assert_string_equal(head_hash, r.hash);
    if (seq == 1) {
        assert_string_equal(r.prev,
                            "0000000000000000000000000000000000000000000000000000000000000000");
    } else {
        auth_read_event(seq - 1, &prev);
        assert_string_equal(prev.computed, prev.hash);
        assert_string_equal(r.prev, prev.hash);
    }
}

static void test_audit_verify_ok(void **state)
{
    audit_verify_result r;
    errinfo ei = {0};
    (void)state;
    /* Hold the head so that nothing is appended between the count and the check. */
    assert_int_equal(db_begin(auth_db, &ei), ERR_OK);
    auth_run("UPDATE audit_head SET seq = seq WHERE id = 1");
    int64_t rows = auth_scalar("SELECT COUNT(*) FROM audit_event", NULL);
    assert_true(rows >= 20); /* the tests above wrote at least that many */
    memset(&r, 0xff, sizeof(r));
    assert_int_equal(audit_verify(auth_db, &r, &ei), ERR_OK);
    if (!r.ok)
        fail_msg("audit trail broken at %lld: %s", (long long)r.seq, r.problem);
    assert_int_equal(r.events, rows);
    assert_int_equal(auth_head_seq(), rows);
    assert_int_equal(auth_scalar("SELECT MAX(seq) FROM audit_event", NULL), rows);
    assert_int_equal(auth_scalar("SELECT MIN(seq) FROM audit_event", NULL), 1);
    db_rollback(auth_db);
}

static void test_audit_list(void **state)
{
    static const struct {
        const char *action, *entity_id, *outcome;
    } evs[] = {
        {"t.alpha", "e-1", "ok"}, {"t.beta", "e-2", "failed"}, {"t.alpha", "e-1", "denied"},
        {"t.beta", "e-3", "ok"},  {"t.alpha", "e-2", "ok"},
    };
    char actor[USER_NAME_MAX + 1], other[USER_NAME_MAX + 1];
    errinfo ei = {0};
    int64_t seqs[5], t1 = 0, t2 = 0, next, before;
    json_t *items, *detail;
    (void)state;
    auth_name(actor, sizeof(actor), "al");
    auth_name(other, sizeof(other), "al2");
    audit_ctx ctx = {NULL, actor, "198.51.100.1"};
    audit_ctx octx = {NULL, other, "198.51.100.2"};

    before = auth_head_seq();
    for (int i = 0; i < 5; i++) {
        if (i == 2 || i == 4) {
            /* Time boundaries strictly between events. */
            auth_sleep_ms(3);
            if (i == 2)
                t1 = time_now_us();
            else
                t2 = time_now_us();
            auth_sleep_ms(3);
        }
        detail = json_pack("{s:i}", "n", i);
        assert_int_equal(audit_record(auth_db, &ctx, evs[i].action, "thing", evs[i].entity_id,
                                      evs[i].outcome, detail, &ei),
                         ERR_OK);
        json_decref(detail);
        seqs[i] = auth_head_seq();
        /* Another actor's events in between must not show up under ours. */
        assert_int_equal(audit_record(auth_db, &octx, evs[i].action, "thing", evs[i].entity_id,
                                      evs[i].outcome, NULL, &ei),
                         ERR_OK);
    }
    assert_int_equal(auth_head_seq(), before + 10);

    /* Everything of the actor, newest first, with every field. */
    audit_filter all = {.actor = actor, .limit = 100};
    items = auth_list(&all, &next);
    assert_int_equal(json_array_size(items), 5);
    assert_int_equal(next, 0);
    for (size_t k = 0; k < 5; k++) {
        json_t *ev = json_array_get(items, k);
        int i = 4 - (int)k;
        const char *id = json_string_value(json_object_get(ev, "id"));
        const char *at = json_string_value(json_object_get(ev, "at"));
        const char *hash = json_string_value(json_object_get(ev, "hash"));
        assert_int_equal(auth_ev_seq(ev), seqs[i]);
        auth_expect_str(ev, "actor", actor);
        auth_expect_str(ev, "action", evs[i].action);
        auth_expect_str(ev, "entity_type", "thing");
        auth_expect_str(ev, "entity_id", evs[i].entity_id);
        auth_expect_str(ev, "outcome", evs[i].outcome);
        auth_expect_str(ev, "source", "198.51.100.1");
        assert_true(json_is_null(json_object_get(ev, "actor_id")));
        assert_int_equal(json_integer_value(json_object_get(json_object_get(ev, "detail"), "n")),
                         i);
        assert_non_null(id);
        assert_true(id_valid(id, strlen(id)));
        assert_non_null(at);
        assert_int_equal(strlen(at), TIME_ISO_LEN - 1);
        assert_int_equal(at[strlen(at) - 1], 'Z');
        assert_non_null(hash);
        assert_int_equal(strlen(hash), 64);
    }
    json_decref(items);

    /* Filters, alone and together. */
    const struct {
        audit_filter f;
        int want[5], n;
    } cases[] = {
        {{.actor = actor, .action = "t.alpha", .limit = 100}, {4, 2, 0}, 3},
        {{.actor = actor, .action = "t.beta", .limit = 100}, {3, 1}, 2},
        {{.actor = actor, .outcome = "failed", .limit = 100}, {1}, 1},
        {{.actor = actor, .outcome = "ok", .limit = 100}, {4, 3, 0}, 3},
        {{.actor = actor, .entity_id = "e-1", .limit = 100}, {2, 0}, 2},
        {{.actor = actor, .entity_type = "thing", .limit = 100}, {4, 3, 2, 1, 0}, 5},
        {{.actor = actor, .entity_type = "other", .limit = 100}, {0}, 0},
        {{.actor = actor, .action = "t.alpha", .entity_id = "e-2", .limit = 100}, {4}, 1},
        {{.actor = actor, .action = "t.alpha", .outcome = "denied", .limit = 100}, {2}, 1},
        {{.actor = actor, .from = t1, .limit = 100}, {4, 3, 2}, 3},
        {{.actor = actor, .to = t2, .limit = 100}, {3, 2, 1, 0}, 4},
        {{.actor = actor, .from = t1, .to = t2, .limit = 100}, {3, 2}, 2},
        {{.actor = actor, .before_seq = 0, .limit = 100}, {4, 3, 2, 1, 0}, 5},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        items = auth_list(&cases[c].f, &next);
        if ((int)json_array_size(items) != cases[c].n)
            fail_msg("case %zu: %zu events, want %d", c, json_array_size(items), cases[c].n);
        for (int k = 0; k < cases[c].n; k++)
            assert_int_equal(auth_ev_seq(json_array_get(items, (size_t)k)), seqs[cases[c].want[k]]);
        assert_int_equal(next, 0);
        json_decref(items);
    }
    /* from and to are inclusive, to the microsecond. */
    {
        int64_t at2 = auth_event_at(seqs[2]), at3 = auth_event_at(seqs[3]);
        assert_true(at2 > t1 && at3 >= at2 && at3 < t2);
        audit_filter edge = {.actor = actor, .from = at2, .to = at3, .limit = 100};
        items = auth_list(&edge, &next);
        assert_int_equal(json_array_size(items), 2);
        assert_int_equal(auth_ev_seq(json_array_get(items, 0)), seqs[3]);
        assert_int_equal(auth_ev_seq(json_array_get(items, 1)), seqs[2]);
        json_decref(items);
        if (at3 > at2) {
            edge.to = at3 - 1;
            items = auth_list(&edge, &next);
            assert_int_equal(json_array_size(items), 1);
            assert_int_equal(auth_ev_seq(json_array_get(items, 0)), seqs[2]);
            json_decref(items);
            edge.from = at2 + 1;
            edge.to = at3;
            items = auth_list(&edge, &next);
            assert_int_equal(json_array_size(items), 1);
            assert_int_equal(auth_ev_seq(json_array_get(items, 0)), seqs[3]);
            json_decref(items);
        }
    }
    /* The other actor's events are there too, and an unknown actor has none. */
    audit_filter of = {.actor = other, .limit = 100};
    items = auth_list(&of, &next);
    assert_int_equal(json_array_size(items), 5);
    json_decref(items);
    audit_filter none = {.actor = "nobody-at-all-here", .limit = 100};
    items = auth_list(&none, &next);
    assert_int_equal(json_array_size(items), 0);
    assert_int_equal(next, 0);
    json_decref(items);

    /* Pages of two, following the cursor: disjoint, together all five in order. */
    audit_filter pf = {.actor = actor, .limit = 2};
    int64_t got[6];
    int total = 0, pages = 0;
    do {
        items = auth_list(&pf, &next);
        assert_true(json_array_size(items) >= 1 && json_array_size(items) <= 2);
        for (size_t k = 0; k < json_array_size(items); k++) {
            assert_true(total < 5);
            got[total++] = auth_ev_seq(json_array_get(items, k));
        }
        if (next)
            assert_int_equal(next, got[total - 1]);
        json_decref(items);
        pf.before_seq = next;
        pages++;
    } while (next && pages < 10);
    assert_int_equal(pages, 3);
    assert_int_equal(total, 5);
    for (int k = 0; k < 5; k++)
        assert_int_equal(got[k], seqs[4 - k]);

    /* limit is clamped to 1..500. */
    audit_filter one = {.actor = actor, .limit = 0};
    items = auth_list(&one, &next);
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(auth_ev_seq(json_array_get(items, 0)), seqs[4]);
    assert_int_equal(next, seqs[4]);
    json_decref(items);
}

struct auth_writer {
    char actor[USER_NAME_MAX + 1];
    int written;
    err_t rc;
    char message[512];
};

static void *auth_writer_run(void *p)
{
    struct auth_writer *w = p;
    errinfo ei = {0};
    db *d = NULL;
    audit_ctx ctx = {NULL, w->actor, "thread"};
    w->rc = db_open(auth_url, &d, &ei);
    for (int i = 0; !w->rc && i < AUTH_PER_THR; i++) {
        json_t *detail = json_pack("{s:i}", "i", i);
        w->rc = audit_record(d, &ctx, "test.concurrent", "thread", w->actor, "ok", detail, &ei);
        json_decref(detail);
        if (!w->rc)
            w->written++;
    }
    if (w->rc)
        snprintf(w->message, sizeof(w->message), "%s", ei.message);
    db_close(d);
    return NULL;
}

static void test_audit_concurrent(void **state)
{
    struct auth_writer w[AUTH_THREADS];
    pthread_t th[AUTH_THREADS];
    errinfo ei = {0};
    db_stmt *st = NULL;
    bool row = false;
    int64_t before, lo = INT64_MAX, hi = 0, n = 0, next;
    (void)state;
    memset(w, 0, sizeof(w));
    before = auth_head_seq();
    for (int i = 0; i < AUTH_THREADS; i++) {
        char prefix[16];
        snprintf(prefix, sizeof(prefix), "thr%d", i);
        auth_name(w[i].actor, sizeof(w[i].actor), prefix);
        assert_int_equal(pthread_create(&th[i], NULL, auth_writer_run, &w[i]), 0);
    }
    for (int i = 0; i < AUTH_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < AUTH_THREADS; i++) {
        if (w[i].rc)
            fail_msg("writer %d: %s: %s", i, err_name(w[i].rc), w[i].message);
        assert_int_equal(w[i].written, AUTH_PER_THR);
    }
    assert_int_equal(auth_head_seq(), before + AUTH_EVENTS);

    /* The new events hold exactly the numbers before+1 .. before+100, no gaps. */
    assert_int_equal(db_prepare(auth_db,
                                "SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_event"
                                " WHERE action = 'test.concurrent' AND (actor = ? OR actor = ?)",
                                &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_str(st, 1, w[0].actor), ERR_OK);
    assert_int_equal(db_bind_str(st, 2, w[1].actor), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    n = db_col_int64(st, 0);
    lo = db_col_int64(st, 1);
    hi = db_col_int64(st, 2);
    db_finalize(st);
    assert_int_equal(n, AUTH_EVENTS);
    assert_int_equal(lo, before + 1);
    assert_int_equal(hi, before + AUTH_EVENTS);
    assert_int_equal(auth_scalar("SELECT COUNT(*) FROM audit_event", NULL), auth_head_seq());

    /* Time follows the numbering: no event is earlier than the one before it. */
    assert_int_equal(db_prepare(auth_db,
                                "SELECT COUNT(*) FROM audit_event a JOIN audit_event b"
                                " ON b.seq = a.seq + 1 WHERE a.seq >= ? AND b.at < a.at",
                                &st, &ei),
                     ERR_OK);
    assert_int_equal(db_bind_int64(st, 1, before), ERR_OK);
    assert_int_equal(db_step(st, &row, &ei), ERR_OK);
    assert_true(row);
    assert_int_equal(db_col_int64(st, 0), 0);
    db_finalize(st);

    /* Each writer's events are in its own order. */
    for (int i = 0; i < AUTH_THREADS; i++) {
        audit_filter f = {.actor = w[i].actor, .limit = 100};
        json_t *items = auth_list(&f, &next);
        assert_int_equal(json_array_size(items), AUTH_PER_THR);
        for (size_t k = 0; k < AUTH_PER_THR; k++) {
            json_t *d = json_object_get(json_array_get(items, k), "detail");
            assert_int_equal(json_integer_value(json_object_get(d, "i")),
                             AUTH_PER_THR - 1 - (int)k);
        }
        json_decref(items);
    }
    auth_expect_verified();
}

/* --------------------------------------------------------------- tamper */

/*
 * Each tamper test changes the trail inside a transaction on the suite's
 * connection, checks that audit_verify (on the same connection, so it sees the
 * change) names the fault, and rolls back. The head row is locked first so
 * that nothing else appends meanwhile.
 */
static int64_t auth_tamper_begin(void)
{
    errinfo ei = {0};
    int64_t head;
    assert_int_equal(db_begin(auth_db, &ei), ERR_OK);
    auth_run("UPDATE audit_head SET seq = seq WHERE id = 1");
    auth_expect_verified();
    head = auth_head_seq();
    assert_true(head >= 5);
    return head;
}

static void auth_tamper_run(const char *sql, int64_t seq)
{
    errinfo ei = {0};
    int64_t changed = 0;
    err_t rc = db_run(auth_db, &ei, &changed, sql, "i", seq);
    if (rc)
        fail_msg("db_run(%s): %s: %s", sql, err_name(rc), ei.message);
    assert_int_equal(changed, 1);
}

/* audit_verify must say the trail is broken at seq, with want in the problem. */
static void auth_expect_broken(int64_t seq, const char *want)
{
    audit_verify_result r;
    errinfo ei = {0};
    assert_int_equal(audit_verify(auth_db, &r, &ei), ERR_OK);
    if (r.ok)
        fail_msg("tampering not detected (want event %lld: %s)", (long long)seq, want);
    if (r.seq != seq || !strstr(r.problem, want))
        fail_msg("broken at %lld: '%s'; want %lld: '%s'", (long long)r.seq, r.problem,
                 (long long)seq, want);
}

/* Roll back, and the trail verifies again. */
static void auth_tamper_end(void)
{
    db_rollback(auth_db);
    assert_false(db_in_transaction(auth_db));
    auth_expect_verified();
}

static void test_tamper_change_detail(void **state)
{
    char want[128];
    struct auth_row r;
    (void)state;
    int64_t head = auth_tamper_begin(), mid = head / 2;
    auth_read_event(mid, &r);
    auth_tamper_run("UPDATE audit_event SET detail = '{\"tampered\":true}' WHERE seq = ?", mid);
    snprintf(want, sizeof(want), "event %lld (id %s) was changed", (long long)mid, r.id);
    auth_expect_broken(mid, want);
    auth_tamper_end();
}

static void test_tamper_change_time(void **state)
{
    char want[64];
    (void)state;
    int64_t head = auth_tamper_begin(), mid = head / 2 + 1;
    auth_tamper_run("UPDATE audit_event SET at = at + 1 WHERE seq = ?", mid);
    snprintf(want, sizeof(want), "event %lld (id ", (long long)mid);
    auth_expect_broken(mid, want);
    auth_expect_broken(mid, "was changed");
    auth_tamper_end();
}

static void test_tamper_delete_middle(void **state)
{
    char want[64];
    (void)state;
    int64_t head = auth_tamper_begin(), mid = head / 2;
    auth_tamper_run("DELETE FROM audit_event WHERE seq = ?", mid);
    snprintf(want, sizeof(want), "event %lld is missing", (long long)mid);
    auth_expect_broken(mid, want);
    auth_tamper_end();
}

static void test_tamper_delete_last(void **state)
{
    char want[96];
    (void)state;
    int64_t head = auth_tamper_begin();
    auth_tamper_run("DELETE FROM audit_event WHERE seq = ?", head);
    snprintf(want, sizeof(want), "events %lld to %lld were removed from the end", (long long)head,
             (long long)head);
    auth_expect_broken(head, want);
    auth_tamper_end();
}

static void test_tamper_head_hash(void **state)
{
    char want[96];
    (void)state;
    int64_t head = auth_tamper_begin();
    auth_run("UPDATE audit_head SET hash = "
             "'abababababababababababababababababababababababababababababababab' WHERE id = 1");
    snprintf(want, sizeof(want), "the audit head hash does not match event %lld", (long long)head);
    auth_expect_broken(head, want);
    auth_tamper_end();
}

/* Append a row after the last event, chained to it; its hash correct or made up. */
static void auth_append_row(int64_t seq, bool real_hash)
{
    char id[ID_LEN + 1], prev[65], hash[65], seqs[24], ats[24];
    errinfo ei = {0};
    int64_t at = time_now_us();
    err_t rc;
    id_new(id);
    auth_head_hash(prev);
    snprintf(seqs, sizeof(seqs), "%lld", (long long)seq);
    snprintf(ats, sizeof(ats), "%lld", (long long)at);
    const char *f[12] = {seqs, id, ats,      "",   "forger", "x.forged",
                         "",   "", "system", "ok", "{}",     prev};
    if (real_hash)
        auth_event_hash(f, hash);
    else
        snprintf(hash, sizeof(hash), "%s",
                 "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
    rc = db_run(auth_db, &ei, NULL,
                "INSERT INTO audit_event (seq, id, at, actor_id, actor, action, entity_type,"
                " entity_id, source, outcome, detail, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "ititttttttttt", seq, id, at, f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], prev,
                hash);
    if (rc)
        fail_msg("insert: %s: %s", err_name(rc), ei.message);
}

static void test_tamper_insert_extra(void **state)
{
    char want[64];
    (void)state;
    int64_t head = auth_tamper_begin();
    auth_append_row(head + 1, false);
    snprintf(want, sizeof(want), "event %lld (id ", (long long)head + 1);
    auth_expect_broken(head + 1, want);
    auth_expect_broken(head + 1, "was changed");
    auth_tamper_end();
}

/* A well-forged event appended without moving the head is caught by the head. */
static void test_tamper_insert_forged(void **state)
{
    char want[96];
    (void)state;
    int64_t head = auth_tamper_begin();
    auth_append_row(head + 1, true);
    snprintf(want, sizeof(want), "event %lld is not in the audit head", (long long)head + 1);
    auth_expect_broken(head + 1, want);
    auth_tamper_end();
}

/* An event rewritten with a hash that matches its new content breaks the next link. */
static void test_tamper_rehash_middle(void **state)
{
    char want[128], hash[65];
    errinfo ei = {0};
    struct auth_row r, next;
    (void)state;
    int64_t head = auth_tamper_begin(), mid = head / 2;
    auth_read_event(mid + 1, &next);
    auth_tamper_run("UPDATE audit_event SET outcome = 'tampered' WHERE seq = ?", mid);
    auth_read_event(mid, &r);
    memcpy(hash, r.computed, sizeof(hash));
    assert_int_equal(db_run(auth_db, &ei, NULL, "UPDATE audit_event SET hash = ? WHERE seq = ?",
                            "ti", hash, mid),
                     ERR_OK);
    snprintf(want, sizeof(want), "event %lld (id %s) does not follow event %lld",
             (long long)mid + 1, next.id, (long long)mid);
    auth_expect_broken(mid + 1, want);
    auth_tamper_end();
}

/* ---------------------------------------------------- the limit per address */

static void throttle_expect(const char *source, const throttle_limit *lim, int64_t now, err_t want,
                            int64_t want_retry_s)
{
    errinfo ei;
    int64_t retry = -1;
    err_clear(&ei);
    assert_int_equal(throttle_claim(auth_db, source, lim, now, &retry, &ei), want);
    assert_int_equal(retry, want_retry_s);
    if (want == ERR_RATE_LIMITED)
        assert_non_null(strstr(ei.message, "try again in"));
}

/* Three failures at once, then one every 10 s; a success gives its claim
 * back; an address that has waited long enough is forgotten. */
static void test_throttle(void **state)
{
    (void)state;
    const throttle_limit lim = {3, 10000000};
    const int64_t s = 1000000, t0 = 1700000000LL * s;
    char src[64], other[64];
    errinfo ei;
    int64_t rows = -1;
    snprintf(src, sizeof(src), "198.51.100.1-%s", auth_sfx);
    snprintf(other, sizeof(other), "198.51.100.2-%s", auth_sfx);
    for (int i = 0; i < 3; i++)
        throttle_expect(src, &lim, t0, ERR_OK, 0);
    throttle_expect(src, &lim, t0, ERR_RATE_LIMITED, 10); /* owes 30 s, may owe 20 */
    throttle_expect(src, &lim, t0 + 4 * s, ERR_RATE_LIMITED, 6);
    throttle_expect(other, &lim, t0, ERR_OK, 0); /* another address is not held */
    throttle_expect(src, &lim, t0 + 10 * s, ERR_OK, 0);
    throttle_expect(src, &lim, t0 + 10 * s, ERR_RATE_LIMITED, 10);
    /* the attempt that succeeds gives its claim back */
    assert_int_equal(throttle_release(auth_db, src, &lim, t0 + 10 * s, &ei), ERR_OK);
    throttle_expect(src, &lim, t0 + 10 * s, ERR_OK, 0);
    /* long after, a burst again; a release then forgets the address */
    for (int i = 0; i < 3; i++)
        throttle_expect(src, &lim, t0 + 1000 * s, ERR_OK, 0);
    throttle_expect(src, &lim, t0 + 1000 * s, ERR_RATE_LIMITED, 10);
    assert_int_equal(throttle_release(auth_db, src, &lim, t0 + 2000 * s, &ei), ERR_OK);
    assert_int_equal(testdb_scalar(auth_db,
                                   "SELECT COUNT(*) FROM sign_in_throttle WHERE source = ?", src,
                                   &rows, &ei),
                     ERR_OK);
    assert_int_equal(rows, 0);
    /* no limit: nothing is kept */
    const throttle_limit off = {0, 10000000};
    for (int i = 0; i < 10; i++)
        throttle_expect(other, &off, t0, ERR_OK, 0);
}

int main(void)
{
#define AUTH_TAMPER(t) cmocka_unit_test_teardown(t, auth_rollback)
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perm_matrix),
        cmocka_unit_test(test_perm_role_names),
        cmocka_unit_test(test_check_username),
        cmocka_unit_test(test_check_password),
        cmocka_unit_test(test_user_create),
        cmocka_unit_test(test_user_list_json_admins),
        cmocka_unit_test(test_login_ok),
        cmocka_unit_test(test_login_refused),
        cmocka_unit_test(test_lockout),
        cmocka_unit_test(test_failed_count_reset),
        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_sessions_end),
        cmocka_unit_test(test_lockout_parallel),
        cmocka_unit_test(test_lookup_bad_tokens),
        cmocka_unit_test(test_session_idle_and_logout),
        cmocka_unit_test(test_change_password),
        cmocka_unit_test(test_audit_write_and_record),
        cmocka_unit_test(test_audit_hash_chain),
        cmocka_unit_test(test_audit_list),
        cmocka_unit_test(test_audit_concurrent),
        cmocka_unit_test(test_throttle),
        AUTH_TAMPER(test_audit_verify_ok),
        /* Last: each changes the trail in a transaction it rolls back. */
        AUTH_TAMPER(test_tamper_change_detail),
        AUTH_TAMPER(test_tamper_change_time),
        AUTH_TAMPER(test_tamper_delete_middle),
        AUTH_TAMPER(test_tamper_delete_last),
        AUTH_TAMPER(test_tamper_head_hash),
        AUTH_TAMPER(test_tamper_insert_extra),
        AUTH_TAMPER(test_tamper_insert_forged),
        AUTH_TAMPER(test_tamper_rehash_middle),
    };
#undef AUTH_TAMPER
    int failed;
    if (sodium_init() < 0)
        return 1;
    if (!auth_open_suite()) {
        auth_close_suite();
        return 1;
    }
    failed = cmocka_run_group_tests_name(testdb_group("auth"), tests, NULL, NULL);
    auth_close_suite();
    return failed;
}
