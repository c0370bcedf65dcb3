/*
 * h_fhir.c - the FHIR R4 API under /fhir/R4: the CapabilityStatement, read
 * and search of Patient, Practitioner, ServiceRequest, Specimen, Observation,
 * DiagnosticReport and Device, and the creation of a ServiceRequest.
 *
 * server.c hands every /fhir request here with a database connection. This
 * file parses the path and the search parameters (a table of the types
 * served says which permission, search and mapping each takes), signs the
 * client in as the REST API does, asks lab/lookup.h for one page of views
 * (each read audited there) and maps them with proto/fhir.h into a searchset
 * Bundle whose links carry the same parameters. A parameter it does not
 * know, or a value it cannot read, is a 400 naming the parameter: a search
 * that silently ignored a filter would answer with the wrong patients.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/jsonv.h"
#include "base/str.h"
#include "base/time.h"
#include "config.h"
#include "http/handlers.h"
#include "lab/catalog.h"
#include "lab/lookup.h"
#include "lab/order.h"
#include "proto/fhir.h"

#define FHIR_PREFIX      "/fhir/R4"
#define PARAMS_MAX       32 /* query parameters in one request */
#define COUNT_DEFAULT    20 /* resources in a page unless _count says */
#define OFFSET_MAX       1000000000LL
#define STRING_PARAM_MAX 64 /* a string search value, bytes */
#define HOST_MAX         255
#define URL_MAX          4096
#define CREATE_TYPE      "ServiceRequest" /* the one type a client may create */
#define CREATE_PERM      PERM_ORDERS_WRITE

/* What the server does for each resource type. */
struct fhir_type {
    const char *name;
    perm_id perm;
    lookup_kind lookup;
    json_t *(*map)(const json_t *view);
    const char *sort; /* the date parameter _sort takes, NULL when none */
};

static const struct fhir_type types[] = {
    {"Patient", PERM_PATIENTS_READ, LOOKUP_PATIENTS, fhir_patient, NULL},
    {"Practitioner", PERM_PATIENTS_READ, LOOKUP_USERS, fhir_practitioner, NULL},
    {"ServiceRequest", PERM_PATIENTS_READ, LOOKUP_REQUESTS, fhir_service_request, "authored"},
    {"Specimen", PERM_PATIENTS_READ, LOOKUP_SPECIMENS, fhir_specimen, "collected"},
    {"Observation", PERM_PATIENTS_READ, LOOKUP_OBSERVATIONS, fhir_observation, "date"},
    {"DiagnosticReport", PERM_PATIENTS_READ, LOOKUP_REPORTS, fhir_diagnostic_report, "date"},
    {"Device", PERM_EQUIPMENT_READ, LOOKUP_ASSETS, fhir_device, NULL},
};

static const struct fhir_type *type_named(const char *name)
{
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(types[i].name, name))
            return &types[i];
    return NULL;
}

json_t *http_fhir_outcome(err_t code, const char *message, const char *expression)
{
    return fhir_outcome(code, message, expression);
}

/* ------------------------------------------------------------ the request */

/* A search being read: its parameters, what they ask, and the page. */
struct search {
    const struct fhir_type *type;
    http_param params[PARAMS_MAX];
    size_t nparams;
    lookup_query q;
    bool nothing;    /* a filter nothing can match: answer an empty page */
    bool count_only; /* _summary=count */
    bool include;    /* _include given */
    char id[FHIR_ID_MAX + 1], patient[FHIR_ID_MAX + 1], specimen[FHIR_ID_MAX + 1];
    char code[FHIR_CODE_MAX + 1], ident[FHIR_CODE_MAX + 1], type_value[FHIR_CODE_MAX + 1];
    char strings[3][STRING_PARAM_MAX + 1];
};

/* The base URL of this server's FHIR API as the client addressed it. */
static const char *base_url(http_req *r)
{
    const char *host = http_header(r, "Host");
    size_t n = host ? strlen(host) : 0;
    bool ok = n > 0 && n <= HOST_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = host[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    }
    /* A Host header that is no host name is not echoed into links. */
    return arena_printf(&r->a, "%s://%s" FHIR_PREFIX, r->tls ? "https" : "http",
                        ok ? host : "localhost");
}

static err_t url_encode(buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    err_t rc = ERR_OK;
    for (; !rc && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == ':')
            rc = buf_append(b, s, 1);
        else
            rc = buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
    return rc;
}

/* The search's URL with its parameters, _offset set to offset (or left out
 * when negative). New arena string, NULL when out of memory. */
static const char *search_url(http_req *r, const char *base, const struct search *s, int64_t offset)
{
    buf b = BUF_INIT;
    err_t rc = buf_printf(&b, "%s/%s", base, s->type->name);
    char sep = '?';
    for (size_t i = 0; !rc && i < s->nparams; i++) {
        if (!strcmp(s->params[i].key, "_offset"))
            continue;
        rc = buf_printf(&b, "%c", sep);
        if (!rc)
            rc = url_encode(&b, s->params[i].key);
        if (!rc)
            rc = buf_puts(&b, "=");
        if (!rc)
            rc = url_encode(&b, s->params[i].value);
        sep = '&';
    }
    if (!rc && offset > 0)
        rc = buf_printf(&b, "%c_offset=%lld", sep, (long long)offset);
    const char *out = rc || b.len > URL_MAX ? NULL : arena_strdup(&r->a, b.data);
    buf_free(&b);
    return out;
}

/* A reference search value: "Type/id" or "id" (a full URL ending so too). */
static err_t reference_param(http_req *r, const char *param, const char *type, const char *value,
                             char out[FHIR_ID_MAX + 1])
{
    const char *slash = strrchr(value, '/');
    const char *id = slash ? slash + 1 : value;
    size_t tl = strlen(type);
    if (slash && ((size_t)(slash - value) < tl || strncmp(slash - tl, type, tl) ||
                  (slash - tl != value && slash[-(long)tl - 1] != '/')))
        return err_set(&r->ei, ERR_INVALID, param, "%s must refer to a %s: %s/{id}", param, type,
                       type);
    if (!fhir_id_valid(id))
        return err_set(&r->ei, ERR_INVALID, param, "%s: '%.80s' is not a %s id", param, id, type);
    snprintf(out, FHIR_ID_MAX + 1, "%s", id);
    return ERR_OK;
}

/* A token whose system must be sys (or none): the code into out, or
 * s->nothing when another system is named. */
static err_t token_in(http_req *r, struct search *s, const http_param *p, const char *sys,
                      char out[FHIR_CODE_MAX + 1])
{
    const char *system;
    size_t n;
    err_t rc = fhir_token(p->key, p->value, &system, &n, out, &r->ei);
    if (!rc && system && n && (strlen(sys) != n || strncmp(system, sys, n)))
        s->nothing = true;
    return rc;
}

static err_t string_param(http_req *r, struct search *s, const http_param *p, int slot,
                          const char **out)
{
    size_t n = strlen(p->value);
    if (n == 0 || n > STRING_PARAM_MAX || !str_is_text(p->value))
        return err_set(&r->ei, ERR_INVALID, p->key, "%s must be text of 1 to %d bytes", p->key,
                       STRING_PARAM_MAX);
    snprintf(s->strings[slot], sizeof(s->strings[slot]), "%s", p->value);
    *out = s->strings[slot];
    return ERR_OK;
}

static err_t status_param(http_req *r, struct search *s, const http_param *p)
{
    const char *system;
    size_t n;
    bool known = false;
    char code[FHIR_CODE_MAX + 1];
    err_t rc = fhir_token(p->key, p->value, &system, &n, code, &r->ei);
    if (rc)
        return rc;
    s->q.state = fhir_status_state(s->type->name, code, &known);
    if (!known)
        return err_set(&r->ei, ERR_INVALID, p->key, "status: '%.40s' is not a %s status", code,
                       s->type->name);
    if (!s->q.state)
        s->nothing = true; /* a status benchside never gives */
    return ERR_OK;
}

/* Which of an Observation search's sides a code keeps: the vital sign it
 * names (loinc: a LOINC code, else benchside's), or none. */
static void vital_code(struct search *s, bool loinc, bool lab_too)
{
    const char *vital = fhir_vital_param(loinc, s->code);
    s->q.vital = vital;
    /* with a category given before, both narrow */
    s->q.no_vitals = s->q.no_vitals || !vital;
    s->q.no_lab = s->q.no_lab || !lab_too;
    if (!vital && !lab_too)
        s->nothing = true;
}

/* A code: a LOINC or a catalog code; without a system, a LOINC-shaped code
 * is LOINC. An Observation's code may be a vital sign's too (LOINC, or in
 * FHIR_SYS_OBSERVATION; without a system, one of those names). */
static err_t code_param(http_req *r, struct search *s, const http_param *p)
{
    const char *system;
    size_t n;
    err_t rc = fhir_token(p->key, p->value, &system, &n, s->code, &r->ei);
    if (rc)
        return rc;
    if (!strcmp(s->type->name, "DiagnosticReport")) {
        /* Every report has the one code of a laboratory report. */
        bool loinc =
            !system || !n || (n == strlen(FHIR_SYS_LOINC) && !strncmp(system, FHIR_SYS_LOINC, n));
        if (!loinc || strcmp(s->code, "11502-2"))
            s->nothing = true;
        return ERR_OK;
    }
    bool is_loinc = system && n == strlen(FHIR_SYS_LOINC) && !strncmp(system, FHIR_SYS_LOINC, n);
    bool is_test = system && n == strlen(FHIR_SYS_TEST) && !strncmp(system, FHIR_SYS_TEST, n);
    bool observation = !strcmp(s->type->name, "Observation");
    bool is_local = observation && system && n == strlen(FHIR_SYS_OBSERVATION) &&
                    !strncmp(system, FHIR_SYS_OBSERVATION, n);
    if (is_local) {
        vital_code(s, false, false);
    } else if (system && n && !is_loinc && !is_test) {
        s->nothing = true;
    } else if (is_loinc || (!is_test && catalog_loinc_valid(s->code, strlen(s->code)))) {
        s->q.loinc = s->code;
        if (observation)
            vital_code(s, true, true);
    } else {
        s->q.code = s->code;
        if (observation && !is_test)
            vital_code(s, false, true);
        s->q.no_vitals = s->q.no_vitals || !s->q.vital;
    }
    return ERR_OK;
}

/* An Observation's category: laboratory (the results), vital-signs or
 * survey (NEWS2) of the vital signs. */
static err_t observation_category(http_req *r, struct search *s, const http_param *p)
{
    static const char *const vital[] = {"vital-signs", "survey"};
    const char *system;
    size_t n;
    char code[FHIR_CODE_MAX + 1];
    const char *sys = "http://terminology.hl7.org/CodeSystem/observation-category";
    err_t rc = fhir_token(p->key, p->value, &system, &n, code, &r->ei);
    if (rc || (system && n && (strlen(sys) != n || strncmp(system, sys, n)))) {
        s->nothing = !rc;
        return rc;
    }
    s->q.no_vitals = s->q.no_vitals || !strcmp(code, "laboratory");
    for (size_t i = 0; i < sizeof(vital) / sizeof(vital[0]); i++)
        if (!strcmp(code, vital[i])) {
            s->q.category = vital[i];
            s->q.no_lab = true;
        }
    if (strcmp(code, "laboratory") && !s->q.category)
        s->nothing = true;
    return ERR_OK;
}

static err_t category_param(http_req *r, struct search *s, const http_param *p)
{
    const char *system;
    size_t n;
    char code[FHIR_CODE_MAX + 1];
    if (!strcmp(s->type->name, "Observation"))
        return observation_category(r, s, p);
    err_t rc = fhir_token(p->key, p->value, &system, &n, code, &r->ei);
    bool report = !strcmp(s->type->name, "DiagnosticReport");
    const char *want = report ? "LAB" : "laboratory";
    const char *sys = report ? "http://terminology.hl7.org/CodeSystem/v2-0074"
                             : "http://terminology.hl7.org/CodeSystem/observation-category";
    if (!rc &&
        (strcmp(code, want) || (system && n && (strlen(sys) != n || strncmp(system, sys, n)))))
        s->nothing = true;
    return rc;
}

static err_t gender_param(http_req *r, struct search *s, const http_param *p)
{
    static const char *const genders[] = {"female", "male", "other", "unknown"};
    const char *system;
    size_t n;
    err_t rc = fhir_token(p->key, p->value, &system, &n, s->type_value, &r->ei);
    for (size_t i = 0; !rc && i < sizeof(genders) / sizeof(genders[0]); i++)
        if (!strcmp(s->type_value, genders[i])) {
            s->q.gender = genders[i];
            return ERR_OK;
        }
    return rc ? rc
              : err_set(&r->ei, ERR_INVALID, p->key,
                        "gender must be female, male, other or unknown");
}

/* One search parameter of the resource's own into the query. */
static err_t search_param(http_req *r, struct search *s, const http_param *p, const char *kind)
{
    const char *k = p->key, *t = s->type->name;
    if (!strcmp(kind, "date"))
        return fhir_date_narrow(k, p->value, &s->q.from, &s->q.to, &r->ei);
    if (!strcmp(k, "_id")) {
        if (!fhir_id_valid(p->value))
            return err_set(&r->ei, ERR_INVALID, k, "_id: '%.80s' is not an id", p->value);
        snprintf(s->id, sizeof(s->id), "%s", p->value);
        s->q.id = s->id;
        return ERR_OK;
    }
    if (!strcmp(k, "patient") || !strcmp(k, "subject")) {
        s->q.patient = s->patient;
        return reference_param(r, k, "Patient", p->value, s->patient);
    }
    if (!strcmp(k, "specimen")) {
        s->q.specimen = s->specimen;
        return reference_param(r, k, "Specimen", p->value, s->specimen);
    }
    if (!strcmp(k, "status"))
        return status_param(r, s, p);
    if (!strcmp(k, "code"))
        return code_param(r, s, p);
    if (!strcmp(k, "category"))
        return category_param(r, s, p);
    if (!strcmp(k, "gender"))
        return gender_param(r, s, p);
    if (!strcmp(k, "family"))
        return string_param(r, s, p, 0, &s->q.family);
    if (!strcmp(k, "given"))
        return string_param(r, s, p, 1, &s->q.given);
    if (!strcmp(k, "name"))
        return string_param(r, s, p, 2, &s->q.name);
    if (!strcmp(k, "identifier") || !strcmp(k, "requisition")) {
        const char *sys = !strcmp(t, "Patient")        ? FHIR_SYS_MRN
                          : !strcmp(t, "Specimen")     ? FHIR_SYS_ACCESSION
                          : !strcmp(t, "Device")       ? FHIR_SYS_ASSET
                          : !strcmp(t, "Practitioner") ? FHIR_SYS_USER
                                                       : NULL;
        const char *system;
        size_t n;
        s->q.identifier = s->ident;
        if (sys)
            return token_in(r, s, p, sys, s->ident);
        /* A requisition is benchside's order id or the placer's number, whatever the system. */
        return fhir_token(k, p->value, &system, &n, s->ident, &r->ei);
    }
    if (!strcmp(k, "type")) {
        const char *system;
        size_t n;
        err_t rc = fhir_token(k, p->value, &system, &n, s->type_value, &r->ei);
        const char *name = !strcmp(t, "Specimen") ? fhir_specimen_type_name(s->type_value) : NULL;
        s->q.type = name ? name : s->type_value;
        return rc;
    }
    return err_set(&r->ei, ERR_INVALID, k, "the search parameter '%.40s' is not supported", k);
}

/* The parameters every search takes (_count, _offset, _sort, _summary,
 * _total, _include, _format); false when p is none of them. */
static bool result_param(http_req *r, struct search *s, const http_param *p, err_t *rc)
{
    const char *k = p->key, *v = p->value;
    int64_t n = 0;
    *rc = ERR_OK;
    if (!strcmp(k, "_count")) {
        if (str_to_int64(v, strlen(v), 0, 1000000, &n))
            *rc = err_set(&r->ei, ERR_INVALID, k, "_count must be a whole number from 0");
        /* More than a page holds is answered with a full page and a next link. */
        s->q.count = (int)(n > LOOKUP_PAGE_MAX ? LOOKUP_PAGE_MAX : n);
        if (n == 0)
            s->count_only = true;
    } else if (!strcmp(k, "_offset")) {
        if (str_to_int64(v, strlen(v), 0, OFFSET_MAX, &s->q.offset))
            *rc = err_set(&r->ei, ERR_INVALID, k, "_offset must be a whole number from 0");
    } else if (!strcmp(k, "_sort")) {
        const char *key = v[0] == '-' ? v + 1 : v;
        if (!s->type->sort || strcmp(key, s->type->sort))
            *rc = err_set(&r->ei, ERR_INVALID, k, "%s can be sorted by %s%s only", s->type->name,
                          s->type->sort ? s->type->sort : "nothing", s->type->sort ? " or -" : "");
        if (!*rc && s->type->sort && v[0] == '-')
            s->q.descending = true;
        if (!*rc && s->type->sort && v[0] != '-')
            s->q.descending = false;
    } else if (!strcmp(k, "_summary")) {
        if (!strcmp(v, "count"))
            s->count_only = true;
        else if (strcmp(v, "false"))
            *rc = err_set(&r->ei, ERR_INVALID, k, "_summary may be count or false");
    } else if (!strcmp(k, "_total")) {
        /* The total is counted, exactly, whatever is asked: FHIR lets a server
         * give it when asked for none or an estimate, and it is cheap here. */
        if (strcmp(v, "none") && strcmp(v, "estimate") && strcmp(v, "accurate"))
            *rc = err_set(&r->ei, ERR_INVALID, k, "_total may be none, estimate or accurate");
    } else if (!strcmp(k, "_include")) {
        const char *inc = NULL;
        fhir_type_served(s->type->name, &inc);
        if (!inc || strcmp(v, inc))
            *rc = err_set(&r->ei, ERR_INVALID, k, "%s takes _include=%s only", s->type->name,
                          inc ? inc : "(none)");
        s->include = true;
    } else if (strcmp(k, "_format")) {
        return false;
    }
    return true;
}

static err_t check_format(http_req *r, const http_param *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *v = params[i].value;
        if (strcmp(params[i].key, "_format"))
            continue;
        if (strcmp(v, "json") && strcmp(v, "application/json") &&
            strcmp(v, "application/fhir+json"))
            return err_set(&r->ei, ERR_INVALID, "_format",
                           "_format: only JSON is served (json, application/fhir+json)");
    }
    return ERR_OK;
}

static err_t read_params(http_req *r, struct search *s)
{
    err_t rc = http_query_all(r, s->params, PARAMS_MAX, &s->nparams);
    if (rc)
        return rc;
    if (s->nparams > PARAMS_MAX)
        return err_set(&r->ei, ERR_INVALID, NULL, "a search takes at most %d parameters",
                       PARAMS_MAX);
    rc = check_format(r, s->params, s->nparams);
    for (size_t i = 0; !rc && i < s->nparams; i++) {
        const http_param *p = &s->params[i];
        char kind[16];
        if (result_param(r, s, p, &rc))
            continue;
        if (strchr(p->key, ':'))
            return err_set(&r->ei, ERR_INVALID, p->key,
                           "search modifiers (%.40s) are not supported", p->key);
        if (!fhir_search_param(s->type->name, p->key, kind))
            return err_set(&r->ei, ERR_INVALID, p->key,
                           "%s has no search parameter '%.40s' (see the CapabilityStatement)",
                           s->type->name, p->key);
        for (size_t j = 0; j < i && strcmp(kind, "date"); j++)
            if (!strcmp(s->params[j].key, p->key))
                return err_set(&r->ei, ERR_INVALID, p->key, "%s is given more than once", p->key);
        if (strchr(p->value, ',') && strcmp(kind, "string"))
            return err_set(&r->ei, ERR_INVALID, p->key, "%s: lists of values are not supported",
                           p->key);
        rc = search_param(r, s, p, kind);
    }
    return rc;
}

/* --------------------------------------------------------------- answers */

/* Views of the included resources: the specimens of observations, or the
 * observations of reports, once each, appended to entries. */
static err_t add_includes(http_req *r, const char *base, const struct search *s, json_t *views,
                          json_t *entries)
{
    audit_ctx ctx = http_actor(r);
    bool reports = !strcmp(s->type->name, "DiagnosticReport");
    json_t *ids = json_array(), *v, *x;
    size_t i, j;
    err_t rc = ids ? ERR_OK : ERR_NOMEM;
    json_array_foreach(views, i, v)
    {
        json_t *want = reports ? json_object_get(v, "results")
                               : json_pack("[O]", json_object_get(v, "specimen_id"));
        json_array_foreach(want, j, x)
        {
            bool seen = false;
            for (size_t k = 0; k < json_array_size(ids) && !seen; k++)
                seen = json_equal(json_array_get(ids, k), x);
            if (!seen && json_is_string(x))
                json_array_append(ids, x);
        }
        if (!reports)
            json_decref(want);
    }
    json_array_foreach(ids, i, x)
    {
        lookup_query q;
        json_t *found = NULL;
        if (rc)
            break;
        lookup_query_init(&q);
        q.id = json_string_value(x);
        q.count = 1;
        rc = lookup_search(r->db, &ctx, reports ? LOOKUP_RESULTS : LOOKUP_SPECIMENS, &q, &found,
                           NULL, &r->ei);
        json_array_foreach(found, j, v)
        {
            json_t *e =
                fhir_entry(base, (reports ? fhir_observation : fhir_specimen)(v), "include");
            if (!e || json_array_append_new(entries, e))
                rc = ERR_NOMEM;
        }
        json_decref(found);
    }
    json_decref(ids);
    return rc;
}

static err_t do_search(http_req *r, const struct fhir_type *t)
{
    struct search *s = arena_alloc(&r->a, sizeof(*s));
    audit_ctx ctx = http_actor(r);
    json_t *views = NULL, *entries = NULL, *v;
    int64_t total = 0;
    size_t i;
    if (!s)
        return ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->type = t;
    lookup_query_init(&s->q);
    s->q.count = COUNT_DEFAULT;
    err_t rc = read_params(r, s);
    if (rc)
        return rc;
    const char *base = base_url(r);
    if (!base)
        return ERR_NOMEM;
    if (s->count_only)
        s->q.count = 0;
    if (!s->nothing && s->q.from < s->q.to)
        rc = lookup_search(r->db, &ctx, t->lookup, &s->q, s->count_only ? NULL : &views, &total,
                           &r->ei);
    if (rc)
        return rc;
    entries = json_array();
    json_array_foreach(views, i, v)
    {
        json_t *e = fhir_entry(base, t->map(v), "match");
        if (!e || json_array_append_new(entries, e))
            rc = ERR_NOMEM;
    }
    if (!rc && s->include && views)
        rc = add_includes(r, base, s, views, entries);
    const char *self = search_url(r, base, s, s->q.offset);
    int64_t next_at = s->q.offset + s->q.count;
    const char *next = !s->count_only && next_at < total ? search_url(r, base, s, next_at) : NULL;
    json_decref(views);
    if (rc) {
        json_decref(entries);
        return rc;
    }
    r->out =
        fhir_searchset(s->count_only ? (json_decref(entries), NULL) : entries, total, self, next);
    return r->out ? ERR_OK : ERR_NOMEM;
}

/* The parameters of a read or of metadata: _format alone. */
static err_t format_only(http_req *r)
{
    http_param params[PARAMS_MAX];
    size_t n = 0;
    err_t rc = http_query_all(r, params, PARAMS_MAX, &n);
    if (!rc && n > PARAMS_MAX)
        rc = err_set(&r->ei, ERR_INVALID, NULL, "too many parameters");
    if (!rc)
        rc = check_format(r, params, n);
    for (size_t i = 0; !rc && i < n; i++)
        if (strcmp(params[i].key, "_format"))
            rc = err_set(&r->ei, ERR_INVALID, params[i].key,
                         "this takes no parameter but _format, not '%.40s'", params[i].key);
    return rc;
}

static err_t do_read(http_req *r, const struct fhir_type *t, const char *id)
{
    audit_ctx ctx = http_actor(r);
    lookup_query q;
    json_t *views = NULL;
    err_t rc = format_only(r);
    if (rc)
        return rc;
    if (!fhir_id_valid(id))
        return err_set(&r->ei, ERR_NOT_FOUND, NULL, "no %s has the id '%.80s'", t->name, id);
    lookup_query_init(&q);
    q.id = id;
    q.count = 1;
    rc = lookup_search(r->db, &ctx, t->lookup, &q, &views, NULL, &r->ei);
    if (!rc && json_array_size(views) == 0)
        rc = err_set(&r->ei, ERR_NOT_FOUND, NULL, "no %s has the id %s", t->name, id);
    if (!rc) {
        r->out = t->map(json_array_get(views, 0));
        rc = r->out ? ERR_OK : ERR_NOMEM;
    }
    json_decref(views);
    return rc;
}

/* ------------------------------------------------------------ create */

static bool is_fhir_json(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    return (n == strlen("application/fhir+json") && !strncasecmp(ct, "application/fhir+json", n)) ||
           (n == strlen("application/json") && !strncasecmp(ct, "application/json", n));
}

/* benchside's order body for a ServiceRequest (new reference). */
static json_t *order_body(const fhir_order *o, const char *code)
{
    json_t *reasons = json_array();
    for (int i = 0; reasons && i < o->nreasons; i++)
        json_array_append_new(reasons, json_string(o->reasons[i]));
    json_t *b = json_pack("{s:s,s:[s],s:s,s:s,s:o}", "patient_id", o->patient_id, "tests", code,
                          "priority", o->priority, "clinician", o->clinician, "reasons", reasons);
    if (b && o->placer[0]) {
        json_object_set_new(b, "placer", json_string(o->placer));
        json_object_set_new(b, "placer_id", json_string(o->placer_id));
    }
    if (b && o->note[0])
        json_object_set_new(b, "instructions", json_pack("{s:s}", "note", o->note));
    return b;
}

static err_t do_create(http_req *r, const char *body, size_t len)
{
    fhir_order o;
    char code[CATALOG_CODE_MAX + 1];
    json_t *in = NULL, *ob = NULL, *order = NULL, *views = NULL;
    audit_ctx ctx = http_actor(r);
    lookup_query q;
    err_t rc = ERR_OK;
    if (!is_fhir_json(http_header(r, "Content-Type")))
        return err_set(&r->ei, ERR_MEDIA_TYPE, NULL,
                       "the body must be a resource with Content-Type: application/fhir+json");
    rc = jsonv_parse_object(body, len, &in, &r->ei);
    if (!rc)
        rc = fhir_order_parse(in, &o, &r->ei);
    if (!rc)
        rc = lookup_orderable(r->db, o.code_system, o.code, code, &r->ei);
    if (!rc) {
        ob = order_body(&o, code);
        rc = ob ? order_create(r->db, &ctx, ob, &order, &r->ei) : ERR_NOMEM;
        if (rc && r->ei.code == rc && r->ei.field[0]) {
            char path[64];
            /* An unknown patient or an inactive test is a well-formed request refused. */
            bool refused = !strcmp(r->ei.field, "patient_id") || !strncmp(r->ei.field, "tests", 5);
            fhir_order_field(r->ei.field, path, sizeof(path));
            snprintf(r->ei.field, sizeof(r->ei.field), "%s", path);
            if (rc == ERR_INVALID && refused)
                rc = r->ei.code = ERR_UNPROCESSABLE;
        }
    }
    if (!rc) {
        lookup_query_init(&q);
        q.identifier = json_string_value(json_object_get(order, "id"));
        q.count = 1;
        rc = lookup_search(r->db, &ctx, LOOKUP_REQUESTS, &q, &views, NULL, &r->ei);
    }
    if (!rc && json_array_size(views) == 0)
        rc = err_set(&r->ei, ERR_INTERNAL, NULL, "the new order cannot be read back");
    if (!rc) {
        r->out = fhir_service_request(json_array_get(views, 0));
        const char *base = base_url(r);
        r->location = r->out && base
                          ? arena_printf(&r->a, "%s/ServiceRequest/%s", base,
                                         json_string_value(json_object_get(r->out, "id")))
                          : NULL;
        rc = r->out && r->location ? ERR_OK : ERR_NOMEM;
        r->status = 201;
    }
    json_decref(in);
    json_decref(ob);
    json_decref(order);
    json_decref(views);
    return rc;
}

/* ------------------------------------------------------------ dispatch */

static err_t capability(http_req *r)
{
    char now[TIME_ISO_LEN];
    err_t rc = format_only(r);
    if (rc)
        return rc;
    time_format_iso(time_now_us(), now);
    r->out = fhir_capability(BENCHSIDE_VERSION, now);
    return r->out ? ERR_OK : ERR_NOMEM;
}

/* A method not allowed on a path: ERR_METHOD, with the methods it takes. */
static err_t not_allowed(const char *method, const char *path, const char *allow,
                         const char **allow_out, errinfo *ei)
{
    *allow_out = allow;
    return err_set(ei, ERR_METHOD, NULL, "%s is not allowed on %.200s; allowed: %s", method, path,
                   allow);
}

err_t http_fhir_route(const char *method, const char *path, const char **type,
                      char id[FHIR_ID_MAX + 2], bool *create, const char **allow, errinfo *ei)
{
    const char *rest = path + strlen(FHIR_PREFIX);
    char name[32];
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    bool post = !strcmp(method, "POST");
    *type = NULL;
    *create = false;
    *allow = NULL;
    id[0] = '\0';
    if (strncmp(path, FHIR_PREFIX, strlen(FHIR_PREFIX)) || (*rest && *rest != '/'))
        return err_set(ei, ERR_NOT_FOUND, NULL, "FHIR R4 is served under " FHIR_PREFIX);
    if (*rest)
        rest++;
    if (!strcmp(rest, "metadata")) {
        *type = "metadata";
        return get ? ERR_OK : not_allowed(method, path, "GET, HEAD", allow, ei);
    }
    size_t tl = strcspn(rest, "/");
    const char *after = rest + tl;
    snprintf(name, sizeof(name), "%.*s", (int)(tl < sizeof(name) ? tl : sizeof(name) - 1), rest);
    const struct fhir_type *t = tl < sizeof(name) ? type_named(name) : NULL;
    if (!t)
        return err_set(ei, ERR_NOT_FOUND, NULL, "this server has no resource type '%.40s'", name);
    *create = !*after && post;
    if (!*after && !get && !post)
        return not_allowed(method, path,
                           !strcmp(t->name, CREATE_TYPE) ? "GET, HEAD, POST" : "GET, HEAD", allow,
                           ei);
    if (*create && strcmp(t->name, CREATE_TYPE))
        return not_allowed(method, path, "GET, HEAD", allow, ei);
    if (*after) {
        after++;
        if (!*after || strchr(after, '/') || strlen(after) > FHIR_ID_MAX)
            return err_set(ei, ERR_NOT_FOUND, NULL, "no such resource: %.200s", path);
        if (!get)
            return not_allowed(method, path, "GET, HEAD", allow, ei);
        snprintf(id, FHIR_ID_MAX + 2, "%s", after);
    }
    *type = t->name;
    return ERR_OK;
}

err_t http_fhir_dispatch(http_req *r, const char *body, size_t len)
{
    const char *type, *allow;
    char id[FHIR_ID_MAX + 2];
    bool create;
    err_t rc = http_fhir_route(r->method, r->path, &type, id, &create, &allow, &r->ei);
    r->allow = allow;
    if (rc)
        return rc;
    if (!strcmp(type, "metadata"))
        return capability(r);
    const struct fhir_type *t = type_named(type);
    if (!create && len && !(len == 2 && !memcmp(body, "{}", 2)))
        return err_set(&r->ei, ERR_INVALID, NULL, "%s %s takes no body", r->method, r->path);
    rc = http_sign_in(r, create ? CREATE_PERM : t->perm, FHIR_PREFIX, false);
    if (rc)
        return rc;
    if (create)
        return do_create(r, body, len);
    return id[0] ? do_read(r, t, id) : do_search(r, t);
}

err_t http_fhir_routes(json_t *list)
{
    char path[64];
    err_t rc =
        http_route_entry(list, "GET", FHIR_PREFIX "/metadata", PERM_PUBLIC, false, NULL, NULL);
    for (size_t i = 0; !rc && i < sizeof(types) / sizeof(types[0]); i++) {
        snprintf(path, sizeof(path), FHIR_PREFIX "/%s", types[i].name);
        rc = http_route_entry(list, "GET", path, types[i].perm, false, NULL, NULL);
        if (!rc && !strcmp(types[i].name, CREATE_TYPE))
            rc = http_route_entry(list, "POST", path, CREATE_PERM, true, NULL, NULL);
        snprintf(path, sizeof(path), FHIR_PREFIX "/%s/{id}", types[i].name);
        if (!rc)
            rc = http_route_entry(list, "GET", path, types[i].perm, false, NULL, NULL);
    }
    return rc;
}
