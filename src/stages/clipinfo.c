/* clipinfo.c: loads a clip with its video, post, creator and project (see clipinfo.h). */
#include "base/common.h"
#include "base/fsutil.h"

#include <math.h>

#include "stages/clipinfo.h"

json_t *om_json_from_db(const char *text)
{
    if (!text)
        return NULL;
    return json_loads(text, JSON_DECODE_ANY, NULL);
}

static void copy_id(char dst[OM_UUID_LEN], const char *src)
{
    snprintf(dst, OM_UUID_LEN, "%s", src ? src : "");
}

static double real_or_nan(const om_rows *r, const char *col)
{
    const char *v = om_rows_getn(r, 0, col);
    return v ? strtod(v, NULL) : NAN;
}

int om_clip_info_load(om_store *s, const char *clip_id, const char *project_hint,
                      om_clip_info *ci)
{
    memset(ci, 0, sizeof(*ci));
    ci->confidence = ci->lattice_priority = NAN;
    if (!clip_id || !om_uuid_valid(clip_id))
        return om_error_set(OM_EINVAL, "clip id \"%s\" is not a UUID", clip_id ? clip_id : "");
    om_rows *r = NULL;
    int rc = om_store_query(
        s,
        "SELECT c.clip_id, c.video_id, c.start_time, c.end_time, c.confidence, "
        "c.lattice_priority, c.status, c.metadata, c.pantheon_votes, c.semantic_tags, "
        "c.analysis_id, c.created_at, v.file_path, v.post_id, p.url, p.posted_at, "
        "p.raw_metadata, p.creator_id, cr.platform, cr.username "
        "FROM clips c JOIN videos v ON v.video_id = c.video_id "
        "JOIN posts p ON p.post_id = v.post_id JOIN creators cr ON cr.creator_id = p.creator_id "
        "WHERE c.clip_id = ?",
        OM_PARAMS(OM_TEXT(clip_id)), &r);
    if (rc)
        return om_error_wrap(rc, "loading clip %s", clip_id);
    if (om_rows_count(r) == 0) {
        om_rows_free(r);
        return om_error_set(OM_ENOTFOUND, "no clip %s", clip_id);
    }
    copy_id(ci->clip_id, om_rows_getn(r, 0, "clip_id"));
    copy_id(ci->video_id, om_rows_getn(r, 0, "video_id"));
    copy_id(ci->post_id, om_rows_getn(r, 0, "post_id"));
    copy_id(ci->creator_id, om_rows_getn(r, 0, "creator_id"));
    copy_id(ci->analysis_id, om_rows_getn(r, 0, "analysis_id"));
    ci->start = om_rows_real(r, 0, "start_time", 0);
    ci->end = om_rows_real(r, 0, "end_time", 0);
    ci->confidence = real_or_nan(r, "confidence");
    ci->lattice_priority = real_or_nan(r, "lattice_priority");
    ci->status = xstrdup(om_rows_getn(r, 0, "status"));
    ci->metadata = om_json_from_db(om_rows_getn(r, 0, "metadata"));
    if (!json_is_object(ci->metadata)) {
        json_decref(ci->metadata);
        ci->metadata = json_object();
    }
    ci->votes = om_json_from_db(om_rows_getn(r, 0, "pantheon_votes"));
    ci->semantic_tags = om_json_from_db(om_rows_getn(r, 0, "semantic_tags"));
    if (!json_is_array(ci->semantic_tags)) {
        json_decref(ci->semantic_tags);
        ci->semantic_tags = json_array();
    }
    ci->created_at = xstrdup(om_rows_getn(r, 0, "created_at"));
    ci->video_path = xstrdup(om_rows_getn(r, 0, "file_path"));
    ci->post_url = xstrdup(om_rows_getn(r, 0, "url"));
    const char *pa = om_rows_getn(r, 0, "posted_at");
    int64_t us;
    if (pa && om_time_parse(pa, &us) == OM_OK)
        ci->posted_at_us = us;
    ci->raw_metadata = om_json_from_db(om_rows_getn(r, 0, "raw_metadata"));
    ci->platform = xstrdup(om_rows_getn(r, 0, "platform"));
    ci->username = xstrdup(om_rows_getn(r, 0, "username"));
    om_rows_free(r);

    /* the project: the hint when the creator belongs to it, else the first one joined */
    r = NULL;
    rc = om_store_query(s,
                        "SELECT pr.project_id, pr.name, pr.brand, pr.timezone, pr.targets "
                        "FROM project_creators pc JOIN projects pr ON pr.project_id = "
                        "pc.project_id WHERE pc.creator_id = ? ORDER BY pc.added_at, "
                        "pr.project_id",
                        OM_PARAMS(OM_TEXT(ci->creator_id)), &r);
    if (rc) {
        om_clip_info_release(ci);
        return om_error_wrap(rc, "loading the project of clip %s", clip_id);
    }
    size_t pick = SIZE_MAX;
    for (size_t i = 0; i < om_rows_count(r); i++) {
        if (project_hint && *project_hint &&
            !strcmp(om_rows_getn(r, i, "project_id"), project_hint)) {
            pick = i;
            break;
        }
    }
    if (pick == SIZE_MAX && om_rows_count(r) > 0)
        pick = 0;
    const char *ptz = NULL;
    json_t *ptargets = NULL;
    if (pick != SIZE_MAX) {
        copy_id(ci->project_id, om_rows_getn(r, pick, "project_id"));
        ci->project_name = xstrdup(om_rows_getn(r, pick, "name"));
        ci->brand = om_json_from_db(om_rows_getn(r, pick, "brand"));
        ptz = om_rows_getn(r, pick, "timezone");
        ptargets = om_json_from_db(om_rows_getn(r, pick, "targets"));
    }
    if (!json_is_object(ci->brand)) {
        json_decref(ci->brand);
        ci->brand = json_object();
    }
    const char *btz = json_string_value(json_object_get(ci->brand, "timezone"));
    ci->timezone = xstrdup(btz && *btz ? btz : ptz && *ptz ? ptz : "UTC");
    json_t *bt = json_object_get(ci->brand, "targets");
    if (json_is_array(bt) && json_array_size(bt))
        ci->targets = json_incref(bt);
    else if (json_is_array(ptargets) && json_array_size(ptargets))
        ci->targets = json_incref(ptargets);
    else
        ci->targets = json_pack("[s]", "export");
    json_decref(ptargets);
    om_rows_free(r);
    return OM_OK;
}

void om_clip_info_release(om_clip_info *ci)
{
    free(ci->status);
    json_decref(ci->metadata);
    json_decref(ci->votes);
    json_decref(ci->semantic_tags);
    free(ci->created_at);
    free(ci->video_path);
    free(ci->post_url);
    json_decref(ci->raw_metadata);
    free(ci->platform);
    free(ci->username);
    free(ci->project_name);
    free(ci->timezone);
    json_decref(ci->brand);
    json_decref(ci->targets);
    memset(ci, 0, sizeof(*ci));
}

char *om_export_dir(const om_clip_info *ci, const char *home)
{
    const char *ed = json_string_value(json_object_get(ci->brand, "export_dir"));
    if (ed && *ed) /* stored relative to the workspace home when inside it */
        return om_path_from_home(home && *home ? home : NULL, ed);
    om_sbuf name = OM_SBUF_INIT;
    const char *pn = ci->project_name && *ci->project_name ? ci->project_name : "default";
    for (const char *p = pn; *p; p++) {
        char c = *p;
        if (c == '/' || c == '\\' || (unsigned char)c < 0x20)
            c = '_';
        if (name.len == 0 && c == '.')
            c = '_';
        sb_append(&name, &c, 1);
    }
    char *d = xasprintf("%s/exports/%s", home && *home ? home : ".", sb_str(&name));
    sb_release(&name);
    return d;
}
