/*
 * log.c - JSON-lines logger (see log.h).
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/time.h"

static log_level log_min = LOG_INFO;
static int log_env_read;
static char log_node[65];

void log_set_node(const char *node)
{
    snprintf(log_node, sizeof(log_node), "%s", node ? node : "");
}

void log_set_level(log_level level)
{
    log_min = level;
    log_env_read = 1;
}

static void log_read_env(void)
{
    const char *e = getenv("BENCHSIDE_LOG");
    log_env_read = 1;
    if (!e)
        return;
    if (!strcmp(e, "debug"))
        log_min = LOG_DEBUG;
    else if (!strcmp(e, "warn"))
        log_min = LOG_WARN;
    else if (!strcmp(e, "error"))
        log_min = LOG_ERROR;
    else if (!strcmp(e, "off"))
        log_min = LOG_OFF;
}

void log_msg(log_level level, const char *id, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    char msg[2048], ts[TIME_ISO_LEN];
    if (!log_env_read)
        log_read_env();
    if (level < log_min)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    time_format_iso(time_now_us(), ts);

    buf b = BUF_INIT;
    buf_printf(&b, "{\"t\":\"%s\",\"level\":\"%s\"", ts, names[level]);
    if (log_node[0]) {
        buf_puts(&b, ",\"node\":");
        str_json_quote(&b, log_node, strlen(log_node));
    }
    if (id) {
        buf_puts(&b, ",\"id\":");
        str_json_quote(&b, id, strlen(id));
    }
    buf_puts(&b, ",\"msg\":");
    str_json_quote(&b, msg, strlen(msg));
    buf_puts(&b, "}\n");
    if (b.data)
        fputs(b.data, stderr);
    buf_free(&b);
}
