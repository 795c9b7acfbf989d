/*
 * facetrack.h: framing that follows the speaker. Faces found (media/faces.h) on a
 * scaled-down grey decode, tracked over time, the speaking face chosen from mouth movement
 * while there is speech, and a crop path that follows it without jitter.
 *
 * Two steps, so the decision can be tested on its own:
 *
 * om_media_face_scan() samples media time [start, end) of `path` at o->sample_fps
 * (0 < fps <= 15): `ffmpeg` decodes the span scaled to o->detect_width pixels wide, grey,
 * and pipes raw frames one at a time (never the whole span in memory). Per sample: face
 * detection; detections associated with the tracks seen so far (best IoU, else centre
 * distance under 0.7 face widths); a track missing for at most o->hold_s seconds is held at
 * its last box (present = 2), longer and it ends. Mouth activity of a face = mean absolute
 * change of its mouth region (lower third of the box, normalised to 16x8 and its mean
 * removed) between the previous sample's picture and this one, both cut with this sample's
 * box (so a jittery box does not count as movement), minus the same change of its eye band
 * (so a head that moves does not count as talking); NAN when the face was not detected in
 * this sample or not in shot in the previous one. Only two pictures are held at a time. Tracks detected in fewer than max(2, 15% of the samples) are
 * dropped (false detections in the background). Speech energy per sample (0..1) from the
 * audio's RMS over the sample period: 0 at the span's noise floor + 6 dB, 1 at 18 dB above
 * it (the floor: the 10th percentile of the span, or 20 dB under its 95th percentile when
 * that is lower, so a span that is speech throughout still counts as speech); all 0 when
 * the source has no audio. Errors: those of om_media_probe, OM_EINVAL for a
 * bad span/option or no video, OM_ENOTFOUND when the face cascade is missing (opencv-data),
 * OM_EUNAVAIL when ffmpeg cannot run, OM_ERROR when ffmpeg fails (its stderr in the
 * message).
 *
 * om_framing_decide() turns a scan into a framing decision, a pure function:
 *   NONE    no face track: the caller uses its content-motion crop;
 *   GROUP   three or more faces in shot most of the time, too wide for one 9:16 window:
 *           the caller pads the whole frame over a blurred fill;
 *   SPLIT   two faces in shot most of the time that do not fit one window, both speak
 *           (share >= 0.2), and o->allow_split: stacked split screen (x = top face, the
 *           left one; x2 = bottom face), each half following its face;
 *   SPEAKER otherwise: the crop follows the speaking face (when every visible face fits in
 *           one window, their common centre), with short eased moves when the speaker
 *           changes.
 * The speaker per sample: each track's mouth activity weighted by the speech energy,
 * averaged over a centred 1.5 s window; the current speaker changes when another face's
 * value beats it by 25% (and by a floor), and without speech the current one is kept; a
 * change is then moved back to where the new speaker's own activity first matched the old
 * one's (through the pause between turns, at most 1.5 s, never before the previous change),
 * so the crop moves in the pause rather than into the new speaker's first words.
 * Crop path: a follower stepped every 0.1 s towards the target: it starts moving only when
 * the target is more than o->dead_zone (fraction of the width) away, settles once within a
 * quarter of it, speed proportional to the distance (4/s), at most o->max_pan widths per
 * second, acceleration at most 4 * max_pan per second squared (eased starts and stops).
 * The target is held where it was while no face is visible. The crop centre is kept
 * within [window/2, 1 - window/2].
 *
 * Ownership: scans and framings are the caller's, released with om_face_scan_release /
 * om_framing_release (safe on zeroed structs and after a failed call). Thread safety:
 * independent calls may run concurrently (one detector per call).
 */
#ifndef OMNIVA_MEDIA_FACETRACK_H
#define OMNIVA_MEDIA_FACETRACK_H

#include <jansson.h>
#include <stddef.h>

#define OM_FACE_MAX_TRACKS 16

typedef struct om_face_scan_opts {
    double sample_fps;   /* framing.sample_fps */
    int detect_width;    /* framing.detect_width (even, 64..1920) */
    double hold_s;       /* framing.hold_s */
    const char *cascade; /* NULL: OM_FACES_DEFAULT_CASCADE */
} om_face_scan_opts;

typedef struct om_face_obs {
    int present;         /* 0 absent, 1 detected, 2 held through a miss */
    double cx, cy, w, h; /* box centre and size, fractions of the displayed frame */
    double mouth;        /* mouth activity since the previous sample; NAN unknown */
} om_face_obs;

typedef struct om_face_scan {
    size_t n;             /* samples */
    double *t;            /* media time of sample k: start + k / fps */
    double *speech;       /* speech energy 0..1 per sample */
    size_t ntracks;       /* kept tracks, ordered by mean x (left to right) */
    om_face_obs *obs;     /* obs[track * n + k] */
    size_t *detected;     /* per track: samples where it was detected */
    size_t detections;    /* all face detections (also those of dropped tracks) */
    int width, height;    /* displayed source size */
    int detect_w, detect_h;
    double fps;
    int has_audio;
} om_face_scan;

int om_media_face_scan(const char *path, double start, double end, const om_face_scan_opts *o,
                       om_face_scan *out);
void om_face_scan_release(om_face_scan *s);

typedef enum om_framing_mode {
    OM_FRAMING_NONE = 0,
    OM_FRAMING_SPEAKER,
    OM_FRAMING_SPLIT,
    OM_FRAMING_GROUP
} om_framing_mode;

typedef struct om_framing_opts {
    double dead_zone; /* framing.dead_zone */
    double max_pan;   /* framing.max_pan_speed */
    double window;    /* crop width, fraction of the source width (9:16 of 16:9 = 0.316) */
    int allow_split;  /* brand reframe: split */
} om_framing_opts;

typedef struct om_framing {
    om_framing_mode mode;
    size_t n;       /* crop path points, every 0.1 s of the span */
    double *t;      /* media time */
    double *x;      /* crop centre, fraction of the width (split: the top half's) */
    double *x2;     /* split: the bottom half's; NULL otherwise */
    size_t nsamples;
    int *speaker;   /* per scan sample: the track followed, -1 none */
    size_t ntracks;
    double *score;  /* per track: share of the speech-weighted mouth activity (sums to 1) */
    double *visible; /* per track: share of samples in shot */
    size_t switches; /* speaker changes */
    char reason[256];
} om_framing;

int om_framing_decide(const om_face_scan *s, const om_framing_opts *o, om_framing *out);
void om_framing_release(om_framing *f);
const char *om_framing_mode_name(om_framing_mode m); /* "none", "speaker", "split", "group" */

/* The evidence for the plan and the explanation (a new reference, the caller's):
 * {"detector", "sample_fps", "samples", "detections", "faces_seen", "faces_at_once",
 *  "speech_share", "has_audio", "faces":[{"track", "x", "y", "size", "visible",
 *  "speaker_score", "followed"}], "speaker_switches", "mode", "reason"}: x, y, size are
 *  fractions of the frame, visible and followed shares of the samples. */
json_t *om_framing_evidence(const om_face_scan *s, const om_framing *f);

/* The plan's "reframe" object for a decision (a new reference, the caller's; NULL for NONE):
 * SPEAKER {"mode":"speaker","track":[[t,x],...],"smoothing":0,"max_pan":max_pan,
 * "evidence":{...}}, SPLIT the same with "mode":"split" and "track2", GROUP
 * {"mode":"blur_pad","evidence":{...}} (media/editplan.h). */
json_t *om_framing_reframe_json(const om_face_scan *s, const om_framing *f, double max_pan);

#endif
