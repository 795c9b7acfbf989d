/*
 * asr.c: picks the transcription engine from the workspace configuration ([asr] section) and
 * runs it: pocketsphinx (adapted to the project's brief and keywords) or an external command,
 * falling back to pocketsphinx when the external program is not installed.
 */
#include "base/common.h"

#include "asr/asr.h"
#include "base/config.h"

int om_asr_transcribe(om_transcript *out, const om_config *cfg, const int16_t *pcm, size_t n,
                      const om_asr_request *req)
{
    om_asr_request r = {0};
    if (req)
        r = *req;
    const char *engine = om_config_str(cfg, "asr.engine");
    if (strcmp(engine, "external") == 0) {
        const char *cmd = om_config_str(cfg, "asr.command");
        if (!cmd || !*cmd)
            return om_error_set(OM_EINVAL, "config: asr.engine = external needs asr.command");
        om_asr_external_opts eo = {.command = cmd,
                                   .timeout_ms =
                                       (int64_t)(om_config_double(cfg, "asr.timeout_s") * 1000),
                                   .cancel = r.cancel};
        int rc = om_asr_external(out, pcm, n, &eo);
        if (r.forget)
            r.forget(r.forget_arg, 0, n);
        if (rc != OM_EUNAVAIL)
            return rc;
        om_warn("asr", "external engine unavailable (%s); using pocketsphinx", om_error_msg());
    } else if (strcmp(engine, "pocketsphinx") != 0) {
        return om_error_set(OM_EINVAL, "config: asr.engine '%s' unknown (pocketsphinx or external)",
                            engine);
    }
    double weight = om_config_double(cfg, "asr.adapt_weight");
    om_asr_sphinx_opts so = {
        .model_dir = om_config_str(cfg, "asr.model_dir"),
        .jobs = (int)om_config_long(cfg, "asr.jobs"),
        .max_chunk_s = om_config_double(cfg, "asr.max_chunk_s"),
        .vad_min_gap_s = om_config_double(cfg, "asr.vad_min_gap_s"),
        .vad_music_min_s = om_config_double(cfg, "asr.vad_music_min_s"),
        .adapt_text = weight > 0 ? r.brief : NULL,
        .keywords = weight > 0 ? r.keywords : NULL,
        .nkeywords = weight > 0 ? r.nkeywords : 0,
        .adapt_weight = weight,
        .silences = r.silences,
        .nsilences = r.nsilences,
        .cancel = r.cancel,
        .forget = r.forget,
        .forget_arg = r.forget_arg,
    };
    return om_asr_sphinx(out, pcm, n, &so);
}
