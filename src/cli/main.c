/*
 * main.c - the benchside command line: git-style subcommands from a table.
 *
 * Each subcommand parses its options and calls into the library; the logic
 * lives in src/app and the modules below it. Exit status: 0 success, 1
 * failure, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "auth/audit.h"
#include "auth/user.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "app/tools.h"
#include "config.h"
#include "lab/catalog.h"
#include "lab/instrument.h"
#include "store/migrate.h"

#define EXIT_USAGE 2

struct cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
};

static int usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "benchside: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: %s\n", usage);
    return EXIT_USAGE;
}

static int fail(const errinfo *ei, err_t rc)
{
    fprintf(stderr, "benchside: %s\n", ei->message[0] ? ei->message : err_message(rc));
    return rc == ERR_USAGE ? EXIT_USAGE : EXIT_FAILURE;
}

/* One line from standard input, without its line ending. */
static int read_password(char *out, size_t n)
{
    if (!fgets(out, (int)n, stdin))
        return -1;
    size_t len = strlen(out);
    if (len == n - 1 && out[len - 1] != '\n')
        return -1;
    while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return 0;
}

enum {
    OPT_DB = 1000,
    OPT_HTTP,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_MAX_BODY,
    OPT_IDLE,
    OPT_THREADS,
    OPT_MLLP,
    OPT_ASTM,
    OPT_MAX_MESSAGE,
    OPT_USERNAME,
    OPT_ROLE,
    OPT_DISPLAY,
    OPT_PWSTDIN,
    OPT_HELP
};

static const char serve_usage[] =
    "benchside serve [--db URL] [--http ADDR:PORT] [--tls-cert FILE --tls-key FILE]\n"
    "                [--max-body BYTES] [--session-idle-seconds N] [--threads N]\n"
    "                [--mllp ADDR:PORT|off] [--astm ADDR:PORT|off] [--max-message BYTES]\n"
    "  --mllp  HL7 v2 over MLLP from instruments and the EHR (default 0.0.0.0:2575)\n"
    "  --astm  ASTM E1381/E1394 over TCP (default 0.0.0.0:5000)\n"
    "  --max-message  largest instrument message accepted (default 1 MiB)";
static const char demo_usage[] =
    "benchside demo [--db URL] [--http ADDR:PORT] [--mllp ADDR:PORT|off] [--astm ADDR:PORT|off]\n"
    "  links listen on 127.0.0.1:2575 (MLLP) and 127.0.0.1:5000 (ASTM) by default";

static int run_server(int argc, char **argv, bool demo)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"http", required_argument, NULL, OPT_HTTP},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"session-idle-seconds", required_argument, NULL, OPT_IDLE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"mllp", required_argument, NULL, OPT_MLLP},
        {"astm", required_argument, NULL, OPT_ASTM},
        {"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *usage = demo ? demo_usage : serve_usage;
    app_serve_opts o = {.demo = demo};
    const char *db_opt = NULL;
    int64_t v;
    int c;
    errinfo ei;
    err_clear(&ei);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            db_opt = optarg;
            break;
        case OPT_HTTP:
            o.http = optarg;
            break;
        case OPT_TLS_CERT:
            o.tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            o.tls_key = optarg;
            break;
        case OPT_MAX_BODY:
            if (str_to_int64(optarg, strlen(optarg), 256, 1024LL * 1024 * 1024, &v))
                return usage_error(usage, "--max-body wants bytes from 256 to 1 GiB, got '%s'",
                                   optarg);
            o.max_body = (size_t)v;
            break;
        case OPT_IDLE:
            if (str_to_int64(optarg, strlen(optarg), 1, 86400, &v))
                return usage_error(usage, "--session-idle-seconds wants 1 to 86400, got '%s'",
                                   optarg);
            o.session_idle_s = v;
            break;
        case OPT_THREADS:
            if (str_to_int64(optarg, strlen(optarg), 1, 256, &v))
                return usage_error(usage, "--threads wants 1 to 256, got '%s'", optarg);
            o.threads = (int)v;
            break;
        case OPT_MLLP:
        case OPT_ASTM: {
            char addr[128];
            int port = 0;
            if (strcmp(optarg, "off") && str_split_hostport(optarg, addr, sizeof(addr), &port))
                return usage_error(usage, "--%s wants ADDR:PORT or off, got '%s'",
                                   c == OPT_MLLP ? "mllp" : "astm", optarg);
            if (c == OPT_MLLP)
                o.mllp = optarg;
            else
                o.astm = optarg;
            break;
        }
        case OPT_MAX_MESSAGE:
            if (str_to_int64(optarg, strlen(optarg), 1024, 64LL * 1024 * 1024, &v))
                return usage_error(usage, "--max-message wants bytes from 1024 to 64 MiB, got '%s'",
                                   optarg);
            o.max_message = (size_t)v;
            break;
        case OPT_HELP:
            printf("usage: %s\n", usage);
            return 0;
        default:
            return usage_error(usage, "unknown or incomplete option");
        }
    }
    if (optind < argc)
        return usage_error(usage, "unexpected argument '%s'", argv[optind]);
    if (demo) {
        o.db_url = db_opt ? db_opt : APP_DEMO_DB;
    } else {
        o.db_url = app_db_url(db_opt);
    }
    if (!o.tls_cert != !o.tls_key)
        return usage_error(usage, "--tls-cert and --tls-key go together");
    err_t rc = app_serve(&o, &ei);
    return rc ? fail(&ei, rc) : 0;
}

static int cmd_serve(int argc, char **argv)
{
    return run_server(argc, argv, false);
}

static int cmd_demo(int argc, char **argv)
{
    return run_server(argc, argv, true);
}

/* Parse --db and --help only. Returns -1 to go on, else an exit status. */
static int db_only_options(int argc, char **argv, const char *usage, const char **db_url)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *db_opt = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_DB) {
            db_opt = optarg;
        } else if (c == OPT_HELP) {
            printf("usage: %s\n", usage);
            return 0;
        } else {
            return usage_error(usage, "unknown or incomplete option");
        }
    }
    if (optind < argc)
        return usage_error(usage, "unexpected argument '%s'", argv[optind]);
    *db_url = app_db_url(db_opt);
    return -1;
}

static int cmd_migrate(int argc, char **argv)
{
    static const char usage[] = "benchside migrate [--db URL]";
    const char *url = NULL;
    int version = 0, applied = 0;
    db *d = NULL;
    errinfo ei;
    err_clear(&ei);
    int st = db_only_options(argc, argv, usage, &url);
    if (st >= 0)
        return st;
    err_t rc = db_open(url, &d, &ei);
    if (!rc)
        rc = migrate_apply(d, &applied, &ei);
    if (!rc)
        rc = migrate_version(d, &version, &ei);
    db_close(d);
    if (rc)
        return fail(&ei, rc);
    printf("applied %d migration(s); schema version %d\n", applied, version);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: benchside version\n");
        return 0;
    }
    if (argc > 1)
        return usage_error("benchside version", "unexpected argument '%s'", argv[1]);
    printf("benchside %s\n", BENCHSIDE_VERSION);
    return 0;
}

/* benchside user ACTION [options] */
static const char user_usage[] =
    "benchside user add --username U --role ROLE [--display-name NAME] --password-stdin [--db "
    "URL]\n"
    "       benchside user passwd --username U --password-stdin [--db URL]\n"
    "       benchside user disable|enable|unlock --username U [--db URL]\n"
    "       benchside user list [--db URL]";

static int cmd_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"username", required_argument, NULL, OPT_USERNAME},
        {"role", required_argument, NULL, OPT_ROLE},
        {"display-name", required_argument, NULL, OPT_DISPLAY},
        {"password-stdin", no_argument, NULL, OPT_PWSTDIN},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *action, *db_opt = NULL, *username = NULL, *role = NULL, *display = NULL;
    bool pw_stdin = false;
    char password[USER_PASSWORD_MAX + 2];
    audit_ctx ctx = app_cli_actor();
    db *d = NULL;
    user u;
    errinfo ei;
    err_t rc;
    int c;

    err_clear(&ei);
    if (argc < 2)
        return usage_error(user_usage, "user needs an action");
    action = argv[1];
    if (!strcmp(action, "--help")) {
        printf("usage: %s\n", user_usage);
        return 0;
    }
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            db_opt = optarg;
            break;
        case OPT_USERNAME:
            username = optarg;
            break;
        case OPT_ROLE:
            role = optarg;
            break;
        case OPT_DISPLAY:
            display = optarg;
            break;
        case OPT_PWSTDIN:
            pw_stdin = true;
            break;
        case OPT_HELP:
            printf("usage: %s\n", user_usage);
            return 0;
        default:
            return usage_error(user_usage, "unknown or incomplete option");
        }
    }
    if (optind < argc)
        return usage_error(user_usage, "unexpected argument '%s'", argv[optind]);
    bool is_add = !strcmp(action, "add"), is_passwd = !strcmp(action, "passwd");
    bool is_list = !strcmp(action, "list");
    if (!is_add && !is_passwd && !is_list && strcmp(action, "disable") &&
        strcmp(action, "enable") && strcmp(action, "unlock"))
        return usage_error(user_usage, "unknown user action '%s'", action);
    if (!is_list && !username)
        return usage_error(user_usage, "user %s needs --username", action);
    if (is_add && !role)
        return usage_error(user_usage, "user add needs --role");
    if ((is_add || is_passwd) && !pw_stdin)
        return usage_error(user_usage,
                           "user %s needs --password-stdin (the password is read from standard "
                           "input, never from the command line)",
                           action);
    if (is_add && perm_role_from_name(role) == ROLE_NONE) {
        fprintf(stderr, "benchside: unknown role '%s'; roles are: %s\n", role, perm_role_names());
        return EXIT_USAGE;
    }
    if ((is_add || is_passwd) && read_password(password, sizeof(password))) {
        fprintf(stderr, "benchside: could not read a password from standard input\n");
        return EXIT_FAILURE;
    }

    rc = is_add ? app_open_db(app_db_url(db_opt), &d, &ei)
                : app_open_existing_db(app_db_url(db_opt), &d, &ei);
    if (rc)
        return fail(&ei, rc);
    if (is_add) {
        rc = user_create(d, &ctx, username, display, role, password, &u, &ei);
        if (!rc)
            printf("created user %s (role %s, id %s)\n", u.username, perm_role_name(u.role), u.id);
    } else if (is_list) {
        user page[100];
        int count = 0;
        const char *after = NULL;
        char last[USER_NAME_MAX + 1] = "";
        do {
            rc = user_list(d, after, 100, page, &count, &ei);
            for (int i = 0; !rc && i < count; i++)
                printf("%-24s %-11s %s%s%s\n", page[i].username, perm_role_name(page[i].role),
                       page[i].display_name, page[i].locked ? " [locked]" : "",
                       page[i].disabled ? " [disabled]" : "");
            if (count > 0) {
                snprintf(last, sizeof(last), "%s", page[count - 1].username);
                after = last;
            }
        } while (!rc && count == 100);
    } else {
        rc = user_get_by_name(d, username, &u, &ei);
        if (rc == ERR_NOT_FOUND)
            err_set(&ei, rc, "username", "no user named '%s'", username);
        if (!rc && is_passwd)
            rc = user_set_password(d, &ctx, u.id, password, NULL, &ei);
        else if (!rc && !strcmp(action, "unlock"))
            rc = user_unlock(d, &ctx, u.id, NULL, &ei);
        else if (!rc)
            rc = user_update(d, &ctx, u.id, NULL, NULL, !strcmp(action, "disable"), NULL, &ei);
        if (!rc)
            printf("%s: done for %s\n", action, username);
    }
    db_close(d);
    memset(password, 0, sizeof(password));
    return rc ? fail(&ei, rc) : 0;
}

static const char import_usage[] = "benchside import catalog FILE.json [--db URL]\n"
                                   "       benchside import instruments FILE.json [--db URL]";
static const char export_usage[] =
    "benchside export catalog [--db URL]   (JSON on standard output)";

/* benchside import catalog FILE */
static int cmd_import(int argc, char **argv)
{
    const char *url = NULL;
    json_error_t je;
    db *d = NULL;
    int tests = 0, panels = 0;
    errinfo ei;
    err_clear(&ei);
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: %s\n", import_usage);
        return 0;
    }
    bool instruments = argc >= 3 && !strcmp(argv[1], "instruments");
    if (argc < 3 || (strcmp(argv[1], "catalog") && !instruments))
        return usage_error(import_usage,
                           "import takes: catalog FILE.json, or instruments FILE.json");
    const char *file = argv[2];
    int st = db_only_options(argc - 2, argv + 2, import_usage, &url);
    if (st >= 0)
        return st;
    json_t *doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        fprintf(stderr, "benchside: %s: line %d, column %d: %s\n", file, je.line, je.column,
                je.text);
        return EXIT_FAILURE;
    }
    audit_ctx ctx = app_cli_actor();
    err_t rc = app_open_db(url, &d, &ei);
    if (!rc)
        rc = instruments ? instrument_import(d, &ctx, doc, &tests, &ei)
                         : catalog_import(d, &ctx, doc, &tests, &panels, &ei);
    db_close(d);
    json_decref(doc);
    if (rc) {
        if (ei.field[0])
            fprintf(stderr, "benchside: %s: %s: %s\n", file, ei.field, ei.message);
        else
            fprintf(stderr, "benchside: %s: %s\n", file, ei.message);
        return EXIT_FAILURE;
    }
    if (instruments)
        printf("imported %d instrument(s) from %s\n", tests, file);
    else
        printf("imported %d test(s) and %d panel(s) from %s\n", tests, panels, file);
    return 0;
}

/* benchside export catalog */
static int cmd_export(int argc, char **argv)
{
    const char *url = NULL;
    db *d = NULL;
    json_t *doc = NULL;
    errinfo ei;
    err_clear(&ei);
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: %s\n", export_usage);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "catalog"))
        return usage_error(export_usage, "export takes: catalog");
    int st = db_only_options(argc - 1, argv + 1, export_usage, &url);
    if (st >= 0)
        return st;
    err_t rc = app_open_existing_db(url, &d, &ei);
    if (!rc)
        rc = catalog_export(d, &doc, &ei);
    db_close(d);
    if (rc)
        return fail(&ei, rc);
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("\n");
    json_decref(doc);
    return 0;
}

static const char hl7_usage[] = "benchside hl7 parse FILE|-";
static const char astm_usage[] = "benchside astm decode FILE|-";

/* The whole of path ("-": standard input), at most max bytes; the caller frees it. */
static char *read_all(const char *path, size_t max, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    buf b = BUF_INIT;
    char chunk[65536];
    size_t n;
    *len = 0;
    if (!f)
        return NULL;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > max || buf_append(&b, chunk, n)) {
            buf_free(&b);
            b.len = (size_t)-1;
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (b.len == (size_t)-1) {
        errno = EFBIG;
        return NULL;
    }
    *len = b.len;
    return b.data ? buf_take(&b) : strdup("");
}

/* benchside hl7 parse FILE / benchside astm decode FILE: the message as JSON. */
static int show_message(int argc, char **argv, const char *usage, const char *verb,
                        err_t (*render)(const char *, size_t, json_t **, errinfo *))
{
    errinfo ei;
    size_t len = 0;
    json_t *doc = NULL;
    err_clear(&ei);
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: %s\n", usage);
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], verb))
        return usage_error(usage, "wants: %s FILE (or - for standard input)", verb);
    char *data = read_all(argv[2], (size_t)64 << 20, &len);
    if (!data) {
        fprintf(stderr, "benchside: %s: %s\n", argv[2],
                errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
        return EXIT_FAILURE;
    }
    err_t rc = render(data, len, &doc, &ei);
    free(data);
    if (rc) {
        fprintf(stderr, "benchside: %s: %s\n", argv[2],
                ei.message[0] ? ei.message : err_message(rc));
        return EXIT_FAILURE;
    }
    json_dumpf(doc, stdout, JSON_INDENT(2));
    printf("\n");
    json_decref(doc);
    return 0;
}

static int cmd_hl7(int argc, char **argv)
{
    return show_message(argc, argv, hl7_usage, "parse", tools_hl7_json);
}

static int cmd_astm(int argc, char **argv)
{
    return show_message(argc, argv, astm_usage, "decode", tools_astm_json);
}

static const char audit_usage[] = "benchside audit verify [--db URL]";

static int cmd_audit(int argc, char **argv)
{
    const char *url = NULL;
    db *d = NULL;
    audit_verify_result v;
    errinfo ei;
    err_clear(&ei);
    if (argc < 2)
        return usage_error(audit_usage, "audit needs an action");
    if (!strcmp(argv[1], "--help")) {
        printf("usage: %s\n", audit_usage);
        return 0;
    }
    if (strcmp(argv[1], "verify"))
        return usage_error(audit_usage, "unknown audit action '%s'", argv[1]);
    int st = db_only_options(argc - 1, argv + 1, audit_usage, &url);
    if (st >= 0)
        return st;
    err_t rc = app_open_existing_db(url, &d, &ei);
    if (!rc)
        rc = audit_verify(d, &v, &ei);
    db_close(d);
    if (rc)
        return fail(&ei, rc);
    if (!v.ok) {
        printf("audit trail BROKEN at event %lld: %s (%lld events verified before it)\n",
               (long long)v.seq, v.problem, (long long)v.events);
        return EXIT_FAILURE;
    }
    printf("audit trail OK: %lld events, hash chain intact\n", (long long)v.events);
    return 0;
}

static int cmd_help(int argc, char **argv);

static const struct cmd commands[] = {
    {"serve", cmd_serve, serve_usage, "run the server"},
    {"demo", cmd_demo, demo_usage, "run the server on a demo database with demo accounts"},
    {"migrate", cmd_migrate, "benchside migrate [--db URL]", "apply database migrations"},
    {"user", cmd_user, user_usage, "add, change, unlock and list users"},
    {"audit", cmd_audit, audit_usage, "verify the audit trail's hash chain"},
    {"import", cmd_import, import_usage, "import the test catalog or the instruments from JSON"},
    {"export", cmd_export, export_usage, "export the test catalog as JSON"},
    {"hl7", cmd_hl7, hl7_usage, "show an HL7 v2 message as JSON, or where it is malformed"},
    {"astm", cmd_astm, astm_usage, "show an ASTM capture (E1381 frames, E1394 records) as JSON"},
    {"version", cmd_version, "benchside version", "print the version"},
    {"help", cmd_help, "benchside help", "list the commands"},
};

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("usage: benchside COMMAND [options]   (benchside COMMAND --help for more)\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].summary);
    printf("\nDatabase: --db URL (sqlite:PATH or postgresql://...), default $BENCHSIDE_DB or "
           "%s\n",
           APP_DEFAULT_DB);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "benchside: libsodium failed to initialise\n");
        return EXIT_FAILURE;
    }
    if (argc < 2) {
        cmd_help(0, NULL);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return cmd_help(0, NULL);
    if (!strcmp(argv[1], "--version"))
        return cmd_version(1, argv);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "benchside: unknown command '%s' (benchside help lists them)\n", argv[1]);
    return EXIT_USAGE;
}
