/*
 * asr.c: picks the transcription engine from the workspace configuration ([asr] section) and
 * runs it: pocketsphinx (adapted to the project's brief and keywords) or an external command,
 * falling back to pocketsphinx when the external program is not installed.
 */
#include "base/common.h"

#include "asr/asr.h"
#include "base/config.h"

static const char *cfg_str(const om_config *cfg, const char *key, const char *def)
{
    return cfg ? om_config_get(cfg, "asr", key, def) : def;
}

static double cfg_double(const om_config *cfg, const char *key, double def)
{
    return cfg ? om_config_get_double(cfg, "asr", key, def) : def;
}

int om_asr_transcribe(om_transcript *out, const om_config *cfg, const int16_t *pcm, size_t n,
                      const om_asr_request *req)
{
    om_asr_request r = {0};
    if (req)
        r = *req;
    const char *engine = cfg_str(cfg, "engine", "pocketsphinx");
    if (strcmp(engine, "external") == 0) {
        const char *cmd = cfg_str(cfg, "command", NULL);
        if (!cmd || !*cmd)
            return om_error_set(OM_EINVAL, "config: asr.engine = external needs asr.command");
        om_asr_external_opts eo = {.command = cmd,
                                   .timeout_ms =
                                       (int64_t)(cfg_double(cfg, "timeout_s", 3600) * 1000),
                                   .cancel = r.cancel};
        int rc = om_asr_external(out, pcm, n, &eo);
        if (rc != OM_EUNAVAIL)
            return rc;
        om_warn("asr", "external engine unavailable (%s); using pocketsphinx", om_error_msg());
    } else if (strcmp(engine, "pocketsphinx") != 0) {
        return om_error_set(OM_EINVAL, "config: asr.engine '%s' unknown (pocketsphinx or external)",
                            engine);
    }
    double weight = cfg_double(cfg, "adapt_weight", OM_ASR_ADAPT_WEIGHT);
    om_asr_sphinx_opts so = {
        .model_dir = cfg_str(cfg, "model_dir", NULL),
        .jobs = (int)cfg_double(cfg, "jobs", 0),
        .max_chunk_s = cfg_double(cfg, "max_chunk_s", 0),
        .adapt_text = weight > 0 ? r.brief : NULL,
        .keywords = weight > 0 ? r.keywords : NULL,
        .nkeywords = weight > 0 ? r.nkeywords : 0,
        .adapt_weight = weight,
        .silences = r.silences,
        .nsilences = r.nsilences,
        .cancel = r.cancel,
    };
    return om_asr_sphinx(out, pcm, n, &so);
}
