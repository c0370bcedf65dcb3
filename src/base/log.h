/*
 * log.h - one JSON object a line on standard error.
 *
 * Each line carries the time, the level, the node when one is named, an
 * optional request or message id and the message. Never pass passwords, tokens or patient names.
 */
#ifndef BENCHSIDE_BASE_LOG_H
#define BENCHSIDE_BASE_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF } log_level;

/* Lines below this level are dropped (default LOG_INFO; BENCHSIDE_LOG=debug|...). */
void log_set_level(log_level level);
/* Name the node in every line from now on ("node":NAME; NULL or "" stops):
 * with several nodes behind a load balancer their logs are read together.
 * Set at start-up, before other threads log. */
void log_set_node(const char *node);

/* id may be NULL. */
void log_msg(log_level level, const char *id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_info(...)  log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, NULL, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, NULL, __VA_ARGS__)

#endif
