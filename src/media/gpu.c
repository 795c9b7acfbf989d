/*
 * gpu.c: finds a working GPU H.264 encoder for `omniva worker --gpu` (om_gpu_probe,
 * editplan.h): listed by `ffmpeg -encoders` AND able to encode 0.2 s of black, since a listed
 * encoder says nothing about a driver or a device being there.
 */
#include "base/common.h"
#include "base/proc.h"
#include "media/editplan.h"

static int test_encode(const char *enc, char **why_out)
{
    const char *nv[] = {"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
                        "-i", "color=c=black:s=256x256:r=30:d=0.2", "-c:v", enc, "-f", "null",
                        "-", NULL};
    const char *va[] = {"ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
                        "-vaapi_device", OM_VAAPI_DEVICE, "-f", "lavfi", "-i",
                        "color=c=black:s=256x256:r=30:d=0.2", "-vf", "format=nv12,hwupload",
                        "-c:v", enc, "-f", "null", "-", NULL};
    om_proc_result r;
    int rc = om_proc_run(&(om_proc_opts){.argv = strcmp(enc, "h264_vaapi") ? nv : va,
                                         .timeout_ms = 30000},
                         &r);
    if (rc == OM_OK && r.exit_code == 0) {
        om_proc_result_release(&r);
        return OM_OK;
    }
    const char *msg = rc == OM_OK ? (r.err && *r.err ? r.err : "no message") : om_error_msg();
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    *why_out = xasprintf("%s test encode failed: %.*s", enc, (int)(n > 300 ? 300 : n),
                         n > 300 ? msg + n - 300 : msg);
    om_proc_result_release(&r);
    om_error_clear();
    return OM_ERROR;
}

int om_gpu_probe(char **encoder_out)
{
    *encoder_out = NULL;
    const char *list[] = {"ffmpeg", "-hide_banner", "-encoders", NULL};
    om_proc_result r;
    int rc = om_proc_run(&(om_proc_opts){.argv = list, .timeout_ms = 20000}, &r);
    if (rc != OM_OK)
        return om_error_wrap(OM_ENOTFOUND, "no GPU encoder: ffmpeg -encoders");
    int nv = r.exit_code == 0 && r.out && strstr(r.out, " h264_nvenc ");
    int va = r.exit_code == 0 && r.out && strstr(r.out, " h264_vaapi ");
    om_proc_result_release(&r);
    if (!nv && !va)
        return om_error_set(OM_ENOTFOUND,
                            "no GPU encoder: this ffmpeg lists neither h264_nvenc nor h264_vaapi");
    char *why_nv = NULL, *why_va = NULL;
    const char *found = NULL;
    if (nv && test_encode("h264_nvenc", &why_nv) == OM_OK)
        found = "h264_nvenc";
    else if (va && test_encode("h264_vaapi", &why_va) == OM_OK)
        found = "h264_vaapi";
    if (found) {
        free(why_nv);
        free(why_va);
        *encoder_out = xstrdup(found);
        return OM_OK;
    }
    rc = om_error_set(OM_ENOTFOUND, "no GPU encoder works: %s%s%s", why_nv ? why_nv : "",
                      why_nv && why_va ? "; " : "", why_va ? why_va : "");
    free(why_nv);
    free(why_va);
    return rc;
}
