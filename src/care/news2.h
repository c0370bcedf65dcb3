/*
 * news2.h - the National Early Warning Score 2 (Royal College of Physicians,
 * 2017): pure functions, no database.
 *
 * Seven parameters each score 0 to 3 points by the bands of the RCP's chart:
 *
 *   points              3       2        1        0          1        2        3
 *   respiration rate   <=8              9-11     12-20               21-24    >=25
 *   SpO2 scale 1       <=91    92-93    94-95    >=96
 *   SpO2 scale 2       <=83    84-85    86-87    88-92,     93-94 on 95-96 on >=97 on
 *                                                >=93 on air  oxygen   oxygen   oxygen
 *   air or oxygen               oxygen           air
 *   systolic BP        <=90    91-100   101-110  111-219                      >=220
 *   pulse              <=40             41-50    51-90      91-110   111-130  >=131
 *   consciousness                                alert                        C, V, P or U
 *   temperature (C)    <=35.0           35.1-36  36.1-38.0  38.1-39  >=39.1
 *
 * Scale 2 is for patients with hypercapnic respiratory failure whose target
 * saturation is 88-92%, prescribed by a clinician. The score is the sum of
 * the points; the clinical risk and the response it calls for:
 *
 *   total 0-4                       low          (0: 12-hourly; 1-4: 4-6-hourly observations)
 *   3 in any one parameter, total <5  low-medium (urgent ward-based response, hourly)
 *   total 5-6                       medium       (urgent response, at least hourly)
 *   total 7 or more                 high         (emergency response, continuous monitoring)
 *
 * A total of 5 or more, or 3 points in any one parameter, raises an alert.
 *
 * Whole-number parameters are taken rounded to the nearest whole number and
 * the temperature to a tenth of a degree (half away from zero), as the chart
 * reads them. A set may lack parameters (a monitor sends what it measures):
 * the score of those present is then a lower bound, and complete is false.
 */
#ifndef BENCHSIDE_CARE_NEWS2_H
#define BENCHSIDE_CARE_NEWS2_H

#include <jansson.h>
#include <stdbool.h>

#include "base/err.h"

/* The seven parameters, in the chart's order. */
typedef enum {
    CARE_NEWS2_RR,     /* respiration rate, per minute */
    CARE_NEWS2_SPO2,   /* oxygen saturation, % (on the patient's scale) */
    CARE_NEWS2_AIR,    /* air or oxygen */
    CARE_NEWS2_SBP,    /* systolic blood pressure, mmHg */
    CARE_NEWS2_PULSE,  /* per minute */
    CARE_NEWS2_ACVPU,  /* consciousness: A, C, V, P or U */
    CARE_NEWS2_TEMP,   /* temperature, degrees Celsius */
    CARE_NEWS2_PARAMS, /* how many */
} care_news2_param;

/* The bounds a value must lie in to be a reading at all (a pulse of 900 is
 * a typing error, not a tachycardia). */
#define CARE_RR_MIN    1
#define CARE_RR_MAX    80
#define CARE_SPO2_MIN  50
#define CARE_SPO2_MAX  100
#define CARE_SBP_MIN   40
#define CARE_SBP_MAX   300
#define CARE_PULSE_MIN 20
#define CARE_PULSE_MAX 300
#define CARE_TEMP_MIN  25.0
#define CARE_TEMP_MAX  45.0

/* One set of observations. present has bit (1 << param) for each given. */
typedef struct care_news2_in {
    int rr, spo2, sbp, pulse;
    int scale;   /* 1 or 2 */
    bool oxygen; /* on supplemental oxygen */
    char acvpu;  /* 'A', 'C', 'V', 'P' or 'U' */
    int temp10;  /* tenths of a degree Celsius */
    unsigned present;
} care_news2_in;

/* The score of a set. points[p] is -1 for a parameter not given. */
typedef struct care_news2 {
    int points[CARE_NEWS2_PARAMS];
    int total;
    bool complete;        /* every parameter given */
    bool red;             /* 3 points in one parameter */
    bool alert;           /* total >= 5, or red */
    const char *band;     /* low, low-medium, medium, high (static) */
    const char *response; /* the response the band calls for (static) */
} care_news2;

/* The points of one parameter by the chart (values already rounded). */
int care_news2_rr(int rr);
int care_news2_spo2(int spo2, int scale, bool oxygen);
int care_news2_air(bool oxygen);
int care_news2_sbp(int sbp);
int care_news2_pulse(int pulse);
int care_news2_acvpu(char acvpu);
int care_news2_temp(int temp10);

/* Score a set (pure). */
void care_news2_score(const care_news2_in *in, care_news2 *out);

/* The name of a parameter in JSON and messages: respiration_rate, spo2,
 * oxygen, systolic_bp, pulse, acvpu, temperature (static). */
const char *care_news2_name(care_news2_param p);

/*
 * Set parameter p of in from value (for CARE_NEWS2_AIR: 0 air, 1 oxygen;
 * for CARE_NEWS2_ACVPU: the letter's character code), rounded as the chart
 * reads it and checked against the bounds above: ERR_INVALID naming field
 * ("pulse: 900 is outside 20 to 300 per minute") otherwise.
 */
err_t care_news2_set(care_news2_in *in, care_news2_param p, double value, const char *field,
                     errinfo *ei);

/* ACVPU from its letter ("A", "C", "V", "P" or "U", either case), or 0. */
char care_news2_acvpu_of(const char *s);

/*
 * The set and its score as JSON: {"score","complete","red_parameter",
 * "alert","band","response","parameters":{name:{"value","points"}, ...}}
 * (spo2 also with its "scale"; a parameter not given is absent). New
 * reference, NULL when out of memory.
 */
json_t *care_news2_json(const care_news2_in *in, const care_news2 *s);

#endif
