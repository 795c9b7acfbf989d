/*
 * web_fixture.c: writes the demo's generated source videos (om_demo_make_sources: espeak-ng
 * speech over ffmpeg-made video, with sidecar subtitles) into DIR, so the browser test
 * (test_web.mjs) can add that folder as a creator through the dashboard's form.
 *   web_fixture DIR [--only-hook]
 * --only-hook keeps just the source with the planted hook (one short video: the browser
 * test renders one clip, not the whole demo). Prints the hook source's name.
 */
#include <dirent.h>
#include <unistd.h>

#include "base/common.h"
#include "stages/demo.h"

static void keep_only(const char *dir, const char *stem)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = strlen(stem);
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' || (strncmp(de->d_name, stem, n) == 0 && de->d_name[n] == '.'))
            continue;
        char *p = xasprintf("%s/%s", dir, de->d_name);
        unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--only-hook") != 0)) {
        fprintf(stderr, "usage: web_fixture DIR [--only-hook]\n");
        return 2;
    }
    if (om_demo_make_sources(argv[1]) != OM_OK) {
        fprintf(stderr, "web_fixture: %s\n", om_error_msg());
        return 1;
    }
    if (argc == 3)
        keep_only(argv[1], om_demo_hook_source());
    printf("%s\n", om_demo_hook_source());
    return 0;
}
