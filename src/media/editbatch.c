/*
 * editbatch.c: several compiled clip commands of one source merged into ONE ffmpeg run
 * (om_editcmd_batch, editplan.h). Each clip keeps its own input seeking (-ss/-t before its
 * -i: only its span is decoded) and its own graph and encoder; what is shared is the process
 * (start-up, probing, one muxing loop) and the cores: the encoders of all clips run at once
 * instead of one after another, which keeps both cores busy through the single-threaded
 * parts of a render (decode, filters, audio).
 *
 * The merge works on the compiled argv, not on the plans, so it follows whatever the
 * compiler emits: the global options are the first command's (up to its first "-ss"/"-i"),
 * then every command's inputs with their options, then one -filter_complex joining the
 * graphs, each graph's input references renumbered ("[0:v]" -> "[3:v]") and its own labels
 * suffixed ("[vout]" -> "[vout_2]"), then every command's output options with its -map
 * labels renamed and its own output path.
 */
#include "base/common.h"
#include "media/editplan.h"

#include <ctype.h>

typedef struct argv_b {
    char **v;
    size_t n, cap;
} argv_b;

static void push(argv_b *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? 2 * a->cap : 64;
        a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

/* Input options that take a value (as the compiler emits them before -i). */
static int takes_value(const char *opt)
{
    static const char *const with[] = {"-ss", "-t", "-to", "-i", "-loop", "-framerate",
                                       "-f", "-stream_loop", "-itsoffset", NULL};
    for (size_t i = 0; with[i]; i++)
        if (!strcmp(opt, with[i]))
            return 1;
    return 0;
}

/* Rewrites one graph: "[N:x...]" input references get `base` added to N; every other
 * label gets "_k". Escaped characters and quoted text are copied as they are. */
static char *rewrite_graph(const char *g, size_t base, size_t k)
{
    om_sbuf sb = OM_SBUF_INIT;
    int quoted = 0;
    for (const char *p = g; *p; p++) {
        if (*p == '\\' && p[1]) {
            sb_append(&sb, p, 2);
            p++;
            continue;
        }
        if (*p == '\'')
            quoted = !quoted;
        if (*p != '[' || quoted) {
            sb_append(&sb, p, 1);
            continue;
        }
        const char *e = strchr(p, ']');
        if (!e) {
            sb_puts(&sb, p);
            break;
        }
        const char *q = p + 1;
        if (isdigit((unsigned char)*q)) {
            char *end;
            unsigned long idx = strtoul(q, &end, 10);
            if (*end == ':' || end == e) {
                sb_printf(&sb, "[%lu%.*s]", idx + base, (int)(e - end), end);
                p = e;
                continue;
            }
        }
        sb_printf(&sb, "[%.*s_%zu]", (int)(e - q), q, k);
        p = e;
    }
    return sb_detach(&sb);
}

int om_editcmd_batch(om_editcmd **out, om_editcmd *const *cmds, const char *const *outputs,
                     size_t n)
{
    *out = NULL;
    if (n == 0)
        return om_error_set(OM_EINVAL, "batch render: no clips");
    argv_b a = {0};
    om_sbuf graph = OM_SBUF_INIT;
    /* global options: the first command's, up to its first input option */
    const om_editcmd *c0 = cmds[0];
    size_t g0 = 0;
    while (g0 < c0->argc && strcmp(c0->argv[g0], "-ss") && strcmp(c0->argv[g0], "-i"))
        push(&a, c0->argv[g0++]);
    size_t base = 0;
    size_t *first_out = xcalloc(n, sizeof(*first_out));
    size_t *ninputs = xcalloc(n, sizeof(*ninputs));
    for (size_t k = 0; k < n; k++) {
        const om_editcmd *c = cmds[k];
        size_t i = 0;
        while (i < c->argc && strcmp(c->argv[i], "-ss") && strcmp(c->argv[i], "-i"))
            i++; /* its global options: the first command's stand for all */
        /* inputs: option/value pairs up to -filter_complex */
        while (i < c->argc && strcmp(c->argv[i], "-filter_complex")) {
            if (!strcmp(c->argv[i], "-i"))
                ninputs[k]++;
            push(&a, c->argv[i]);
            if (takes_value(c->argv[i]) && i + 1 < c->argc)
                push(&a, c->argv[++i]);
            i++;
        }
        if (i + 1 >= c->argc) {
            for (size_t j = 0; j < a.n; j++)
                free(a.v[j]);
            free(a.v);
            free(first_out);
            free(ninputs);
            sb_release(&graph);
            return om_error_set(OM_EINVAL, "batch render: clip %zu's command has no graph", k);
        }
        char *g = rewrite_graph(c->argv[i + 1], base, k);
        sb_printf(&graph, "%s%s", k ? ";" : "", g);
        free(g);
        base += ninputs[k];
        first_out[k] = i + 2;
    }
    push(&a, "-filter_complex");
    push(&a, sb_str(&graph));
    for (size_t k = 0; k < n; k++) {
        const om_editcmd *c = cmds[k];
        /* output options; the last argument is the output path */
        for (size_t i = first_out[k]; i + 1 < c->argc; i++) {
            if (!strcmp(c->argv[i], "-map") && i + 1 < c->argc - 1 && c->argv[i + 1][0] == '[') {
                char *lab = rewrite_graph(c->argv[i + 1], 0, k);
                push(&a, "-map");
                push(&a, lab);
                free(lab);
                i++;
                continue;
            }
            push(&a, c->argv[i]);
        }
        push(&a, outputs[k]);
    }
    free(first_out);
    free(ninputs);
    om_editcmd *r = xcalloc(1, sizeof(*r));
    r->argv = a.v;
    r->argc = a.n;
    r->filtergraph = sb_detach(&graph);
    r->text = om_shell_join((const char *const *)a.v);
    r->vcodec = xstrdup(c0->vcodec);
    *out = r;
    return OM_OK;
}
