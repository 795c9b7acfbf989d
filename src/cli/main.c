/* main.c: the `omniva` program: registers the job types, then runs the command tree
 * (commands.c) with git-style subcommands. Exit codes: 0 ok, 1 failed, 2 usage. */
#include "base/common.h"
#include "cli/cli.h"
#include "runtime/runtime.h"
#include "stages/stages.h"

int main(int argc, char **argv)
{
    om_runtime_register_builtin();
    om_stages_register_all();

    cli_ctx c;
    memset(&c, 0, sizeof(c));
    /* `omniva help A B` is `omniva A B --help` */
    if (argc >= 2 && !strcmp(argv[1], "help")) {
        char **v = xcalloc((size_t)argc + 1, sizeof(char *));
        int n = 0;
        for (int i = 2; i < argc; i++)
            v[n++] = argv[i];
        v[n++] = "--help";
        int rc = cli_dispatch(&c, &cli_root, n, v, "omniva");
        free(v);
        return rc;
    }
    int rc = cli_dispatch(&c, &cli_root, argc - 1, argv + 1, "omniva");
    fflush(stdout);
    return rc;
}
