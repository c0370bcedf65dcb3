/*
 * news2.c - the National Early Warning Score 2 by the RCP's chart (see
 * news2.h). Each parameter's bands are written as the chart prints them,
 * lowest value first.
 */
#include "care/news2.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int care_news2_rr(int rr)
{
    if (rr <= 8)
        return 3;
    if (rr <= 11)
        return 1;
    if (rr <= 20)
        return 0;
    if (rr <= 24)
        return 2;
    return 3;
}

int care_news2_spo2(int spo2, int scale, bool oxygen)
{
    if (scale != 2) {
        if (spo2 <= 91)
            return 3;
        if (spo2 <= 93)
            return 2;
        if (spo2 <= 95)
            return 1;
        return 0;
    }
    /* scale 2: below the target range as scale 1 shifted; above it, only on
     * oxygen does a high saturation score (over-oxygenation) */
    if (spo2 <= 83)
        return 3;
    if (spo2 <= 85)
        return 2;
    if (spo2 <= 87)
        return 1;
    if (spo2 <= 92 || !oxygen)
        return 0;
    if (spo2 <= 94)
        return 1;
    if (spo2 <= 96)
        return 2;
    return 3;
}

int care_news2_air(bool oxygen)
{
    return oxygen ? 2 : 0;
}

int care_news2_sbp(int sbp)
{
    if (sbp <= 90)
        return 3;
    if (sbp <= 100)
        return 2;
    if (sbp <= 110)
        return 1;
    if (sbp <= 219)
        return 0;
    return 3;
}

int care_news2_pulse(int pulse)
{
    if (pulse <= 40)
        return 3;
    if (pulse <= 50)
        return 1;
    if (pulse <= 90)
        return 0;
    if (pulse <= 110)
        return 1;
    if (pulse <= 130)
        return 2;
    return 3;
}

int care_news2_acvpu(char acvpu)
{
    return acvpu == 'A' ? 0 : 3;
}

int care_news2_temp(int temp10)
{
    if (temp10 <= 350)
        return 3;
    if (temp10 <= 360)
        return 1;
    if (temp10 <= 380)
        return 0;
    if (temp10 <= 390)
        return 1;
    return 2;
}

static const char *const names[CARE_NEWS2_PARAMS] = {
    "respiration_rate", "spo2", "oxygen", "systolic_bp", "pulse", "acvpu", "temperature",
};

const char *care_news2_name(care_news2_param p)
{
    return p < CARE_NEWS2_PARAMS ? names[p] : "";
}

void care_news2_score(const care_news2_in *in, care_news2 *out)
{
    memset(out, 0, sizeof(*out));
    out->complete = true;
    for (int p = 0; p < CARE_NEWS2_PARAMS; p++) {
        int pts = -1;
        if (!(in->present & (1u << p))) {
            out->points[p] = -1;
            out->complete = false;
            continue;
        }
        switch ((care_news2_param)p) {
        case CARE_NEWS2_RR:
            pts = care_news2_rr(in->rr);
            break;
        case CARE_NEWS2_SPO2:
            pts = care_news2_spo2(in->spo2, in->scale,
                                  (in->present & (1u << CARE_NEWS2_AIR)) && in->oxygen);
            break;
        case CARE_NEWS2_AIR:
            pts = care_news2_air(in->oxygen);
            break;
        case CARE_NEWS2_SBP:
            pts = care_news2_sbp(in->sbp);
            break;
        case CARE_NEWS2_PULSE:
            pts = care_news2_pulse(in->pulse);
            break;
        case CARE_NEWS2_ACVPU:
            pts = care_news2_acvpu(in->acvpu);
            break;
        case CARE_NEWS2_TEMP:
            pts = care_news2_temp(in->temp10);
            break;
        case CARE_NEWS2_PARAMS:
            break;
        }
        out->points[p] = pts;
        out->total += pts;
        out->red = out->red || pts == 3;
    }
    out->alert = out->total >= 5 || out->red;
    if (out->total >= 7) {
        out->band = "high";
        out->response = "emergency response: continuous monitoring of vital signs; the nurse "
                        "informs the medical team at once, at registrar level or above; emergency "
                        "assessment by a team with critical-care competencies, usually with "
                        "transfer to a higher level of care";
    } else if (out->total >= 5) {
        out->band = "medium";
        out->response = "urgent response: observations at least hourly; the nurse informs the "
                        "medical team at once; urgent assessment by a clinician competent in the "
                        "care of acutely ill patients";
    } else if (out->red) {
        out->band = "low-medium";
        out->response = "urgent ward-based response: observations at least hourly; the nurse "
                        "informs the medical team, who decide whether to escalate care";
    } else if (out->total >= 1) {
        out->band = "low";
        out->response = "ward-based response: observations at least every 4-6 hours; the nurse "
                        "assesses the patient and decides on the frequency of monitoring or "
                        "escalation";
    } else {
        out->band = "low";
        out->response = "continue routine monitoring: observations at least every 12 hours";
    }
}

char care_news2_acvpu_of(const char *s)
{
    if (!s || !s[0] || s[1])
        return 0;
    char c = s[0] >= 'a' && s[0] <= 'z' ? (char)(s[0] - 'a' + 'A') : s[0];
    return strchr("ACVPU", c) ? c : 0;
}

/* Half away from zero, as a person reading the chart rounds. The nudge
 * keeps decimal halves halves: 36.05 * 10 is 360.49999999999997 in binary. */
static long round_half(double v)
{
    return lround(v + copysign(1e-9, v));
}

err_t care_news2_set(care_news2_in *in, care_news2_param p, double value, const char *field,
                     errinfo *ei)
{
    static const struct {
        double min, max;
        const char *unit;
    } bounds[CARE_NEWS2_PARAMS] = {
        [CARE_NEWS2_RR] = {CARE_RR_MIN, CARE_RR_MAX, "per minute"},
        [CARE_NEWS2_SPO2] = {CARE_SPO2_MIN, CARE_SPO2_MAX, "%"},
        [CARE_NEWS2_SBP] = {CARE_SBP_MIN, CARE_SBP_MAX, "mmHg"},
        [CARE_NEWS2_PULSE] = {CARE_PULSE_MIN, CARE_PULSE_MAX, "per minute"},
        [CARE_NEWS2_TEMP] = {CARE_TEMP_MIN, CARE_TEMP_MAX, "degrees Celsius"},
    };
    if (p >= CARE_NEWS2_PARAMS || !isfinite(value))
        return err_set(ei, ERR_INVALID, field, "%s must be a number", field);
    if (p == CARE_NEWS2_AIR) {
        in->oxygen = value != 0;
    } else if (p == CARE_NEWS2_ACVPU) {
        char c = value >= 'A' && value <= 'Z' ? (char)value : 0;
        if (!c || !strchr("ACVPU", c))
            return err_set(ei, ERR_INVALID, field, "%s must be A, C, V, P or U", field);
        in->acvpu = c;
    } else {
        double v =
            p == CARE_NEWS2_TEMP ? (double)round_half(value * 10) / 10 : (double)round_half(value);
        if (v < bounds[p].min || v > bounds[p].max)
            return err_set(ei, ERR_INVALID, field,
                           "%s: %g is outside %g to %g %s: not a reading (mistyped?)", field, value,
                           bounds[p].min, bounds[p].max, bounds[p].unit);
        int whole = (int)round_half(value);
        if (p == CARE_NEWS2_RR)
            in->rr = whole;
        else if (p == CARE_NEWS2_SPO2)
            in->spo2 = whole;
        else if (p == CARE_NEWS2_SBP)
            in->sbp = whole;
        else if (p == CARE_NEWS2_PULSE)
            in->pulse = whole;
        else
            in->temp10 = (int)round_half(value * 10);
    }
    in->present |= 1u << p;
    return ERR_OK;
}

json_t *care_news2_json(const care_news2_in *in, const care_news2 *s)
{
    json_t *params = json_object();
    char acvpu[2] = {in->acvpu, '\0'};
    for (int p = 0; params && p < CARE_NEWS2_PARAMS; p++) {
        json_t *v = NULL;
        if (s->points[p] < 0)
            continue;
        switch ((care_news2_param)p) {
        case CARE_NEWS2_RR:
            v = json_integer(in->rr);
            break;
        case CARE_NEWS2_SPO2:
            v = json_integer(in->spo2);
            break;
        case CARE_NEWS2_AIR:
            v = json_string(in->oxygen ? "oxygen" : "air");
            break;
        case CARE_NEWS2_SBP:
            v = json_integer(in->sbp);
            break;
        case CARE_NEWS2_PULSE:
            v = json_integer(in->pulse);
            break;
        case CARE_NEWS2_ACVPU:
            v = json_string(acvpu);
            break;
        case CARE_NEWS2_TEMP:
            v = json_real((double)in->temp10 / 10);
            break;
        case CARE_NEWS2_PARAMS:
            break;
        }
        json_t *one = json_pack("{s:o,s:i}", "value", v, "points", s->points[p]);
        if (one && p == CARE_NEWS2_SPO2)
            json_object_set_new(one, "scale", json_integer(in->scale == 2 ? 2 : 1));
        json_object_set_new(params, names[p], one);
    }
    return json_pack("{s:i,s:b,s:b,s:b,s:s,s:s,s:o}", "score", s->total, "complete", s->complete,
                     "red_parameter", s->red, "alert", s->alert, "band", s->band, "response",
                     s->response, "parameters", params);
}
