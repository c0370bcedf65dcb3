/*
 * competency.c - certifications, the test systems of the competency
 * program, assessments, operators of record and the release gate's
 * competency check (see competency.h).
 */
#include "care/competency.h"

#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/jsonv.h"
#include "base/time.h"
#include "care/care.h"
#include "lab/catalog.h"
#include "lab/instrument.h"
#include "lab/result.h"
#include "store/dbjson.h"

#define SYSTEM_CODE_MAX 64 /* an instrument name is the longest code */
#define SYSTEMS_MAX     8  /* systems that can apply to one result: instrument, class, test */
#define WHY_MAX         256

static const char *const cert_kinds[] = {
    "ASCP", "AMT", "ARRT", "ARDMS", "CCI", "state-licence", "BLS", "ACLS",
};

/* The six CLIA elements, in the order of the table columns. */
static const char *const elements[6] = {
    "direct_observation",      "monitoring_records", "review_worksheets",
    "maintenance_observation", "blind_samples",      "problem_solving",
};
static const char *const element_values[] = {"met", "not-met", "not-applicable"};
static const char *const system_kinds[] = {"instrument", "class", "test"};

/* ---- pure ---- */

bool care_cert_kind_valid(const char *kind)
{
    return !care_enum(kind, cert_kinds, CARE_NFIELDS(cert_kinds), "kind", NULL);
}

bool care_competency_first_year(const char *first_on, const char *assessed_on)
{
    char year_after[11];
    if (!first_on || strcmp(first_on, assessed_on) >= 0)
        return true;
    if (!care_date_add_months(first_on, 12, year_after))
        return false;
    return strcmp(assessed_on, year_after) < 0;
}

bool care_competency_due(const char *assessed_on, bool first_year, char out[11])
{
    return care_date_add_months(assessed_on,
                                first_year ? CARE_MONTHS_FIRST_YEAR : CARE_MONTHS_LATER, out);
}

bool care_competency_satisfactory(const char *const el[6])
{
    for (int i = 0; i < 6; i++)
        if (!el[i] || !strcmp(el[i], "not-met"))
            return false;
    return !strcmp(el[0], "met");
}

/* ---- SQL ---- */

#define CERT_COLS                                                                                  \
    "SELECT c.id, u.username, c.kind, c.number, c.issuer, c.issued_on, c.expires_on,"              \
    " c.recorded_at, c.recorded_by FROM care_certifications c JOIN users u ON u.id = c.user_id"
#define SYSTEM_COLS                                                                                \
    "SELECT code, kind, name, certification, created_at, created_by FROM care_test_systems"
#define ASSESS_COLS                                                                                \
    "SELECT a.id, u.username, a.system, a.assessed_on, a.direct_observation,"                      \
    " a.monitoring_records, a.review_worksheets, a.maintenance_observation, a.blind_samples,"      \
    " a.problem_solving, a.result, a.first_year, a.due_on, a.assessor, a.notes, a.recorded_at"     \
    " FROM care_assessments a JOIN users u ON u.id = a.user_id"

static const char sql_cert_one[] = CERT_COLS " WHERE c.id = ?";
static const char sql_cert_list[] = CERT_COLS " WHERE (CAST(? AS TEXT) IS NULL OR u.username = ?)"
                                              " ORDER BY c.expires_on DESC, c.recorded_at DESC"
                                              " LIMIT 500";
static const char sql_cert_insert[] =
    "INSERT INTO care_certifications (id, user_id, kind, number, issuer, issued_on, expires_on,"
    " recorded_at, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_system_one[] = SYSTEM_COLS " WHERE code = ?";
static const char sql_system_list[] = SYSTEM_COLS " ORDER BY code LIMIT 500";
static const char sql_system_insert[] =
    "INSERT INTO care_test_systems (code, kind, name, certification, created_at, created_by)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_assess_one[] = ASSESS_COLS " WHERE a.id = ?";
static const char sql_assess_of[] = ASSESS_COLS " WHERE u.username = ? ORDER BY a.assessed_on"
                                                " DESC, a.recorded_at DESC LIMIT 500";
static const char sql_assess_insert[] =
    "INSERT INTO care_assessments (id, user_id, system, assessed_on, direct_observation,"
    " monitoring_records, review_worksheets, maintenance_observation, blind_samples,"
    " problem_solving, result, first_year, due_on, assessor, notes, recorded_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_first_on[] =
    "SELECT MIN(assessed_on) FROM care_assessments WHERE user_id = ? AND system = ?"
    " AND result = 'satisfactory'";
static const char sql_latest[] =
    "SELECT assessed_on, result, due_on FROM care_assessments WHERE user_id = ? AND system = ?"
    " AND assessed_on <= ? ORDER BY assessed_on DESC, recorded_at DESC LIMIT 1";
static const char sql_cert_held[] =
    "SELECT MAX(expires_on), COUNT(*) FROM care_certifications WHERE user_id = ? AND kind = ?"
    " AND issued_on <= ?";
static const char sql_facts[] =
    "SELECT r.test_code, COALESCE(r.instrument, ''), r.resulted_at, r.resulted_by,"
    " (SELECT a.class FROM assets a WHERE a.instrument = r.instrument) FROM results r"
    " WHERE r.id = ?";
static const char sql_systems_for[] =
    "SELECT code, certification FROM care_test_systems WHERE (kind = 'instrument' AND code = ?)"
    " OR (kind = 'class' AND code = ?) OR (kind = 'test' AND CAST(? AS TEXT) = '' AND code = ?)"
    " ORDER BY code";
static const char sql_class_of[] = "SELECT class FROM assets WHERE instrument = ?";
static const char sql_operator_at[] =
    "SELECT user_id FROM care_operators WHERE instrument = ? AND since <= ?"
    " ORDER BY since DESC, id DESC LIMIT 1";
static const char sql_operator_insert[] =
    "INSERT INTO care_operators (id, instrument, user_id, since, recorded_by)"
    " VALUES (?, ?, ?, ?, ?)";
static const char sql_operator_list[] =
    "SELECT o.instrument, u.username, o.since, o.recorded_by FROM care_operators o"
    " LEFT JOIN users u ON u.id = o.user_id WHERE NOT EXISTS (SELECT 1 FROM care_operators o2"
    " WHERE o2.instrument = o.instrument AND (o2.since > o.since OR (o2.since = o.since AND"
    " o2.id > o.id))) ORDER BY o.instrument LIMIT 500";
static const char sql_instrument_kind[] = "SELECT kind FROM instruments WHERE name = ?";
static const char sql_expiring[] =
    "SELECT 'certification', u.username, c.kind, c.expires_on FROM care_certifications c"
    " JOIN users u ON u.id = c.user_id WHERE u.disabled = 0 AND c.expires_on <= ? AND NOT EXISTS"
    " (SELECT 1 FROM care_certifications c2 WHERE c2.user_id = c.user_id AND c2.kind = c.kind"
    " AND (c2.expires_on > c.expires_on OR (c2.expires_on = c.expires_on AND c2.id > c.id)))"
    " UNION ALL SELECT 'competency', u.username, a.system, a.due_on FROM care_assessments a"
    " JOIN users u ON u.id = a.user_id WHERE u.disabled = 0 AND a.due_on <= ? AND NOT EXISTS"
    " (SELECT 1 FROM care_assessments a2 WHERE a2.user_id = a.user_id AND a2.system = a.system"
    " AND (a2.assessed_on > a.assessed_on OR (a2.assessed_on = a.assessed_on AND a2.id > a.id)))"
    " ORDER BY 4, 2, 3 LIMIT 500";
static const char sql_instruments_of_class[] =
    "SELECT instrument FROM assets WHERE class = ? AND instrument IS NOT NULL";
static const char sql_systems_needing[] =
    "SELECT code, kind FROM care_test_systems WHERE certification = ?";

/* ---- rows ---- */

static json_t *cert_row(db_stmt *st)
{
    char today[11];
    care_today(today);
    bool valid = strcmp(db_col_text(st, 5), today) <= 0 && strcmp(db_col_text(st, 6), today) >= 0;
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:s}", "id", db_col_text(st, 0), "user",
                     db_col_text(st, 1), "kind", db_col_text(st, 2), "number", db_col_text(st, 3),
                     "issuer", db_col_text(st, 4), "issued_on", db_col_text(st, 5), "expires_on",
                     db_col_text(st, 6), "valid", valid, "recorded_at", db_col_json_time(st, 7),
                     "recorded_by", db_col_text(st, 8));
}

static json_t *system_row(db_stmt *st)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "code", db_col_text(st, 0), "kind",
                     db_col_text(st, 1), "name", db_col_text(st, 2), "certification",
                     db_col_json_text(st, 3), "created_at", db_col_json_time(st, 4), "created_by",
                     db_col_text(st, 5));
}

static json_t *assess_row(db_stmt *st)
{
    json_t *el = json_object();
    for (int i = 0; el && i < 6; i++)
        json_object_set_new(el, elements[i], json_string(db_col_text(st, 4 + i)));
    return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:b,s:s,s:s,s:o,s:o}", "id", db_col_text(st, 0),
                     "user", db_col_text(st, 1), "system", db_col_text(st, 2), "assessed_on",
                     db_col_text(st, 3), "elements", el, "result", db_col_text(st, 10),
                     "first_year", db_col_int64(st, 11) != 0, "due_on", db_col_text(st, 12),
                     "assessor", db_col_text(st, 13), "notes", db_col_json_text(st, 14),
                     "recorded_at", db_col_json_time(st, 15));
}

static json_t *operator_row(db_stmt *st)
{
    return json_pack("{s:s,s:o,s:o,s:s}", "instrument", db_col_text(st, 0), "user",
                     db_col_json_text(st, 1), "since", db_col_json_time(st, 2), "recorded_by",
                     db_col_text(st, 3));
}

/* ---- competence ---- */

/* A test system that applies, and the certification it requires ("" none). */
struct system_ref {
    char code[SYSTEM_CODE_MAX + 1];
    char cert[CARE_CODE_MAX + 1];
};

/* The systems of the program that apply to a result of test from inst
 * ("" by hand) whose device is of class cls ("" none). */
static err_t systems_for(db *d, const char *inst, const char *cls, const char *test,
                         struct system_ref *out, size_t *n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    *n = 0;
    err_t rc = db_query(d, &st, ei, sql_systems_for, "tttt", inst, cls, inst, test);
    while (!rc && *n < SYSTEMS_MAX && !(rc = db_step(st, &row, ei)) && row) {
        snprintf(out[*n].code, sizeof(out[*n].code), "%s", db_col_text(st, 0));
        snprintf(out[*n].cert, sizeof(out[*n].cert), "%s",
                 db_col_null(st, 1) ? "" : db_col_text(st, 1));
        (*n)++;
    }
    db_finalize(st);
    return rc;
}

/* Why user_id is not competent for system s on day today, into why ("" when
 * competent); *due the date the latest assessment is due ("" none). */
static err_t lacks(db *d, const char *user_id, const struct system_ref *s, const char *today,
                   char *why, size_t n, char due[11], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    why[0] = due[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_latest, "ttt", user_id, s->code, today);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && !row)
        snprintf(why, n, "no competency assessment on record for %s", s->code);
    if (!rc && row) {
        const char *on = db_col_text(st, 0);
        snprintf(due, 11, "%s", db_col_text(st, 2));
        if (!strcmp(db_col_text(st, 1), "unsatisfactory"))
            snprintf(why, n, "the competency assessment for %s of %s was unsatisfactory", s->code,
                     on);
        else if (strcmp(due, today) < 0)
            snprintf(why, n, "competency for %s expired: assessed %s, due again by %s", s->code, on,
                     due);
    }
    db_finalize(st);
    st = NULL;
    if (rc || why[0] || !s->cert[0])
        return rc;
    rc = db_query(d, &st, ei, sql_cert_held, "ttt", user_id, s->cert, today);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && (!row || db_col_int64(st, 1) == 0))
        snprintf(why, n, "holds no %s certification, which %s requires", s->cert, s->code);
    else if (!rc && strcmp(db_col_text(st, 0), today) < 0)
        snprintf(why, n, "the %s certification %s requires expired on %s", s->cert, s->code,
                 db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

/* Whether user_id is competent for one of systems[0..count) on the day of
 * at; when not, the reasons joined by "; " into why. */
static err_t judge(db *d, const char *user_id, const struct system_ref *systems, size_t count,
                   int64_t at, char *why, size_t n, bool *competent, errinfo *ei)
{
    char today[11];
    size_t used = 0;
    err_t rc = ERR_OK;
    time_format_date(at, today);
    *competent = count == 0;
    why[0] = '\0';
    for (size_t i = 0; !rc && !*competent && i < count; i++) {
        char one[WHY_MAX], due[11];
        rc = lacks(d, user_id, &systems[i], today, one, sizeof(one), due, ei);
        if (!rc && !one[0])
            *competent = true;
        else if (!rc && used < n) {
            int k = snprintf(why + used, n - used, "%s%s", used ? "; " : "", one);
            used += k > 0 ? (size_t)k : 0;
        }
    }
    if (*competent)
        why[0] = '\0';
    return rc;
}

/* The operator of record of inst at time at into op (user id; "" none). */
static err_t operator_at(db *d, const char *inst, int64_t at, char op[ID_LEN + 1], errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    op[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_operator_at, "ti", inst, at);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row && !db_col_null(st, 0))
        snprintf(op, ID_LEN + 1, "%s", db_col_text(st, 0));
    db_finalize(st);
    return rc;
}

/* The asset class of the device linked to inst into cls ("" none). */
static err_t class_of(db *d, const char *inst, char cls[EQUIP_CLASS_MAX + 1], errinfo *ei)
{
    return care_text_of(d, sql_class_of, inst, cls, EQUIP_CLASS_MAX + 1, NULL, ei);
}

err_t care_competency_gate(db *d, const char *result_id, const char *user_id, int64_t now,
                           char *why, size_t n, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false, competent = true;
    char test[CATALOG_CODE_MAX + 1] = "", inst[SYSTEM_CODE_MAX + 1] = "";
    char cls[EQUIP_CLASS_MAX + 1] = "", by[USER_NAME_MAX + 16] = "", who[ID_LEN + 1] = "";
    char reasons[WHY_MAX] = "";
    struct system_ref systems[SYSTEMS_MAX];
    size_t count = 0;
    int64_t resulted_at = 0;
    user u;
    why[0] = '\0';
    err_t rc = db_query(d, &st, ei, sql_facts, "t", result_id);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row) {
        snprintf(test, sizeof(test), "%s", db_col_text(st, 0));
        snprintf(inst, sizeof(inst), "%s", db_col_text(st, 1));
        resulted_at = db_col_int64(st, 2);
        snprintf(by, sizeof(by), "%s", db_col_text(st, 3));
        snprintf(cls, sizeof(cls), "%s", db_col_null(st, 4) ? "" : db_col_text(st, 4));
    }
    db_finalize(st);
    if (!rc && row)
        rc = systems_for(d, inst, cls, test, systems, &count, ei);
    if (rc || !row || count == 0)
        return rc;
    if (user_id)
        snprintf(who, sizeof(who), "%s", user_id);
    else if (inst[0])
        rc = operator_at(d, inst, resulted_at, who, ei);
    if (!rc && !who[0]) {
        /* no one signed on: a person who entered the result is its operator */
        errinfo e2 = {0};
        if (!user_get_by_name(d, by, &u, &e2))
            snprintf(who, sizeof(who), "%s", u.id);
    }
    if (rc)
        return rc;
    if (!who[0]) {
        snprintf(why, n, "no operator of record was signed on to %s when the result was measured",
                 inst[0] ? inst : test);
        return ERR_OK;
    }
    rc = user_get(d, who, &u, ei);
    if (!rc)
        rc = judge(d, who, systems, count, now, reasons, sizeof(reasons), &competent, ei);
    if (!rc && !competent)
        snprintf(why, n, "%s%s is not competent: %s", user_id ? "" : "the operator of record ",
                 u.username, reasons);
    return rc;
}

/* ---- looking again at held results ---- */

/* Run automatic verification again on the results from inst (test NULL:
 * every test; inst "" the manual bench) that wait for review. */
static err_t recheck(db *d, const audit_ctx *ctx, const char *test, const char *inst, errinfo *ei)
{
    json_t *released = NULL;
    err_t rc = result_recheck(d, ctx, test, inst, &released, ei);
    json_decref(released);
    return rc;
}

/* Run automatic verification again on the results waiting on system code
 * of kind: after a record that may make someone competent. */
static err_t recheck_system(db *d, const audit_ctx *ctx, const char *code, const char *kind,
                            errinfo *ei)
{
    json_t *insts = NULL, *v;
    size_t i;
    err_t rc;
    if (!strcmp(kind, "test"))
        return recheck(d, ctx, code, "", ei);
    if (!strcmp(kind, "instrument"))
        return recheck(d, ctx, NULL, code, ei);
    db_stmt *st = NULL;
    bool row = false;
    insts = json_array();
    rc = insts ? db_query(d, &st, ei, sql_instruments_of_class, "t", code) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(insts, json_string(db_col_text(st, 0)));
    db_finalize(st);
    json_array_foreach(insts, i, v)
    {
        if (!rc)
            rc = recheck(d, ctx, NULL, json_string_value(v), ei);
    }
    json_decref(insts);
    return rc;
}

/* The systems that need certifications of kind: each checked again. */
static err_t recheck_certified(db *d, const audit_ctx *ctx, const char *kind, errinfo *ei)
{
    db_stmt *st = NULL;
    bool row = false;
    json_t *systems = json_array(), *s;
    size_t i;
    err_t rc = systems ? db_query(d, &st, ei, sql_systems_needing, "t", kind) : ERR_NOMEM;
    while (!rc && !(rc = db_step(st, &row, ei)) && row)
        json_array_append_new(systems, json_pack("[s,s]", db_col_text(st, 0), db_col_text(st, 1)));
    db_finalize(st);
    json_array_foreach(systems, i, s)
    {
        if (!rc)
            rc = recheck_system(d, ctx, json_string_value(json_array_get(s, 0)),
                                json_string_value(json_array_get(s, 1)), ei);
    }
    json_decref(systems);
    return rc;
}

/* ---- certifications ---- */

static const jsonv_field cert_fields[] = {
    {"user", JSONV_STRING, true, USER_NAME_MAX},   {"kind", JSONV_STRING, true, CARE_CODE_MAX},
    {"number", JSONV_STRING, true, CARE_TEXT_MAX}, {"issuer", JSONV_STRING, true, CARE_TEXT_MAX},
    {"issued_on", JSONV_STRING, true, 10},         {"expires_on", JSONV_STRING, true, 10},
};

err_t care_cert_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    user u;
    char id[ID_LEN + 1], today[11];
    *out = NULL;
    err_t rc = jsonv_check(body, cert_fields, CARE_NFIELDS(cert_fields), ei);
    const char *kind = jsonv_str(body, "kind"), *number = jsonv_str(body, "number");
    const char *issuer = jsonv_str(body, "issuer"), *issued = jsonv_str(body, "issued_on");
    const char *expires = jsonv_str(body, "expires_on");
    if (!rc)
        rc = care_enum(kind, cert_kinds, CARE_NFIELDS(cert_kinds), "kind", ei);
    if (!rc)
        rc = care_text(number, "number", ei);
    if (!rc)
        rc = care_text(issuer, "issuer", ei);
    if (!rc)
        rc = care_date(issued, "issued_on", true, ei);
    if (!rc)
        rc = care_date(expires, "expires_on", false, ei);
    care_today(today);
    if (!rc && strcmp(expires, issued) <= 0)
        rc = err_set(ei, ERR_INVALID, "expires_on", "expires_on (%s) must be after issued_on (%s)",
                     expires, issued);
    if (!rc && strcmp(expires, today) < 0)
        rc = err_set(ei, ERR_INVALID, "expires_on",
                     "this %s certification expired on %s: record the renewed one", kind, expires);
    if (!rc)
        rc = care_user(d, jsonv_str(body, "user"), "user", &u, ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    id_new(id);
    rc = db_run(d, ei, NULL, sql_cert_insert, "tttttttit", id, u.id, kind, number, issuer, issued,
                expires, time_now_us(), care_actor(ctx));
    if (!rc)
        rc = care_audit(d, ctx, "care.certification.create", "user", u.id,
                        json_pack("{s:s,s:s,s:s,s:s}", "certification", id, "kind", kind, "number",
                                  number, "expires_on", expires),
                        ei);
    if (!rc)
        rc = recheck_certified(d, ctx, kind, ei);
    if (!rc)
        rc = care_get(d, sql_cert_one, id, cert_row, out, "id", "the certification is gone", ei);
    return care_finish(d, rc, out, ei);
}

err_t care_cert_list(db *d, const char *username, json_t **items, errinfo *ei)
{
    db_stmt *st = NULL;
    err_t rc = db_query(d, &st, ei, sql_cert_list, "tt", username, username);
    return db_rows_json(rc, st, cert_row, items, ei);
}

/* ---- test systems ---- */

static const jsonv_field system_fields[] = {
    {"code", JSONV_STRING, true, SYSTEM_CODE_MAX},
    {"kind", JSONV_STRING, true, 16},
    {"name", JSONV_STRING, true, CARE_TEXT_MAX},
    {"certification", JSONV_STRING, false, CARE_CODE_MAX},
};

/* code names something of its kind: an analyzer or point-of-care instrument
 * of the register, an asset class, a test of the catalog. */
static err_t system_target(db *d, const char *code, const char *kind, errinfo *ei)
{
    int64_t n = 0;
    const char *args[] = {code};
    err_t rc = ERR_OK;
    if (!strcmp(kind, "class"))
        return equip_class_valid(code)
                   ? ERR_OK
                   : err_set(ei, ERR_INVALID, "code", "code: %s is not an asset class (%s)", code,
                             equip_class_names());
    if (!strcmp(kind, "instrument"))
        rc = care_count(d,
                        "SELECT COUNT(*) FROM instruments WHERE name = ? AND kind IN"
                        " ('analyzer', 'poc')",
                        args, 1, &n, ei);
    else
        rc = care_count(d, "SELECT COUNT(*) FROM tests WHERE code = ?", args, 1, &n, ei);
    if (!rc && n == 0)
        rc = err_set(ei, ERR_INVALID, "code", "code: %s is not %s", code,
                     !strcmp(kind, "instrument") ? "an analyzer or point-of-care instrument"
                                                 : "a test of the catalog");
    return rc;
}

err_t care_system_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei)
{
    *out = NULL;
    err_t rc = jsonv_check(body, system_fields, CARE_NFIELDS(system_fields), ei);
    const char *code = jsonv_str(body, "code"), *kind = jsonv_str(body, "kind");
    const char *name = jsonv_str(body, "name"), *cert = jsonv_str(body, "certification");
    if (!rc)
        rc = care_enum(kind, system_kinds, CARE_NFIELDS(system_kinds), "kind", ei);
    if (!rc)
        rc = care_text(name, "name", ei);
    if (!rc && cert)
        rc = care_enum(cert, cert_kinds, CARE_NFIELDS(cert_kinds), "certification", ei);
    if (!rc)
        rc = system_target(d, code, kind, ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = db_run(d, ei, NULL, sql_system_insert, "ttttit", code, kind, name, cert, time_now_us(),
                care_actor(ctx));
    if (rc == ERR_CONFLICT)
        rc = err_set(ei, ERR_CONFLICT, "code", "%s is in the competency program already", code);
    if (!rc)
        rc = care_audit(
            d, ctx, "care.system.create", "test_system", code,
            json_pack("{s:s,s:s,s:s?}", "kind", kind, "name", name, "certification", cert), ei);
    if (!rc)
        rc = care_get(d, sql_system_one, code, system_row, out, "code", "the test system is gone",
                      ei);
    return care_finish(d, rc, out, ei);
}

err_t care_system_list(db *d, json_t **items, errinfo *ei)
{
    return care_list(d, sql_system_list, system_row, items, ei);
}

/* ---- assessments ---- */

static const jsonv_field assess_fields[] = {
    {"user", JSONV_STRING, true, USER_NAME_MAX},
    {"system", JSONV_STRING, true, SYSTEM_CODE_MAX},
    {"assessed_on", JSONV_STRING, true, 10},
    {"elements", JSONV_OBJECT, true, 0},
    {"notes", JSONV_STRING, false, CARE_NOTE_MAX},
    {"password", JSONV_STRING, true, USER_PASSWORD_MAX},
};

/* The six elements of body's "elements", checked, into el. */
static err_t check_elements(const json_t *obj, const char *el[6], errinfo *ei)
{
    jsonv_field fields[6];
    errinfo e2 = {0};
    char f[48];
    for (int i = 0; i < 6; i++)
        fields[i] = (jsonv_field){elements[i], JSONV_STRING, true, 16};
    err_t rc = jsonv_check(obj, fields, 6, &e2);
    if (rc) {
        snprintf(f, sizeof(f), "elements.%.30s", e2.field);
        return err_set(ei, rc, f, "elements: %.400s", e2.message);
    }
    for (int i = 0; i < 6; i++) {
        el[i] = jsonv_str(obj, elements[i]);
        snprintf(f, sizeof(f), "elements.%s", elements[i]);
        rc = care_enum(el[i], element_values, CARE_NFIELDS(element_values), f, ei);
        if (rc)
            return rc;
    }
    if (!strcmp(el[0], "not-applicable"))
        return err_set(ei, ERR_INVALID, "elements.direct_observation",
                       "elements.direct_observation: routine testing is always observed");
    return ERR_OK;
}

err_t care_assessment_create(db *d, const audit_ctx *ctx, const user *u, const json_t *body,
                             json_t **out, errinfo *ei)
{
    const char *el[6] = {NULL};
    char id[ID_LEN + 1], due[11], first_on[11] = "", kind[16] = "";
    db_stmt *st = NULL;
    bool row = false;
    user who;
    *out = NULL;
    err_t rc = jsonv_check(body, assess_fields, CARE_NFIELDS(assess_fields), ei);
    const char *system = jsonv_str(body, "system"), *on = jsonv_str(body, "assessed_on");
    const char *notes = jsonv_str(body, "notes");
    if (!rc)
        rc = check_elements(json_object_get(body, "elements"), el, ei);
    if (!rc)
        rc = care_date(on, "assessed_on", true, ei);
    if (!rc)
        rc = care_text(notes, "notes", ei);
    if (!rc)
        rc = care_user(d, jsonv_str(body, "user"), "user", &who, ei);
    if (!rc && !strcmp(who.id, u->id))
        rc = err_set(ei, ERR_INVALID, "user",
                     "user: a person's competency is assessed by someone else");
    if (!rc) {
        rc = db_query(d, &st, ei, sql_system_one, "t", system);
        if (!rc)
            rc = db_step(st, &row, ei);
        if (!rc && row)
            snprintf(kind, sizeof(kind), "%s", db_col_text(st, 1));
        db_finalize(st);
        st = NULL;
        if (!rc && !row)
            rc = err_set(ei, ERR_INVALID, "system",
                         "system: %.64s is not in the competency program", system);
    }
    rc = care_signed_begin(d, rc, ctx, u, body, ei);
    if (rc)
        return rc;
    rc = db_query(d, &st, ei, sql_first_on, "tt", who.id, system);
    if (!rc)
        rc = db_step(st, &row, ei);
    if (!rc && row && !db_col_null(st, 0))
        snprintf(first_on, sizeof(first_on), "%s", db_col_text(st, 0));
    db_finalize(st);
    bool ok = care_competency_satisfactory(el);
    bool first = care_competency_first_year(first_on[0] ? first_on : NULL, on);
    if (ok)
        care_competency_due(on, first, due);
    else
        snprintf(due, sizeof(due), "%s", on); /* not competent: due again at once */
    id_new(id);
    if (!rc)
        rc =
            db_run(d, ei, NULL, sql_assess_insert, "tttttttttttittti", id, who.id, system, on,
                   el[0], el[1], el[2], el[3], el[4], el[5], ok ? "satisfactory" : "unsatisfactory",
                   (int64_t)first, due, u->username, notes, time_now_us());
    if (!rc)
        rc = care_audit(d, ctx, "care.assessment.create", "user", who.id,
                        json_pack("{s:s,s:s,s:s,s:s,s:s}", "assessment", id, "system", system,
                                  "assessed_on", on, "result",
                                  ok ? "satisfactory" : "unsatisfactory", "due_on", due),
                        ei);
    if (!rc && ok)
        rc = recheck_system(d, ctx, system, kind, ei);
    if (!rc)
        rc = care_get(d, sql_assess_one, id, assess_row, out, "id", "the assessment is gone", ei);
    return care_finish(d, rc, out, ei);
}

/* ---- a person's record, reminders ---- */

err_t care_staff_get(db *d, const char *username, json_t **out, errinfo *ei)
{
    user u;
    db_stmt *st = NULL;
    json_t *certs = NULL, *assessments = NULL, *systems = NULL, *comp = NULL, *s;
    char today[11];
    size_t i;
    *out = NULL;
    err_t rc = user_get_by_name(d, username, &u, ei);
    if (rc == ERR_NOT_FOUND)
        return err_set(ei, ERR_NOT_FOUND, "username", "no user is named %.64s", username);
    if (!rc && !(comp = json_array()))
        rc = ERR_NOMEM;
    if (!rc)
        rc = care_cert_list(d, u.username, &certs, ei);
    if (!rc) {
        rc = db_query(d, &st, ei, sql_assess_of, "t", u.username);
        rc = db_rows_json(rc, st, assess_row, &assessments, ei);
    }
    if (!rc)
        rc = care_system_list(d, &systems, ei);
    care_today(today);
    json_array_foreach(systems, i, s)
    {
        struct system_ref ref;
        char why[WHY_MAX], due[11];
        const char *cert = jsonv_str(s, "certification");
        if (rc)
            break;
        snprintf(ref.code, sizeof(ref.code), "%s", jsonv_str(s, "code"));
        snprintf(ref.cert, sizeof(ref.cert), "%s", cert ? cert : "");
        rc = lacks(d, u.id, &ref, today, why, sizeof(why), due, ei);
        if (!rc &&
            json_array_append_new(
                comp, json_pack("{s:s,s:s,s:s,s:b,s:o,s:o}", "system", ref.code, "name",
                                jsonv_str(s, "name"), "kind", jsonv_str(s, "kind"), "competent",
                                !why[0], "due_on", due[0] ? json_string(due) : json_null(),
                                "reason", why[0] ? json_string(why) : json_null())))
            rc = ERR_NOMEM;
    }
    if (!rc)
        *out = json_pack("{s:s,s:s,s:s,s:O,s:O,s:O}", "user", u.username, "display_name",
                         u.display_name, "role", perm_role_name(u.role), "certifications", certs,
                         "assessments", assessments, "competency", comp);
    if (!rc && !*out)
        rc = ERR_NOMEM;
    json_decref(certs);
    json_decref(assessments);
    json_decref(systems);
    json_decref(comp);
    return rc;
}

static json_t *expiring_row(db_stmt *st)
{
    char today[11];
    care_today(today);
    int64_t left = care_date_diff(today, db_col_text(st, 3));
    return json_pack("{s:s,s:s,s:s,s:s,s:I,s:b}", "type", db_col_text(st, 0), "user",
                     db_col_text(st, 1), "what", db_col_text(st, 2), "date", db_col_text(st, 3),
                     "days_left", (json_int_t)left, "expired", left < 0);
}

err_t care_expiring(db *d, int within, json_t **items, errinfo *ei)
{
    char today[11], until[11];
    int64_t y = 0;
    int m = 0, day = 0;
    db_stmt *st = NULL;
    *items = NULL;
    if (within < 0 || within > 366)
        return err_set(ei, ERR_INVALID, "within", "within must be 0 to 366 days");
    care_today(today);
    time_civil_from_days(care_date_diff("1970-01-01", today) + within, &y, &m, &day);
    snprintf(until, sizeof(until), "%04d-%02d-%02d", (int)y, m, day);
    err_t rc = db_query(d, &st, ei, sql_expiring, "tt", until, until);
    return db_rows_json(rc, st, expiring_row, items, ei);
}

/* ---- operators of record ---- */

static const jsonv_field operator_fields[] = {
    {"instrument", JSONV_STRING, true, SYSTEM_CODE_MAX},
    {"user", JSONV_STRING, false, USER_NAME_MAX},
};

/* inst is an analyzer or point-of-care instrument of the register. */
static err_t runs_tests(db *d, const char *inst, const char *field, errinfo *ei)
{
    bool row = false;
    char kind[16] = "";
    err_t rc = care_text_of(d, sql_instrument_kind, inst, kind, sizeof(kind), &row, ei);
    if (!rc && !row)
        rc = err_set(ei, ERR_INVALID, field, "%s: no instrument is named %.64s", field, inst);
    if (!rc && strcmp(kind, "analyzer") && strcmp(kind, "poc"))
        rc = err_set(ei, ERR_INVALID, field,
                     "%s: %s is a%s %s, not an analyzer or point-of-care device", field, inst,
                     kind[0] == 'e' ? "n" : "", kind);
    return rc;
}

err_t care_operator_sign_on(db *d, const audit_ctx *ctx, const user *u, bool may_name,
                            const json_t *body, json_t **out, errinfo *ei)
{
    user who = *u;
    char id[ID_LEN + 1], cls[EQUIP_CLASS_MAX + 1] = "", why[WHY_MAX] = "", since[TIME_ISO_LEN];
    struct system_ref systems[SYSTEMS_MAX];
    size_t count = 0;
    bool competent = true;
    int64_t now = time_now_us();
    *out = NULL;
    err_t rc = jsonv_check(body, operator_fields, CARE_NFIELDS(operator_fields), ei);
    const char *inst = jsonv_str(body, "instrument"), *name = jsonv_str(body, "user");
    if (!rc)
        rc = runs_tests(d, inst, "instrument", ei);
    if (!rc && name && strcmp(name, u->username)) {
        if (!may_name)
            rc = err_set(ei, ERR_FORBIDDEN, "user",
                         "user: only a supervisor signs someone else on to an instrument");
        else
            rc = care_user(d, name, "user", &who, ei);
    }
    if (!rc && (who.role == ROLE_INTERFACE || who.role == ROLE_CLINICIAN))
        rc = err_set(ei, ERR_INVALID, "user", "user: %s is not bench staff", who.username);
    if (!rc)
        rc = class_of(d, inst, cls, ei);
    if (!rc)
        rc = systems_for(d, inst, cls, "", systems, &count, ei);
    if (!rc)
        rc = judge(d, who.id, systems, count, now, why, sizeof(why), &competent, ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    id_new(id);
    rc = db_run(d, ei, NULL, sql_operator_insert, "tttit", id, inst, who.id, now, care_actor(ctx));
    if (!rc)
        rc = care_audit(d, ctx, "care.operator.sign-on", "instrument", inst,
                        json_pack("{s:s,s:b}", "user", who.username, "competent", competent), ei);
    time_format_iso(now, since);
    if (!rc && !(*out = json_pack("{s:s,s:s,s:s,s:b,s:o}", "instrument", inst, "user", who.username,
                                  "since", since, "competent", competent, "reason",
                                  why[0] ? json_string(why) : json_null())))
        rc = ERR_NOMEM;
    return care_finish(d, rc, out, ei);
}

err_t care_operator_sign_off(db *d, const audit_ctx *ctx, const char *inst, errinfo *ei)
{
    char op[ID_LEN + 1] = "", id[ID_LEN + 1];
    int64_t now = time_now_us();
    err_t rc = runs_tests(d, inst, "instrument", ei);
    if (!rc)
        rc = db_begin(d, ei);
    if (rc)
        return rc;
    rc = operator_at(d, inst, now, op, ei);
    if (!rc && !op[0])
        rc = err_set(ei, ERR_CONFLICT, "instrument", "no one is signed on to %s", inst);
    id_new(id);
    if (!rc)
        rc = db_run(d, ei, NULL, sql_operator_insert, "ttnit", id, inst, now, care_actor(ctx));
    if (!rc)
        rc = care_audit(d, ctx, "care.operator.sign-off", "instrument", inst, NULL, ei);
    return care_finish(d, rc, NULL, ei);
}

err_t care_operator_list(db *d, json_t **items, errinfo *ei)
{
    return care_list(d, sql_operator_list, operator_row, items, ei);
}
