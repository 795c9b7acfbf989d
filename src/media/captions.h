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
 * Presets (brand.caption.style; the brand's other caption fields override a preset's):
 *   karaoke      the layout above: pages of up to two lines, one event per word, the
 *                spoken word in highlight_color;
 *   pop          bold, UPPER CASE, 1-3 words at a time (a chunk ends at a phrase end or a
 *                pause > 0.35 s), each chunk one event that pops in (\fscx/\fscy 70 -> 100
 *                over 120 ms, never larger than its measured size), middle of the frame;
 *   lower_third  minimal: one line at a time, 0.6 of the size, left-aligned in the bottom
 *                safe margin on a translucent box (BorderStyle 3), 120 ms fades.
 * In every preset the brand's keywords (brand.keywords; a multi-word keyword matches
 * consecutive words; case and surrounding punctuation ignored, a plural "s" allowed) are set
 * in highlight_color, and line breaks never split a name: consecutive capitalised words
 * (not across a sentence end or a comma) and the words of one keyword are wrapped as a
 * unit unless the unit alone is wider than a line.
 *
 * Safe area (om_caption_safe_area): margins in px at 1080x1920 (scaled to play_w/play_h)
 * that the platforms' UI overlays cover; the style takes, side by side, the largest margin
 * of every target the brand publishes to (brand.targets), so one render is safe on all:
 *   target     top  bottom  left  right   what covers it
 *   export      96    288     86     86   generic 9:16 (5% top, 15% bottom, 8% sides)
 *   youtube    230    400     60    190   Shorts: search/menu bar; title, channel and
 *                                         subscribe block + comment bar; action column
 *   tiktok     160    480     60    150   For You/Following tabs; caption, user name and
 *                                         sound ticker (taller than Shorts'); action column
 *   instagram  220    420     60    140   Reels: camera/title bar; caption and audio row;
 *                                         action column
 * Lines are measured against play_w - left - right; bottom captions sit 3% of the height
 * above the bottom margin, top ones 5% below the top margin, middle ones centred.
 *
 * Ownership: om_captions_build's *out is the caller's (om_captions_free); json_t returned
 * by om_captions_report is a new reference.
 */
#ifndef OMNIVA_MEDIA_CAPTIONS_H
#define OMNIVA_MEDIA_CAPTIONS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum om_caption_preset {
    OM_CAPTION_KARAOKE = 0,
    OM_CAPTION_POP,
    OM_CAPTION_LOWER_THIRD
} om_caption_preset;

typedef struct om_safe_area {
    int top, bottom, left, right; /* px at the style's play_w x play_h */
    char targets[96];             /* the targets it was made from, "youtube+tiktok" */
} om_safe_area;

typedef struct om_caption_style {
    char font[64];            /* family name, e.g. "DejaVu Sans" */
    int size;                 /* ASS Fontsize at PlayResY */
    uint32_t color;           /* 0xTTRRGGBB, TT = ASS transparency (00 opaque) */
    uint32_t highlight_color; /* 0xTTRRGGBB (the highlight switches colour, not alpha) */
    uint32_t outline_color;   /* 0xTTRRGGBB */
    char position;            /* 'b'ottom, 'm'iddle, 't'op */
    int play_w, play_h;       /* 1080 x 1920 */
    int outline;              /* px */
    om_safe_area safe;        /* the UI-free area (export's by default) */
    double min_conf;          /* confidence gate threshold (0.5) */
    char fontsdir[256];       /* where the font file is looked up */
    om_caption_preset preset; /* karaoke */
    int bold;                 /* 1: Bold in the style */
    const json_t *keywords;   /* borrowed array of strings (brand.keywords) or NULL; must
                                 outlive om_captions_build */
} om_caption_style;

/* DejaVu Sans 64, white, highlight #FFD700, black outline 4, bottom, 1080x1920, 0.5,
 * karaoke, the export safe area, no keywords. */
void om_caption_style_default(om_caption_style *st);
/* Applies projects.brand (borrowed; brand may be NULL or lack the keys): caption.style
 * (karaoke|pop|lower_third) first, then the other caption fields over the preset, the
 * keywords (borrowed, see above) and the safe area of brand.targets. Colours are "#RRGGBB"
 * or "#RRGGBBAA" (AA = opacity); size 8-300; OM_EINVAL naming the field (e.g.
 * "brand.caption.color") otherwise. */
int om_caption_style_from_brand(om_caption_style *st, const json_t *brand);

/* Sets one preset's defaults (size relative to the current size, position, bold). */
void om_caption_style_preset(om_caption_style *st, om_caption_preset preset);
/* "karaoke" | "pop" | "lower_third" -> preset; -1 for anything else. */
int om_caption_preset_parse(const char *name);
const char *om_caption_preset_name(om_caption_preset preset);

/* The safe area of one target at 1080x1920 (table above); OM_ENOTFOUND for an unknown
 * target name. */
int om_caption_safe_area(const char *target, om_safe_area *out);
/* The union (largest margins) of the targets' safe areas (an array of names; unknown names
 * and an empty array give export's), scaled to st->play_w x play_h, into st->safe. */
void om_caption_style_set_targets(om_caption_style *st, const json_t *targets);

typedef struct om_caption_event {
    double start, end; /* clip seconds, already rounded to ASS centiseconds */
    char *text;        /* the ASS Text field (overrides + \N) */
    int nlines;        /* 1 or 2 */
    double width[2];   /* measured width of each line in px (incl. outline) */
    size_t word;       /* index (into the kept words) of the highlighted word (karaoke), of
                          the first word shown (pop, lower_third) */
    size_t nwords;     /* words shown */
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
    size_t nkeyword_words; /* words set in the highlight colour as brand keywords */
    size_t nglued;         /* word boundaries kept unbroken (names, keywords) */
    om_caption_preset preset;
    om_safe_area safe;
} om_captions;

int om_captions_build(om_captions **out, const json_t *words, double clip_start, double clip_end,
                      const om_caption_style *st);
void om_captions_free(om_captions *c);
/* {"events":n,"words":n,"lines":n,"dropped_lines":[...],"font_measured":bool,
 *  "max_line_width":px,"preset":"pop","keyword_words":n,"safe_area":{"targets","top",
 *  "bottom","left","right"}} */
json_t *om_captions_report(const om_captions *c);

/* Width in px of a UTF-8 string set in the style's font/size (no outline). */
double om_captions_measure(const om_caption_style *st, const char *utf8);

/* Escapes caption text for an ASS Dialogue Text field. Caller frees. */
char *om_captions_escape(const char *utf8);

#endif
