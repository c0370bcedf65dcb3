/*
 * err.c - names, messages and HTTP statuses of the error codes in err.h.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *message;
    int status;
} err_table[] = {
#define ERR_ROW(code, name, msg, status) {name, msg, status},
    ERR_LIST(ERR_ROW)
#undef ERR_ROW
};

const char *err_name(err_t code)
{
    if ((unsigned)code >= ERR__COUNT)
        return "internal";
    return err_table[code].name;
}

const char *err_message(err_t code)
{
    if ((unsigned)code >= ERR__COUNT)
        return "internal error";
    return err_table[code].message;
}

int err_http_status(err_t code)
{
    if ((unsigned)code >= ERR__COUNT)
        return 500;
    return err_table[code].status;
}

void err_clear(errinfo *ei)
{
    if (ei)
        memset(ei, 0, sizeof(*ei));
}

err_t err_set(errinfo *ei, err_t code, const char *field, const char *fmt, ...)
{
    if (!ei)
        return code;
    ei->code = code;
    snprintf(ei->field, sizeof(ei->field), "%s", field ? field : "");
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ei->message, sizeof(ei->message), fmt, ap);
        va_end(ap);
    } else {
        snprintf(ei->message, sizeof(ei->message), "%s", err_message(code));
    }
    return code;
}
