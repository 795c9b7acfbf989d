/*
 * cmd_user.c: `omniva user add|list|remove|passwd|token` — the dashboard's users and their
 * API tokens (src/http/auth.c). Passwords come from stdin (one line), never from argv, and
 * are never printed or logged.
 */
#include "base/common.h"
#include "cli/cli.h"
#include "http/auth.h"

#include <sodium.h>

/* One line from stdin without its newline; NULL (message printed) when there is none. */
static char *read_password(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        cli_error("no password on stdin (give it as one line, e.g. from a file or a pipe)");
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

static void forget(char *pw)
{
    if (pw) {
        sodium_memzero(pw, strlen(pw));
        free(pw);
    }
}

int check_user_name(cli_ctx *c, cli_args *a)
{
    const char *u = a->npos > 0 ? a->pos[0] : "";
    size_t n = strlen(u);
    int ok = n > 0 && n <= 63;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char ch = (unsigned char)u[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == '@' || ch == '-';
    }
    if (!ok)
        return cli_usage_error(c, "bad user name '%s': 1 to 63 letters, digits or . _ @ -", u);
    return CLI_OK;
}

int check_user_add(cli_ctx *c, cli_args *a)
{
    int rc = check_user_name(c, a);
    if (rc)
        return rc;
    const char *r = cli_get(a, "role");
    om_role role;
    if (!r)
        return cli_usage_error(c, "missing --role admin|operator|viewer");
    if (om_role_parse(r, &role))
        return cli_usage_error(c, "%s", om_error_msg());
    return CLI_OK;
}

int cmd_user_add(cli_ctx *c, cli_args *a)
{
    om_role role = OM_ROLE_VIEWER;
    if (om_role_parse(cli_get(a, "role"), &role))
        return cli_usage_error(c, "%s", om_error_msg());
    om_auth_configure(c->ws.cfg);
    char *pw = read_password();
    if (!pw)
        return CLI_FAIL;
    int rc = om_auth_user_add(c->ws.store, a->pos[0], pw, role);
    forget(pw);
    if (rc)
        return cli_error("cannot add user '%s': %s", a->pos[0], om_error_msg());
    printf("user %s added (%s)\n", a->pos[0], om_role_name(role));
    return CLI_OK;
}

int cmd_user_list(cli_ctx *c, cli_args *a)
{
    json_t *list = NULL;
    if (om_auth_user_list(c->ws.store, &list))
        return cli_error_om("listing users");
    if (cli_flag(a, "json")) {
        cli_print_json(list);
    } else if (json_array_size(list) == 0) {
        printf("no users (add one with 'omniva user add NAME --role admin')\n");
    } else {
        size_t i;
        json_t *u;
        printf("%-24s %-9s %-28s %s\n", "NAME", "ROLE", "CREATED", "LAST LOGIN");
        json_array_foreach(list, i, u)
        {
            const char *last = json_string_value(json_object_get(u, "last_login_at"));
            printf("%-24s %-9s %-28s %s\n", json_string_value(json_object_get(u, "name")),
                   json_string_value(json_object_get(u, "role")),
                   json_string_value(json_object_get(u, "created_at")), last ? last : "never");
        }
    }
    json_decref(list);
    return CLI_OK;
}

int cmd_user_remove(cli_ctx *c, cli_args *a)
{
    if (om_auth_user_remove(c->ws.store, a->pos[0]))
        return cli_error("cannot remove user '%s': %s", a->pos[0], om_error_msg());
    printf("user %s removed (sessions and tokens ended)\n", a->pos[0]);
    return CLI_OK;
}

int cmd_user_passwd(cli_ctx *c, cli_args *a)
{
    om_auth_configure(c->ws.cfg);
    char *pw = read_password();
    if (!pw)
        return CLI_FAIL;
    int rc = om_auth_user_passwd(c->ws.store, a->pos[0], pw);
    forget(pw);
    if (rc)
        return cli_error("cannot change the password of '%s': %s", a->pos[0], om_error_msg());
    printf("password of %s changed; their sessions are closed\n", a->pos[0]);
    return CLI_OK;
}

int cmd_user_token_create(cli_ctx *c, cli_args *a)
{
    char *token = NULL;
    om_auth_configure(c->ws.cfg);
    if (om_auth_token_create(c->ws.store, a->pos[0], cli_get(a, "label"), &token))
        return cli_error("cannot create a token for '%s': %s", a->pos[0], om_error_msg());
    char id[13];
    om_auth_token_id(token, id);
    printf("%s\n", token);
    fprintf(stderr, "token %s created for %s; it is shown once: keep it secret "
                    "(Authorization: Bearer ...)\n", id, a->pos[0]);
    sodium_memzero(token, strlen(token));
    free(token);
    return CLI_OK;
}

int cmd_user_token_list(cli_ctx *c, cli_args *a)
{
    json_t *list = NULL;
    if (om_auth_token_list(c->ws.store, a->pos[0], &list))
        return cli_error("cannot list the tokens of '%s': %s", a->pos[0], om_error_msg());
    if (cli_flag(a, "json")) {
        cli_print_json(list);
    } else if (json_array_size(list) == 0) {
        printf("no tokens for %s\n", a->pos[0]);
    } else {
        size_t i;
        json_t *t;
        printf("%-12s  %-28s %-28s %s\n", "ID", "CREATED", "LAST USED", "LABEL");
        json_array_foreach(list, i, t)
        {
            const char *used = json_string_value(json_object_get(t, "last_used_at"));
            const char *label = json_string_value(json_object_get(t, "label"));
            printf("%-12s  %-28s %-28s %s\n", json_string_value(json_object_get(t, "id")),
                   json_string_value(json_object_get(t, "created_at")), used ? used : "never",
                   label ? label : "");
        }
    }
    json_decref(list);
    return CLI_OK;
}

int cmd_user_token_revoke(cli_ctx *c, cli_args *a)
{
    if (om_auth_token_revoke(c->ws.store, a->pos[0], a->pos[1]))
        return cli_error("cannot revoke: %s", om_error_msg());
    printf("token %s of %s revoked\n", a->pos[1], a->pos[0]);
    return CLI_OK;
}
