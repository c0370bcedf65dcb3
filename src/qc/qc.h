/*
 * qc.h - quality control on record: control materials and their targets,
 * the rules and frequency per test and instrument, QC results judged by the
 * Westgard rules (qc/westgard.h), and the lockout a rejection opens.
 *
 * A lockout holds, through the release gate (lab/gate.c), every patient
 * result of that test on that instrument not yet released, until a run
 * recorded after the failure passes and a supervisor documents the
 * corrective action (signed with their password). The lockout record lists
 * the patient results released since the last accepted QC, to decide which
 * to run again. The gate also holds results when QC is overdue.
 *
 * Targets: a mean and SD per material, test and instrument, set by hand or
 * established from the first 20 runs; until then the target is provisional
 * and results are recorded without rules. A target for instrument "" serves
 * every instrument without one of its own (the manual bench among them).
 *
 * Analyzer runs: results an analyzer sends within the same clock hour form
 * one run (levels run one after the other arrive as separate messages).
 */
#ifndef BENCHSIDE_QC_QC_H
#define BENCHSIDE_QC_QC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth/audit.h"
#include "auth/user.h"
#include "base/err.h"
#include "base/id.h"
#include "store/db.h"

#define QC_ESTABLISH_RUNS 20
#define QC_DEFAULT_RULES  "1-2s,1-3s,2-2s,R-4s,4-1s,10x"
#define QC_SERIES_MAX     200 /* earlier results the rules look back over */
#define QC_TEXT_MAX       64
#define QC_ACTION_MAX     2000

/* {"name","manufacturer","lot","level","expires":"YYYY-MM-DD","qc_id"?,
 *  "targets"?:[{"test","instrument"?,"mean"?,"sd"?}]}: a target without mean
 * and sd is established from the first 20 runs. */
err_t qc_material_create(db *d, const audit_ctx *ctx, const json_t *body, json_t **out,
                         errinfo *ei);
err_t qc_materials_list(db *d, json_t **items, errinfo *ei);
/* Set or replace one target of a material: {"test","instrument"?,"mean"?,"sd"?}. */
err_t qc_target_set(db *d, const audit_ctx *ctx, const char *material_id, const json_t *body,
                    json_t **out, errinfo *ei);

/* {"test","instrument"?,"rules"?,"frequency":"run"|"8h"|"24h","tea_percent"?} */
err_t qc_settings_set(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);
err_t qc_settings_list(db *d, json_t **items, errinfo *ei);

/* One QC measurement to record. */
typedef struct qc_input {
    const char *material_id; /* or */
    const char *qc_id;       /* the material's specimen id */
    const char *test;        /* catalog code */
    const char *instrument;  /* instrument name, "" for the manual bench */
    const char *run;         /* NULL: the clock hour of at */
    const char *value;       /* decimal text */
    int64_t at;              /* 0: now */
    const char *operator_name;
    bool from_instrument;
} qc_input;

/*
 * Record and judge a QC result: the material must exist, be unexpired at
 * `at` and cover the test; the value must be a number. Errors name the field
 * ("material_id", "test", "value"...); nothing is written then. A rejecting
 * rule opens a lockout for the test and instrument (when none is open).
 * *out is the result with "status" (accepted, warning, rejected,
 * provisional), "z" and "violations". Audited as qc.result.
 */
err_t qc_result_record(db *d, const audit_ctx *ctx, const qc_input *in, json_t **out, errinfo *ei);
/* The same from a request body {"material_id"|"qc_id","test","instrument"?,
 * "run"?,"value","at"?}; operator is the signed-in user. */
err_t qc_result_enter(db *d, const audit_ctx *ctx, const json_t *body, json_t **out, errinfo *ei);

/* The material whose qc_id is id: its id into material_id ("" when none). */
err_t qc_material_by_qc_id(db *d, const char *id, char material_id[ID_LEN + 1], errinfo *ei);

/* QC results of a test (and instrument, NULL for all) in [from, to), oldest first. */
err_t qc_results_list(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
                      json_t **items, errinfo *ei);

/*
 * Statistics of a test on an instrument: per control material, the results
 * in [from, to) (0, 0: the current calendar month) and all of them
 * (cumulative): N, mean, SD, CV%, and the bias against the target; rejected
 * and provisional results are left out. With the allowable total error (the
 * site's, else the CLIA limit at the target), the Sigma metric and the rules
 * the Westgard Sigma Rules suggest beside the rules in use.
 */
err_t qc_stats(db *d, const char *test, const char *instrument, int64_t from, int64_t to,
               json_t **out, errinfo *ei);

/* Lockouts, newest first; open_only for those not yet closed. */
err_t qc_lockouts_list(db *d, bool open_only, json_t **items, errinfo *ei);
/* One lockout with the patient results of its test and instrument since the
 * last accepted QC (audited as qc.lockout.read: it shows patient data). */
err_t qc_lockout_read(db *d, const audit_ctx *ctx, const char *id, json_t **out, errinfo *ei);
/*
 * Close a lockout: {"corrective_action","password"}, by a supervisor signing
 * with their password. Refused (ERR_CONFLICT) until a run recorded after the
 * failure has passed on every level measured in it. The held patient results
 * are then checked by the gate again (released when nothing else holds them).
 */
err_t qc_lockout_close(db *d, const audit_ctx *ctx, const user *u, const char *id,
                       const json_t *body, json_t **out, errinfo *ei);

#endif
