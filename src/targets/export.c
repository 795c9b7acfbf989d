/* export.c: the default publishing target: copies the rendered clip into the project's
 * export folder with a JSON sidecar (title, description, tags, provenance, scores, votes),
 * both written atomically, never twice for the same upload job and content (see target.h). */
#include "base/common.h"

#include <unistd.h>

#include "base/fsutil.h"
#include "targets/target.h"

/* A string member or "" (never NULL). */
static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || strlen(dot) > 6)
        return ".mp4";
    return dot;
}

static int export_auth(const om_publish_req *req, json_t *state)
{
    if (!req->dest_dir || !*req->dest_dir)
        return om_error_set(OM_EINVAL, "export target: no export folder");
    int rc = om_mkdirs(req->dest_dir, 0755);
    if (rc)
        return om_error_wrap(rc, "export target: creating %s", req->dest_dir);
    if (access(req->dest_dir, W_OK) != 0)
        return om_error_set(OM_EPERMANENT, "export target: %s is not writable", req->dest_dir);
    json_object_set_new(state, "export_dir", json_string(req->dest_dir));
    return OM_OK;
}

/* The sidecar document: the caller's metadata with the platform limits enforced, plus
 * what identifies this export. */
static json_t *sidecar_doc(const om_publish_req *req, const char *file, const char *sum,
                           int64_t size, const char *exported_at)
{
    json_t *doc = json_is_object(req->sidecar) ? json_deep_copy(req->sidecar) : json_object();
    const char *title = json_string_value(json_object_get(doc, "title"));
    char *t = om_publish_truncate(title ? title : "Clip", OM_TITLE_MAX_CHARS);
    json_object_set_new(doc, "title", json_string(t));
    free(t);
    json_t *tags = json_object_get(doc, "tags");
    if (!json_is_array(tags)) {
        json_object_set_new(doc, "tags", json_array());
    } else {
        while (json_array_size(tags) && om_tags_count_chars(tags) > OM_TAGS_MAX_CHARS)
            json_array_remove(tags, json_array_size(tags) - 1);
    }
    if (!json_is_string(json_object_get(doc, "description")))
        json_object_set_new(doc, "description", json_string(""));
    json_object_set_new(doc, "clip_id", json_string(req->clip_id));
    json_object_set_new(doc, "upload_job_id", json_string(req->upload_job_id));
    json_object_set_new(doc, "file", json_string(file));
    json_object_set_new(doc, "sha256", json_string(sum));
    json_object_set_new(doc, "size_bytes", json_integer(size));
    json_object_set_new(doc, "exported_at", json_string(exported_at));
    return doc;
}

static int export_publish(const om_publish_req *req, json_t *state, char **result_id_out)
{
    *result_id_out = NULL;
    if (!req->clip_id || !req->upload_job_id || !req->clip_path)
        return om_error_set(OM_EINVAL, "export target: clip id, upload job id and file needed");
    if (!om_file_exists(req->clip_path))
        return om_error_set(OM_ENOTFOUND, "export target: rendered clip %s is missing",
                            req->clip_path);
    char sum[OM_SHA256_HEX_LEN];
    int rc = om_sha256_file(req->clip_path, sum);
    if (rc)
        return om_error_wrap(rc, "export target: hashing %s", req->clip_path);
    int64_t size = 0;
    om_file_size(req->clip_path, &size);
    rc = om_mkdirs(req->dest_dir, 0755);
    if (rc)
        return om_error_wrap(rc, "export target: creating %s", req->dest_dir);

    char *file = xasprintf("%s%s", req->clip_id, ext_of(req->clip_path));
    char *dst = xasprintf("%s/%s", req->dest_dir, file);
    char *side = xasprintf("%s/%s.json", req->dest_dir, req->clip_id);

    /* the video: copy unless the same bytes are already there */
    int copied = 0;
    char have[OM_SHA256_HEX_LEN] = "";
    if (!om_file_exists(dst) || om_sha256_file(dst, have) != OM_OK || strcmp(have, sum)) {
        rc = om_copy_file_atomic(req->clip_path, dst);
        if (rc) {
            om_error_wrap(rc, "export target: copying to %s", dst);
            goto out;
        }
        copied = 1;
    }
    /* the sidecar (written last: its presence means the export is complete) */
    json_t *old = om_file_exists(side) ? json_load_file(side, 0, NULL) : NULL;
    int same = old && !copied &&
               !strcmp(jstr(old, "upload_job_id"),
                       req->upload_job_id) &&
               !strcmp(jstr(old, "sha256"), sum);
    char exported_at[OM_TIME_LEN];
    if (same) {
        snprintf(exported_at, sizeof(exported_at), "%s",
                 jstr(old, "exported_at"));
    } else {
        om_time_iso(exported_at, om_now_us());
        json_t *doc = sidecar_doc(req, file, sum, size, exported_at);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS | OM_JSON_REAL);
        json_decref(doc);
        rc = om_write_file_atomic(side, text, strlen(text));
        free(text);
        if (rc) {
            json_decref(old);
            om_error_wrap(rc, "export target: writing %s", side);
            goto out;
        }
    }
    json_decref(old);
    json_object_set_new(state, "export_path", json_string(dst));
    json_object_set_new(state, "sidecar_path", json_string(side));
    json_object_set_new(state, "sha256", json_string(sum));
    json_object_set_new(state, "size_bytes", json_integer(size));
    json_object_set_new(state, "exported_at", json_string(exported_at));
    json_object_set_new(state, "reused", json_boolean(same));
    *result_id_out = xstrdup(dst);
    rc = OM_OK;
out:
    free(file);
    free(dst);
    free(side);
    return rc;
}

static int export_verify(const om_publish_req *req, json_t *state, const char *result_id)
{
    const char *path = result_id ? result_id
                                 : json_string_value(json_object_get(state, "export_path"));
    const char *want = json_string_value(json_object_get(state, "sha256"));
    const char *side = json_string_value(json_object_get(state, "sidecar_path"));
    if (!path || !want || !side)
        return om_error_set(OM_EINVAL, "export target: nothing exported yet to verify");
    char sum[OM_SHA256_HEX_LEN];
    if (om_sha256_file(path, sum) != OM_OK)
        return om_error_wrap(OM_EIO, "export target: verifying %s", path);
    if (strcmp(sum, want))
        return om_error_set(OM_EIO, "export target: %s has checksum %.12s, expected %.12s",
                            path, sum, want);
    json_error_t jerr;
    json_t *doc = json_load_file(side, 0, &jerr);
    if (!doc)
        return om_error_set(OM_EIO, "export target: sidecar %s unreadable: %s", side, jerr.text);
    const char *uj = json_string_value(json_object_get(doc, "upload_job_id"));
    int ok = uj && !strcmp(uj, req->upload_job_id) &&
             !strcmp(jstr(doc, "sha256"), want);
    json_decref(doc);
    if (!ok)
        return om_error_set(OM_EIO, "export target: sidecar %s does not describe this export",
                            side);
    return OM_OK;
}

const om_target om_target_export = {
    .version = OM_TARGET_VERSION,
    .name = "export",
    .auth = export_auth,
    .publish = export_publish,
    .verify = export_verify,
};
