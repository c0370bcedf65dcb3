/*
 * main.c - the benchside command line: git-style subcommands from a table.
 *
 * Each subcommand parses its options and calls into the library; the logic
 * lives in src/app and the modules below it. Exit status: 0 success, 1
 * failure, 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
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
#include "care/news2.h"
#include "config.h"
#include "equip/asset.h"
#include "equip/checklist.h"
#include "lab/catalog.h"
#include "lab/instrument.h"
#include "link/sim.h"
#include "qc/westgard.h"
#include "stock/stock.h"
#include "store/migrate.h"
/* routes and security options */
#include "auth/throttle.h"
#include "http/http.h"
#include "http/routelist.h"

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
    OPT_HELP,
    OPT_HEARTBEAT,
    OPT_ORIGIN,
    OPT_PER_ADDRESS,
    OPT_SIGN_IN_FAILURES,
    OPT_SIGN_IN_INTERVAL,
    OPT_NODE,
};

static const char serve_usage[] =
    "benchside serve [--db URL] [--http ADDR:PORT] [--tls-cert FILE --tls-key FILE]\n"
    "                [--max-body BYTES] [--session-idle-seconds N] [--threads N]\n"
    "                [--mllp ADDR:PORT|off] [--astm ADDR:PORT|off] [--max-message BYTES]\n"
    "  --mllp  HL7 v2 over MLLP from instruments and the EHR (default 0.0.0.0:2575)\n"
    "  --astm  ASTM E1381/E1394 over TCP (default 0.0.0.0:5000)\n"
    "  --max-message  largest instrument message accepted (default 1 MiB)\n"
    "  --heartbeat-seconds N  between heartbeats of live-event streams (default 15)\n"
    "  --origin URL  this server's address as browsers see it (https://lab.example.org), when\n"
    "                a proxy in front changes the Host header; state-changing requests signed\n"
    "                in by the session cookie must come from it\n"
    "  --max-connections-per-address N  connections one client address may hold (default 256,\n"
    "                0: no limit; raise it behind a proxy that connects from one address)\n"
    "  --sign-in-failures N  failed sign-ins one address may make at once, then one every\n"
    "                --sign-in-interval-seconds S (default 30 and 10 s; 0 failures: no limit)\n"
    "  --node NAME  this node among several on one PostgreSQL database (default HOST-PID)";
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
        {"heartbeat-seconds", required_argument, NULL, OPT_HEARTBEAT},
        {"origin", required_argument, NULL, OPT_ORIGIN},
        {"max-connections-per-address", required_argument, NULL, OPT_PER_ADDRESS},
        {"sign-in-failures", required_argument, NULL, OPT_SIGN_IN_FAILURES},
        {"sign-in-interval-seconds", required_argument, NULL, OPT_SIGN_IN_INTERVAL},
        {"node", required_argument, NULL, OPT_NODE},
        {NULL, 0, NULL, 0},
    };
    const char *usage = demo ? demo_usage : serve_usage;
    app_serve_opts o = {
        .demo = demo, .per_address = APP_PER_ADDRESS_DEFAULT, .sign_in_burst = THROTTLE_BURST};
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
        case OPT_HEARTBEAT:
            if (str_to_int64(optarg, strlen(optarg), 1, 3600, &v))
                return usage_error(usage, "--heartbeat-seconds wants 1 to 3600, got '%s'", optarg);
            o.heartbeat_s = (int)v;
            break;
        case OPT_ORIGIN:
            if (!http_origin_valid(optarg))
                return usage_error(
                    usage, "--origin wants http(s)://HOST[:PORT] with no path, got '%s'", optarg);
            o.origin = optarg;
            break;
        case OPT_PER_ADDRESS:
            if (str_to_int64(optarg, strlen(optarg), 0, 100000, &v))
                return usage_error(
                    usage, "--max-connections-per-address wants 0 to 100000, got '%s'", optarg);
            o.per_address = (int)v;
            break;
        case OPT_SIGN_IN_FAILURES:
            if (str_to_int64(optarg, strlen(optarg), 0, 100000, &v))
                return usage_error(usage, "--sign-in-failures wants 0 to 100000, got '%s'", optarg);
            o.sign_in_burst = (int)v;
            break;
        case OPT_SIGN_IN_INTERVAL:
            if (str_to_int64(optarg, strlen(optarg), 1, 86400, &v))
                return usage_error(usage, "--sign-in-interval-seconds wants 1 to 86400, got '%s'",
                                   optarg);
            o.sign_in_interval_s = (int)v;
            break;
        case OPT_NODE:
            if (!app_node_valid(optarg))
                return usage_error(usage,
                                   "--node wants 1 to 64 letters, digits, '.', '_' or '-', got "
                                   "'%s'",
                                   optarg);
            o.node = optarg;
            break;
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
                                   "       benchside import instruments FILE.json [--db URL]\n"
                                   "       benchside import assets FILE.json [--db URL]\n"
                                   "       benchside import checklists FILE.json [--db URL]\n"
                                   "       benchside import items FILE.json [--db URL]";
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
    bool assets = argc >= 3 && !strcmp(argv[1], "assets");
    bool checklists = argc >= 3 && !strcmp(argv[1], "checklists");
    bool items = argc >= 3 && !strcmp(argv[1], "items");
    if (argc < 3 ||
        (strcmp(argv[1], "catalog") && !instruments && !assets && !checklists && !items))
        return usage_error(import_usage,
                           "import takes: catalog FILE.json, instruments FILE.json, assets "
                           "FILE.json, checklists FILE.json or items FILE.json");
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
    json_t *written = NULL;
    if (!rc && items) {
        rc = stock_items_import(d, &ctx, doc, &written, &ei);
        tests = (int)json_array_size(written);
        json_decref(written);
    } else if (!rc)
        rc = instruments  ? instrument_import(d, &ctx, doc, &tests, &ei)
             : assets     ? equip_asset_import(d, &ctx, doc, &tests, &ei)
             : checklists ? equip_checklist_import(d, &ctx, doc, &tests, &ei)
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
    if (items)
        printf("imported %d item(s) of supplies from %s\n", tests, file);
    else if (instruments)
        printf("imported %d instrument(s) from %s\n", tests, file);
    else if (assets)
        printf("imported %d asset(s) from %s\n", tests, file);
    else if (checklists)
        printf("imported %d new checklist template version(s) from %s\n", tests, file);
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

static const char qc_usage[] = "benchside qc evaluate [--rules LIST] FILE.csv|-";

static const char qc_help[] =
    "Judges control results by the Westgard rules and prints each violation as one JSON\n"
    "line: {\"rule\",\"scope\",\"level\",\"rows\",\"time\",\"action\"}. See docs/qc.md.\n"
    "\n"
    "  --rules LIST   rules to apply, comma-separated, any case (10x or 10-x):\n"
    "                 1-2s 1-3s 2-2s R-4s 4-1s 2of3-2s 3-1s 6x 8x 9x 10x 12x\n"
    "                 (default 1-2s,1-3s,2-2s,R-4s,4-1s,10x; 1-2s is a warning)\n"
    "\n"
    "FILE is CSV with the header time,run,level,value,mean,sd (any order; other columns\n"
    "are ignored), one control result a row in time order: time ISO 8601 with a zone,\n"
    "run and level a number or text, value, mean and sd decimal numbers (sd > 0).\n"
    "rows in the output are data row numbers (1 is the line after the header).\n"
    "\n"
    "Exit status 0 when the file was judged (with violations or none), 1 when it\n"
    "cannot be read or is refused (the row and column are named; nothing is printed\n"
    "on standard output), 2 for bad usage.";

enum { QC_OPT_RULES = 3000 };

/* benchside qc evaluate: see qc_usage. */
static int cmd_qc(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rules", required_argument, NULL, QC_OPT_RULES},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    uint32_t rules = QC_WESTGARD_DEFAULT_RULES;
    buf out = BUF_INIT;
    size_t len = 0;
    errinfo ei;
    int c;
    err_clear(&ei);
    if (argc < 2)
        return usage_error(qc_usage, "qc needs an action (evaluate)");
    if (!strcmp(argv[1], "--help")) {
        printf("usage: %s\n\n%s\n", qc_usage, qc_help);
        return 0;
    }
    if (strcmp(argv[1], "evaluate"))
        return usage_error(qc_usage, "unknown qc action '%s'", argv[1]);
    argc--;
    argv++;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case QC_OPT_RULES:
            if (qc_westgard_rules_parse(optarg, strlen(optarg), &rules, &ei))
                return usage_error(qc_usage, "--rules: %s", ei.message);
            break;
        case OPT_HELP:
            printf("usage: %s\n\n%s\n", qc_usage, qc_help);
            return 0;
        default:
            return usage_error(qc_usage, "unknown or incomplete option");
        }
    }
    if (optind >= argc)
        return usage_error(qc_usage, "qc evaluate needs a FILE (or - for standard input)");
    if (optind + 1 < argc)
        return usage_error(qc_usage, "unexpected argument '%s'", argv[optind + 1]);
    const char *file = argv[optind];
    char *data = read_all(file, (size_t)64 << 20, &len);
    if (!data) {
        fprintf(stderr, "benchside: %s: %s\n", file,
                errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
        return EXIT_FAILURE;
    }
    err_t rc = tools_qc_evaluate(data, len, rules, &out, &ei);
    free(data);
    if (rc) {
        fprintf(stderr, "benchside: %s: %s\n", file, ei.message[0] ? ei.message : err_message(rc));
        buf_free(&out);
        return EXIT_FAILURE;
    }
    if (out.len && fwrite(out.data, 1, out.len, stdout) != out.len) {
        buf_free(&out);
        return EXIT_FAILURE;
    }
    buf_free(&out);
    return fflush(stdout) ? EXIT_FAILURE : 0;
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

/* Options of benchside sim, numbered apart from the others. */
enum {
    SIM_OPT_PROTOCOL = 2000,
    SIM_OPT_CONNECT,
    SIM_OPT_PTY,
    SIM_OPT_SENDER,
    SIM_OPT_SPECIMEN,
    SIM_OPT_SPECIMENS,
    SIM_OPT_TESTS,
    SIM_OPT_NO_QUERY,
    SIM_OPT_RATE,
    SIM_OPT_COUNT,
    SIM_OPT_CRITICAL_EVERY,
    SIM_OPT_BAD_CHECKSUM_EVERY,
    SIM_OPT_DROP_EVERY,
    SIM_OPT_HL7_MESSAGE,
    SIM_OPT_SEED,
    SIM_OPT_CONNECT_TIMEOUT,
    SIM_OPT_REPLY_TIMEOUT,
};

static const char sim_usage[] =
    "benchside sim [--protocol astm|hl7] [--connect HOST:PORT | --pty] [--sender NAME]\n"
    "              (--specimen ACC)... [--specimens FILE] [--tests CODE,...] [--no-query]\n"
    "              [--rate N] [--count N] [--critical-every N] [--bad-checksum-every N]\n"
    "              [--drop-every N] [--hl7-message oul|oru] [--seed N]\n"
    "              [--connect-timeout S] [--reply-timeout S]";

static const char sim_help[] =
    "A virtual analyzer: asks the host for each specimen's pending tests, sends plausible\n"
    "results for them (demo catalog codes, units and ranges) and waits for each\n"
    "acknowledgment. The wire contract is in src/link/sim.h; see docs/simulator.md.\n"
    "\n"
    "  --protocol astm|hl7      ASTM E1381/E1394 (default) or HL7 v2.5.1 over MLLP\n"
    "  --connect HOST:PORT      the host's listener (default 127.0.0.1:5000 for ASTM,\n"
    "                           127.0.0.1:2575 for HL7)\n"
    "  --pty                    make a pseudo-terminal instead, print {\"pty\":PATH} as the\n"
    "                           first line and talk over it once the host opens PATH\n"
    "  --sender NAME            ASTM H.5 / HL7 MSH-3 (default SIM-ASTM, SIM-HL7)\n"
    "  --specimen ACC           an accession to work on (repeatable)\n"
    "  --specimens FILE         accessions, one a line (# comments)\n"
    "  --tests CODE,...         send these tests without asking the host (load runs)\n"
    "  --no-query               the same, said outright (needs --tests)\n"
    "  --rate N                 results messages per second (default 1)\n"
    "  --count N                results messages to send; 0 until stopped\n"
    "                           (default: one round over the specimens)\n"
    "  --critical-every N       every Nth result beyond its test's critical limit\n"
    "  --bad-checksum-every N   ASTM: every Nth frame first with a wrong checksum\n"
    "  --drop-every N           close the connection in the middle of every Nth message,\n"
    "                           reconnect and send it again (TCP only)\n"
    "  --hl7-message oul|oru    HL7 results as OUL^R22 (default) or ORU^R01\n"
    "  --seed N                 replay the same values\n"
    "  --connect-timeout S      keep trying to connect this long (default 10; --pty 60)\n"
    "  --reply-timeout S        wait this long for an HL7 answer or ASTM query answer\n"
    "                           (default 30)\n"
    "\n"
    "At the end (or on SIGINT/SIGTERM) one JSON line with what was sent and acknowledged.\n"
    "Exit status 0 when everything sent was acknowledged, 1 otherwise, 2 for bad usage.";

static volatile int sim_stop;

static void sim_on_signal(int sig)
{
    (void)sig;
    sim_stop = 1;
}

static void sim_print_pty(void *cls, const char *path)
{
    buf b = BUF_INIT;
    (void)cls;
    buf_puts(&b, "{\"pty\":");
    str_json_quote(&b, path, strlen(path));
    buf_puts(&b, "}\n");
    if (b.data)
        fputs(b.data, stdout);
    fflush(stdout);
    buf_free(&b);
}

/* A count option: 1 to 1,000,000, or 0 to 10^12 for --count. */
static int sim_number(const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out)
{
    if (str_to_int64(arg, strlen(arg), min, max, out))
        return usage_error(sim_usage, "%s wants a whole number from %lld to %lld, got '%s'", opt,
                           (long long)min, (long long)max, arg);
    return -1;
}

/* Seconds, a decimal number from 0.1 to a day. */
static int sim_seconds(const char *opt, const char *arg, int64_t *ms)
{
    double v;
    if (str_to_double(arg, strlen(arg), &v) || !(v >= 0.1 && v <= 86400))
        return usage_error(sim_usage, "%s wants seconds from 0.1 to 86400, got '%s'", opt, arg);
    *ms = (int64_t)(v * 1000 + 0.5);
    return -1;
}

/* benchside sim: see sim_usage and src/link/sim.h. */
static int cmd_sim(int argc, char **argv)
{
    static const struct option opts[] = {
        {"protocol", required_argument, NULL, SIM_OPT_PROTOCOL},
        {"connect", required_argument, NULL, SIM_OPT_CONNECT},
        {"pty", no_argument, NULL, SIM_OPT_PTY},
        {"sender", required_argument, NULL, SIM_OPT_SENDER},
        {"specimen", required_argument, NULL, SIM_OPT_SPECIMEN},
        {"specimens", required_argument, NULL, SIM_OPT_SPECIMENS},
        {"tests", required_argument, NULL, SIM_OPT_TESTS},
        {"no-query", no_argument, NULL, SIM_OPT_NO_QUERY},
        {"rate", required_argument, NULL, SIM_OPT_RATE},
        {"count", required_argument, NULL, SIM_OPT_COUNT},
        {"critical-every", required_argument, NULL, SIM_OPT_CRITICAL_EVERY},
        {"bad-checksum-every", required_argument, NULL, SIM_OPT_BAD_CHECKSUM_EVERY},
        {"drop-every", required_argument, NULL, SIM_OPT_DROP_EVERY},
        {"hl7-message", required_argument, NULL, SIM_OPT_HL7_MESSAGE},
        {"seed", required_argument, NULL, SIM_OPT_SEED},
        {"connect-timeout", required_argument, NULL, SIM_OPT_CONNECT_TIMEOUT},
        {"reply-timeout", required_argument, NULL, SIM_OPT_REPLY_TIMEOUT},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    sim_opts o;
    sim_stats st;
    errinfo ei;
    char host[256];
    char *tests_copy = NULL;
    const char *hl7_message = NULL;
    const char **specimens = calloc((size_t)argc + 1, sizeof *specimens);
    const char *tests[SIM_TESTS_MAX];
    int64_t v;
    int c, status = -1;
    memset(&o, 0, sizeof o);
    err_clear(&ei);
    if (!specimens) {
        fprintf(stderr, "benchside: out of memory\n");
        return EXIT_FAILURE;
    }
    o.specimens = specimens;
    o.tests = tests;
    while (status < 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case SIM_OPT_PROTOCOL:
            if (!strcmp(optarg, "astm"))
                o.protocol = SIM_ASTM;
            else if (!strcmp(optarg, "hl7"))
                o.protocol = SIM_HL7;
            else
                status = usage_error(sim_usage, "--protocol is astm or hl7, got '%s'", optarg);
            break;
        case SIM_OPT_CONNECT: {
            /* HOST:PORT, [IPv6]:PORT */
            const char *colon = strrchr(optarg, ':');
            const char *h = optarg;
            size_t hn = colon ? (size_t)(colon - optarg) : 0;
            if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
                h++;
                hn -= 2;
            }
            if (!colon || hn == 0 || hn >= sizeof host ||
                str_to_int64(colon + 1, strlen(colon + 1), 1, 65535, &v)) {
                status = usage_error(sim_usage,
                                     "--connect wants HOST:PORT (port 1 to 65535), "
                                     "got '%s'",
                                     optarg);
                break;
            }
            memcpy(host, h, hn);
            host[hn] = '\0';
            o.host = host;
            o.port = (unsigned)v;
            break;
        }
        case SIM_OPT_PTY:
            o.pty = true;
            break;
        case SIM_OPT_SENDER:
            o.sender = optarg;
            break;
        case SIM_OPT_SPECIMEN:
            specimens[o.nspecimens++] = optarg;
            break;
        case SIM_OPT_SPECIMENS:
            o.specimens_file = optarg;
            break;
        case SIM_OPT_TESTS: {
            free(tests_copy);
            tests_copy = strdup(optarg);
            o.ntests = 0;
            if (!tests_copy) {
                status = EXIT_FAILURE;
                break;
            }
            for (char *save = NULL, *t = strtok_r(tests_copy, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                if (o.ntests == SIM_TESTS_MAX) {
                    status = usage_error(sim_usage, "--tests: at most %d tests", SIM_TESTS_MAX);
                    break;
                }
                tests[o.ntests++] = t;
            }
            if (status < 0 && o.ntests == 0)
                status = usage_error(sim_usage, "--tests wants CODE,CODE... (catalog codes)");
            break;
        }
        case SIM_OPT_NO_QUERY:
            o.no_query = true;
            break;
        case SIM_OPT_RATE: {
            double r;
            if (str_to_double(optarg, strlen(optarg), &r) || !(r > 0 && r <= 10000))
                status = usage_error(sim_usage,
                                     "--rate wants messages per second, more than 0 and at "
                                     "most 10000, got '%s'",
                                     optarg);
            o.rate = r;
            break;
        }
        case SIM_OPT_COUNT:
            status = sim_number("--count", optarg, 0, 1000000000000LL, &v);
            o.count = (uint64_t)v;
            o.until_stopped = v == 0;
            break;
        case SIM_OPT_CRITICAL_EVERY:
            status = sim_number("--critical-every", optarg, 1, 1000000, &v);
            o.critical_every = (unsigned)v;
            break;
        case SIM_OPT_BAD_CHECKSUM_EVERY:
            status = sim_number("--bad-checksum-every", optarg, 1, 1000000, &v);
            o.bad_checksum_every = (unsigned)v;
            break;
        case SIM_OPT_DROP_EVERY:
            status = sim_number("--drop-every", optarg, 1, 1000000, &v);
            o.drop_every = (unsigned)v;
            break;
        case SIM_OPT_HL7_MESSAGE:
            hl7_message = optarg;
            if (!strcmp(optarg, "oul"))
                o.hl7_message = SIM_OUL_R22;
            else if (!strcmp(optarg, "oru"))
                o.hl7_message = SIM_ORU_R01;
            else
                status = usage_error(sim_usage, "--hl7-message is oul or oru, got '%s'", optarg);
            break;
        case SIM_OPT_SEED:
            status = sim_number("--seed", optarg, 0, INT64_MAX, &v);
            o.seed = (uint64_t)v;
            o.seeded = true;
            break;
        case SIM_OPT_CONNECT_TIMEOUT:
            status = sim_seconds("--connect-timeout", optarg, &o.connect_timeout_ms);
            break;
        case SIM_OPT_REPLY_TIMEOUT:
            status = sim_seconds("--reply-timeout", optarg, &o.reply_timeout_ms);
            break;
        case OPT_HELP:
            printf("usage: %s\n\n%s\n", sim_usage, sim_help);
            status = 0;
            break;
        default:
            status = usage_error(sim_usage, "unknown or incomplete option");
            break;
        }
    }
    if (status < 0 && optind < argc)
        status = usage_error(sim_usage, "unexpected argument '%s'", argv[optind]);
    if (status < 0 && hl7_message && o.protocol != SIM_HL7)
        status = usage_error(sim_usage, "--hl7-message is for --protocol hl7");
    if (status < 0 && sim_check(&o, &ei))
        status = usage_error(sim_usage, "%s", ei.message);
    if (status >= 0)
        goto done;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sim_on_signal; /* no SA_RESTART: poll() returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    o.on_pty = sim_print_pty;
    err_t rc = sim_run(&o, &st, &sim_stop, &ei);
    if (rc == ERR_USAGE) {
        status = usage_error(sim_usage, "%s", ei.message);
        goto done;
    }
    buf line = BUF_INIT;
    if (!sim_stats_json(&st, &line))
        printf("%s\n", line.data);
    fflush(stdout);
    buf_free(&line);
    if (rc)
        fprintf(stderr, "benchside: %s\n", ei.message[0] ? ei.message : err_message(rc));
    status = !rc && sim_stats_ok(&st) ? 0 : EXIT_FAILURE;
done:
    free(tests_copy);
    free(specimens);
    return status;
}

static const char news2_usage[] =
    "benchside news2 --rr N --spo2 N [--scale 2] [--oxygen] --sbp N --pulse N\n"
    "                --acvpu A|C|V|P|U --temp N.N";

static const char news2_help[] =
    "Computes the National Early Warning Score 2 (Royal College of Physicians, 2017) of one\n"
    "set of observations and prints it as JSON: the score, each parameter's value and\n"
    "points, whether one parameter scored 3, the clinical risk band (low, low-medium,\n"
    "medium, high) and the response it calls for. See docs/care.md.\n"
    "\n"
    "  --rr N        respiration rate per minute\n"
    "  --spo2 N      oxygen saturation, %\n"
    "  --scale 2     SpO2 scale 2 (hypercapnic respiratory failure, target 88-92%)\n"
    "  --oxygen      on supplemental oxygen (default: air)\n"
    "  --sbp N       systolic blood pressure, mmHg\n"
    "  --pulse N     per minute\n"
    "  --acvpu L     consciousness: Alert, new Confusion, Voice, Pain, Unresponsive\n"
    "  --temp N.N    temperature, degrees Celsius\n"
    "\n"
    "Exit status 0 with the score printed, 1 when a value is no reading (a pulse of\n"
    "900), 2 for bad usage (an option missing or not a number).";

enum {
    NEWS2_OPT_RR = 4000,
    NEWS2_OPT_SPO2,
    NEWS2_OPT_SCALE,
    NEWS2_OPT_OXYGEN,
    NEWS2_OPT_SBP,
    NEWS2_OPT_PULSE,
    NEWS2_OPT_ACVPU,
    NEWS2_OPT_TEMP,
};

/* benchside news2: see news2_usage. */
static int cmd_news2(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rr", required_argument, NULL, NEWS2_OPT_RR},
        {"spo2", required_argument, NULL, NEWS2_OPT_SPO2},
        {"scale", required_argument, NULL, NEWS2_OPT_SCALE},
        {"oxygen", no_argument, NULL, NEWS2_OPT_OXYGEN},
        {"sbp", required_argument, NULL, NEWS2_OPT_SBP},
        {"pulse", required_argument, NULL, NEWS2_OPT_PULSE},
        {"acvpu", required_argument, NULL, NEWS2_OPT_ACVPU},
        {"temp", required_argument, NULL, NEWS2_OPT_TEMP},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    /* which option sets which parameter */
    static const struct {
        int opt;
        care_news2_param param;
        const char *name;
    } numeric[] = {
        {NEWS2_OPT_RR, CARE_NEWS2_RR, "--rr"},       {NEWS2_OPT_SPO2, CARE_NEWS2_SPO2, "--spo2"},
        {NEWS2_OPT_SBP, CARE_NEWS2_SBP, "--sbp"},    {NEWS2_OPT_PULSE, CARE_NEWS2_PULSE, "--pulse"},
        {NEWS2_OPT_TEMP, CARE_NEWS2_TEMP, "--temp"},
    };
    const char *text[CARE_NEWS2_PARAMS] = {NULL};
    care_news2_in in;
    care_news2 s;
    errinfo ei;
    int c;
    err_clear(&ei);
    memset(&in, 0, sizeof(in));
    in.scale = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        size_t k = 0;
        while (k < sizeof(numeric) / sizeof(numeric[0]) && numeric[k].opt != c)
            k++;
        if (k < sizeof(numeric) / sizeof(numeric[0])) {
            text[numeric[k].param] = optarg;
            continue;
        }
        switch (c) {
        case NEWS2_OPT_SCALE:
            if (strcmp(optarg, "1") && strcmp(optarg, "2"))
                return usage_error(news2_usage, "--scale must be 1 or 2");
            in.scale = optarg[0] - '0';
            break;
        case NEWS2_OPT_OXYGEN:
            in.oxygen = true;
            break;
        case NEWS2_OPT_ACVPU:
            text[CARE_NEWS2_ACVPU] = optarg;
            break;
        case OPT_HELP:
            printf("usage: %s\n\n%s\n", news2_usage, news2_help);
            return 0;
        default:
            return usage_error(news2_usage, "unknown or incomplete option");
        }
    }
    if (optind < argc)
        return usage_error(news2_usage, "unexpected argument '%s'", argv[optind]);
    for (size_t k = 0; k < sizeof(numeric) / sizeof(numeric[0]); k++) {
        const char *v = text[numeric[k].param];
        double d = 0;
        if (!v)
            return usage_error(news2_usage, "%s is needed", numeric[k].name);
        if (str_to_double(v, strlen(v), &d))
            return usage_error(news2_usage, "%s must be a number, not '%s'", numeric[k].name, v);
        if (care_news2_set(&in, numeric[k].param, d, numeric[k].name + 2, &ei))
            return fail(&ei, ERR_INVALID);
    }
    if (!text[CARE_NEWS2_ACVPU])
        return usage_error(news2_usage, "--acvpu is needed");
    char acvpu = care_news2_acvpu_of(text[CARE_NEWS2_ACVPU]);
    if (!acvpu)
        return usage_error(news2_usage, "--acvpu must be A, C, V, P or U");
    care_news2_set(&in, CARE_NEWS2_ACVPU, acvpu, "acvpu", &ei);
    care_news2_set(&in, CARE_NEWS2_AIR, in.oxygen, "oxygen", &ei);
    care_news2_score(&in, &s);
    json_t *j = care_news2_json(&in, &s);
    /* 15 digits: a temperature of 37.9 reads 37.9, as the double it is */
    if (!j || json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(15))) {
        json_decref(j);
        return EXIT_FAILURE;
    }
    json_decref(j);
    putchar('\n');
    return fflush(stdout) ? EXIT_FAILURE : 0;
}

/* ---- routes: every HTTP route with its permission and the roles holding it ---- */

static int cmd_routes(int argc, char **argv)
{
    static const char usage[] = "benchside routes [--json]";
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: %s\n", usage);
            return 0;
        } else
            return usage_error(usage, "unexpected argument '%s'", argv[i]);
    }
    json_t *list = http_route_list();
    if (!list) {
        fprintf(stderr, "benchside: out of memory\n");
        return EXIT_FAILURE;
    }
    if (as_json) {
        char *text = json_dumps(list, JSON_INDENT(1));
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(list);
        return text ? 0 : EXIT_FAILURE;
    }
    size_t i, j;
    json_t *rt, *role;
    json_array_foreach(list, i, rt)
    {
        printf("%-6s %-52s %-18s", json_string_value(json_object_get(rt, "method")),
               json_string_value(json_object_get(rt, "path")),
               json_string_value(json_object_get(rt, "permission")));
        json_array_foreach(json_object_get(rt, "roles"), j, role)
            printf("%s%s", j ? "," : " ", json_string_value(role));
        printf("\n");
    }
    json_decref(list);
    return 0;
}

/* ---- backups and the site check ---- */

static const char backup_usage[] = "benchside backup FILE [--db URL]";
static const char restore_usage[] = "benchside restore FILE [--db URL] [--yes]\n"
                                    "  --yes  replace a database that holds data already";
static const char doctor_usage[] =
    "benchside doctor [--db URL] [--http ADDR:PORT] [--mllp ADDR:PORT|off] [--astm ADDR:PORT|off]\n"
    "                 [--tls-cert FILE --tls-key FILE] [--full]\n"
    "  checks what serve with the same options needs; --full verifies the whole audit chain\n"
    "  exit status 0: nothing failed (warnings are printed), 1: something failed";

enum { OPS_OPT_YES = 3000, OPS_OPT_FULL };

/* Options of backup and restore: --db, --help, --yes (restore), one FILE. */
static int file_options(int argc, char **argv, const char *usage, bool restore, const char **url,
                        const char **file, bool *yes)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"yes", no_argument, NULL, OPS_OPT_YES},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    const char *db_opt = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == OPT_DB) {
            db_opt = optarg;
        } else if (c == OPS_OPT_YES && restore) {
            *yes = true;
        } else if (c == OPT_HELP) {
            printf("usage: %s\n", usage);
            return 0;
        } else {
            return usage_error(usage, "unknown or incomplete option");
        }
    }
    if (optind >= argc)
        return usage_error(usage, "name the backup file");
    if (optind + 1 < argc)
        return usage_error(usage, "unexpected argument '%s'", argv[optind + 1]);
    *file = argv[optind];
    *url = app_db_url(db_opt);
    return -1;
}

static int cmd_backup(int argc, char **argv)
{
    const char *url = NULL, *file = NULL;
    errinfo ei;
    err_clear(&ei);
    int st = file_options(argc, argv, backup_usage, false, &url, &file, NULL);
    if (st >= 0)
        return st;
    err_t rc = db_backup(url, file, &ei);
    if (rc)
        return fail(&ei, rc);
    printf("backed up %s into %s\n", url, file);
    return 0;
}

static int cmd_restore(int argc, char **argv)
{
    const char *url = NULL, *file = NULL;
    bool yes = false, holds = false;
    audit_verify_result v;
    db *d = NULL;
    int version = 0;
    errinfo ei;
    err_clear(&ei);
    int st = file_options(argc, argv, restore_usage, true, &url, &file, &yes);
    if (st >= 0)
        return st;
    err_t rc = db_restore_check(url, file, &ei);
    if (!rc)
        rc = app_restore_target_holds_data(url, &holds, &ei);
    if (rc)
        return fail(&ei, rc);
    if (holds && !yes) {
        fprintf(stderr,
                "benchside: %s holds data already; restoring replaces all of it: add --yes\n", url);
        return EXIT_FAILURE;
    }
    rc = db_restore(url, file, &ei);
    /* The backup may be older than this program: bring it up to date. */
    if (!rc)
        rc = app_open_db(url, &d, &ei);
    if (!rc)
        rc = migrate_version(d, &version, &ei);
    if (!rc)
        rc = audit_head_check(d, &v, &ei);
    db_close(d);
    if (rc)
        return fail(&ei, rc);
    printf("restored %s into %s: schema version %d, %lld audit events (benchside audit verify "
           "checks them all)\n",
           file, url, version, (long long)v.events);
    return 0;
}

static int cmd_doctor(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"http", required_argument, NULL, OPT_HTTP},
        {"mllp", required_argument, NULL, OPT_MLLP},
        {"astm", required_argument, NULL, OPT_ASTM},
        {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
        {"tls-key", required_argument, NULL, OPT_TLS_KEY},
        {"full", no_argument, NULL, OPS_OPT_FULL},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    app_doctor_opts o = {0};
    const char *db_opt = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case OPT_DB:
            db_opt = optarg;
            break;
        case OPT_HTTP:
            o.http = optarg;
            break;
        case OPT_MLLP:
            o.mllp = optarg;
            break;
        case OPT_ASTM:
            o.astm = optarg;
            break;
        case OPT_TLS_CERT:
            o.tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            o.tls_key = optarg;
            break;
        case OPS_OPT_FULL:
            o.full = true;
            break;
        case OPT_HELP:
            printf("usage: %s\n", doctor_usage);
            return 0;
        default:
            return usage_error(doctor_usage, "unknown or incomplete option");
        }
    }
    if (optind < argc)
        return usage_error(doctor_usage, "unexpected argument '%s'", argv[optind]);
    o.db_url = app_db_url(db_opt);
    int failed = app_doctor(&o, stdout);
    fflush(stdout);
    return failed ? EXIT_FAILURE : 0;
}

static int cmd_help(int argc, char **argv);

static const struct cmd commands[] = {
    {"serve", cmd_serve, serve_usage, "run the server"},
    {"demo", cmd_demo, demo_usage, "run the server on a demo database with demo accounts"},
    {"migrate", cmd_migrate, "benchside migrate [--db URL]", "apply database migrations"},
    {"user", cmd_user, user_usage, "add, change, unlock and list users"},
    {"audit", cmd_audit, audit_usage, "verify the audit trail's hash chain"},
    {"import", cmd_import, import_usage,
     "import the test catalog, the instruments, the asset register, checklist templates or the "
     "items of supplies"},
    {"export", cmd_export, export_usage, "export the test catalog as JSON"},
    {"hl7", cmd_hl7, hl7_usage, "show an HL7 v2 message as JSON, or where it is malformed"},
    {"astm", cmd_astm, astm_usage, "show an ASTM capture (E1381 frames, E1394 records) as JSON"},
    {"sim", cmd_sim, sim_usage, "a virtual analyzer (ASTM or HL7) for demos, training and load"},
    {"qc", cmd_qc, qc_usage, "judge control results (CSV) by the Westgard rules"},
    {"version", cmd_version, "benchside version", "print the version"},
    {"help", cmd_help, "benchside help", "list the commands"},
    {"news2", cmd_news2, news2_usage, "the National Early Warning Score 2 of a set of vital signs"},
    {"routes", cmd_routes, "benchside routes [--json]",
     "list the HTTP routes with the permission and roles each needs"},
    {"backup", cmd_backup, backup_usage, "copy the database into a file while it is in use"},
    {"restore", cmd_restore, restore_usage, "replace the database with a backup"},
    {"doctor", cmd_doctor, doctor_usage, "check a site's configuration"},
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
