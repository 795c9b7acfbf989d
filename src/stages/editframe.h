/*
 * editframe.h: the editor's face framing (issue 10 section 2): for a brand whose reframe is
 * "auto", "speaker" or "split", the clip's window is scanned for faces
 * (media/facetrack.h: a scaled-down grey decode piped at framing.sample_fps, never the whole
 * video in memory), the faces tracked, the speaking one chosen and the mode decided; edit.c
 * calls this while it builds the plan.
 *
 * om_editframe_wanted(mode): 1 when the brand's reframe asks for face framing ("auto" and
 * "speaker": follow the speaking face; "split": the same, and two people who both speak and
 * do not fit one crop get a stacked split screen).
 *
 * om_editframe_reframe() scans [start, end) of `source` (src_w x src_h displayed) and
 * returns the plan's reframe object (a new reference, the caller's), or NULL when the clip
 * shows no face or the scan failed: then the caller uses its content-motion crop. The
 * object is om_framing_reframe_json's: {"mode":"speaker"|"split", "track":[[t,x],...]
 * (source seconds, every 0.1 s), "track2" (split), "smoothing":0,
 * "max_pan":framing.max_pan_speed, "evidence":{...}} or {"mode":"blur_pad","evidence":{...}}
 * for a wide group. The crop window is the 9:16 output (editor.width x editor.height) of the
 * source's height. Either way ONE "reframe" decision (or, with no face, a "faces" decision
 * and the caller's own) is appended to `chain` ({"step","decision","reason"}: the mode, the
 * faces seen, their speaker scores, the speaker changes, the samples), which the ledger
 * packet and HaloLux's explanation carry. A failed scan is logged as a warning and recorded
 * in the chain; it never fails the edit.
 *
 * Settings: framing.sample_fps, framing.detect_width, framing.hold_s, framing.dead_zone,
 * framing.max_pan_speed, framing.cascade (src/base/settings.c). Borrowed: everything passed.
 */
#ifndef OMNIVA_STAGES_EDITFRAME_H
#define OMNIVA_STAGES_EDITFRAME_H

#include <jansson.h>

#include "base/config.h"

int om_editframe_wanted(const char *mode);
json_t *om_editframe_reframe(const char *source, double start, double end, const char *mode,
                             int src_w, int src_h, const om_config *cfg, json_t *chain);

#endif
