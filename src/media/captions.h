/*
 * captions.h: burned-in captions as an ASS script built from ASR word timings.
 *
 * Input words are analysis.raw_ai_output.words: [{"w":"hello","start":1.23,"end":1.5,
 * "conf":0.91}, ...] in SOURCE seconds; the words of [clip_start, clip_end] (by midpoint)
 * are shifted to clip time. Layout:
 *   - words are wrapped into lines whose measured width fits the safe area (play_w minus
 *     side_margin on each side, minus the outline); widths come from FreeType with the
 *     brand font's real advances at libass's size convention (px per font unit =
 *     size / (OS/2 winAscent + winDescent)); a word wider than a line is split between
 *     grapheme clusters (never inside a UTF-8 sequence or a combining sequence);
 *   - a pause > 1 s or a sentence end (. ! ?) starts a new page; a page shows at most two
 *     lines; bottom captions sit above the lower UI zone (bottom_zone of the height);
 *   - word-by-word highlight: one Dialogue event per word showing its page with the current
 *     word in highlight_color ({\1c} overrides; renders reliably with libass, unlike \k
 *     which only sweeps SecondaryColour). Events of a page are contiguous, never overlap,
 *     and cover every word's [start, end] (the last word holds up to 0.4 s);
 *   - text is UTF-8 sanitised (invalid bytes -> U+FFFD, control chars dropped, newlines
 *     -> spaces) and escaped for ASS ({ } -> \{ \}, a backslash that would start \N \n \h
 *     gets a word joiner after it);
 *   - confidence gate: a line whose words are mostly (more than half) below min_conf is not
 *     burned in; it is listed in dropped_lines with its mean confidence and the reason.
 *     Words without "conf" count as confident (platform subtitles).
 *   ASR filler tokens (<sil>, [NOISE], ++GARBAGE++) are skipped, "word(2)" -> "word".
 *
 * Ownership: om_captions_build's *out is the caller's (om_captions_free); json_t returned
 * by om_captions_report is a new reference.
 */
#ifndef OMNIVA_MEDIA_CAPTIONS_H
#define OMNIVA_MEDIA_CAPTIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct om_caption_style {
    char font[64];            /* family name, e.g. "DejaVu Sans" */
    int size;                 /* ASS Fontsize at PlayResY */
    uint32_t color;           /* 0xTTRRGGBB, TT = ASS transparency (00 opaque) */
    uint32_t highlight_color; /* 0xTTRRGGBB (the highlight switches colour, not alpha) */
    uint32_t outline_color;   /* 0xTTRRGGBB */
    char position;            /* 'b'ottom, 'm'iddle, 't'op */
    int play_w, play_h;       /* 1080 x 1920 */
    int outline;              /* px */
    double side_margin;       /* fraction of the width kept clear on each side (0.08) */
    double bottom_zone;       /* fraction of the height reserved for platform UI (0.15) */
    double min_conf;          /* confidence gate threshold (0.5) */
    char fontsdir[256];       /* where the font file is looked up */
} om_caption_style;

/* DejaVu Sans 64, white, highlight #FFD700, black outline 4, bottom, 1080x1920, 0.5. */
void om_caption_style_default(om_caption_style *st);
/* Applies projects.brand "caption" (borrowed; brand may be NULL or lack it). Colours are
 * "#RRGGBB" or "#RRGGBBAA" (AA = opacity); size 8-300; OM_EINVAL naming the field (e.g.
 * "brand.caption.color") otherwise. */
int om_caption_style_from_brand(om_caption_style *st, const json_t *brand);

typedef struct om_caption_event {
    double start, end; /* clip seconds, already rounded to ASS centiseconds */
    char *text;        /* the ASS Text field (overrides + \N) */
    int nlines;        /* 1 or 2 */
    double width[2];   /* measured width of each line in px (incl. outline) */
    size_t word;       /* index (into the kept words) of the highlighted word */
} om_caption_event;

typedef struct om_captions {
    char *ass;                /* the whole script */
    om_caption_event *events; /* in time order */
    size_t nevents;
    size_t nwords; /* words of the clip used (after filler removal) */
    size_t nlines, nlines_dropped;
    double max_width;      /* allowed line width in px (incl. outline) */
    double measured_max;   /* widest line actually produced */
    json_t *dropped_lines; /* [{"start","end","clip_start","text","mean_conf","low_words",
                               "words","reason"}] (owned) */
    int font_measured;     /* 1: FreeType metrics of the font; 0: fallback estimate */
} om_captions;

int om_captions_build(om_captions **out, const json_t *words, double clip_start, double clip_end,
                      const om_caption_style *st);
void om_captions_free(om_captions *c);
/* {"events":n,"words":n,"lines":n,"dropped_lines":[...],"font_measured":bool} */
json_t *om_captions_report(const om_captions *c);

/* Width in px of a UTF-8 string set in the style's font/size (no outline). */
double om_captions_measure(const om_caption_style *st, const char *utf8);

/* Escapes caption text for an ASS Dialogue Text field. Caller frees. */
char *om_captions_escape(const char *utf8);

#endif
