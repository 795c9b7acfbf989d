/* captions.c: ASS captions with word-by-word highlight from ASR word timings: UTF-8
 * sanitising, FreeType text measurement, line wrapping into the safe area, confidence gate,
 * event timing. See captions.h for the rules. */
#include "base/common.h"
#include "media/captions.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <strings.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_TRUETYPE_TABLES_H
#include FT_ADVANCES_H

#define PAUSE_BREAK_S 1.0
#define POP_PAUSE_S 0.35
#define POP_MAX_WORDS 3
#define HOLD_S 0.4
#define MAX_WORDS 20000
#define MAX_WORD_BYTES 512

/* ---------- style ---------- */

void om_caption_style_default(om_caption_style *st)
{
    memset(st, 0, sizeof(*st));
    snprintf(st->font, sizeof(st->font), "DejaVu Sans");
    st->size = 64;
    st->color = 0xFFFFFF;
    st->highlight_color = 0xFFD700;
    st->outline_color = 0x000000;
    st->position = 'b';
    st->play_w = 1080;
    st->play_h = 1920;
    st->outline = 4;
    st->min_conf = 0.5;
    snprintf(st->fontsdir, sizeof(st->fontsdir), "/usr/share/fonts/truetype/dejavu");
    st->preset = OM_CAPTION_KARAOKE;
    st->bold = 0;
    st->keywords = NULL;
    om_caption_style_set_targets(st, NULL);
}

/* ---------- presets and safe areas ---------- */

static const char *const PRESETS[] = {"karaoke", "pop", "lower_third"};

int om_caption_preset_parse(const char *name)
{
    for (size_t i = 0; name && i < OM_ARRAY_LEN(PRESETS); i++)
        if (strcmp(PRESETS[i], name) == 0)
            return (int)i;
    return -1;
}

const char *om_caption_preset_name(om_caption_preset preset)
{
    return (size_t)preset < OM_ARRAY_LEN(PRESETS) ? PRESETS[preset] : "karaoke";
}

void om_caption_style_preset(om_caption_style *st, om_caption_preset preset)
{
    st->preset = preset;
    switch (preset) {
    case OM_CAPTION_KARAOKE:
        break;
    case OM_CAPTION_POP:
        st->bold = 1;
        st->size = (int)lround(st->size * 1.25);
        st->outline = st->size / 12 > 3 ? st->size / 12 : 3;
        st->position = 'm';
        break;
    case OM_CAPTION_LOWER_THIRD:
        st->bold = 0;
        st->size = (int)lround(st->size * 0.6) > 8 ? (int)lround(st->size * 0.6) : 8;
        st->outline = st->size / 4 > 4 ? st->size / 4 : 4; /* the box's padding */
        st->outline_color = 0x60000000;                   /* translucent black box */
        st->position = 'b';
        break;
    }
}

/* px at 1080x1920; see captions.h for what covers each margin */
static const struct {
    const char *target;
    int top, bottom, left, right;
} SAFE[] = {
    {"export", 96, 288, 86, 86},
    {"youtube", 230, 400, 60, 190},
    {"tiktok", 160, 480, 60, 150},
    {"instagram", 220, 420, 60, 140},
};

int om_caption_safe_area(const char *target, om_safe_area *out)
{
    for (size_t i = 0; target && i < OM_ARRAY_LEN(SAFE); i++) {
        if (strcmp(SAFE[i].target, target) == 0) {
            memset(out, 0, sizeof(*out));
            out->top = SAFE[i].top;
            out->bottom = SAFE[i].bottom;
            out->left = SAFE[i].left;
            out->right = SAFE[i].right;
            snprintf(out->targets, sizeof(out->targets), "%s", target);
            return OM_OK;
        }
    }
    return om_error_set(OM_ENOTFOUND, "no safe area known for target '%s'",
                        target ? target : "(null)");
}

void om_caption_style_set_targets(om_caption_style *st, const json_t *targets)
{
    om_safe_area u = {0, 0, 0, 0, ""};
    size_t i, used = 0;
    json_t *t;
    json_array_foreach(targets, i, t) {
        om_safe_area a;
        if (!json_is_string(t) || om_caption_safe_area(json_string_value(t), &a) != OM_OK) {
            om_error_clear();
            continue;
        }
        u.top = a.top > u.top ? a.top : u.top;
        u.bottom = a.bottom > u.bottom ? a.bottom : u.bottom;
        u.left = a.left > u.left ? a.left : u.left;
        u.right = a.right > u.right ? a.right : u.right;
        size_t n = strlen(u.targets);
        snprintf(u.targets + n, sizeof(u.targets) - n, "%s%s", n ? "+" : "", a.targets);
        used++;
    }
    if (!used)
        om_caption_safe_area("export", &u);
    double sx = st->play_w / 1080.0, sy = st->play_h / 1920.0;
    st->safe = u;
    st->safe.top = (int)lround(u.top * sy);
    st->safe.bottom = (int)lround(u.bottom * sy);
    st->safe.left = (int)lround(u.left * sx);
    st->safe.right = (int)lround(u.right * sx);
}

/* "#RRGGBB" or "#RRGGBBAA" (AA = opacity, FF opaque) -> 0xTTRRGGBB with TT the ASS
 * transparency (00 opaque). */
static int parse_color(const json_t *v, const char *field, uint32_t *out)
{
    if (!v || json_is_null(v))
        return OM_OK;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t n = s ? strlen(s) : 0;
    if (!s || s[0] != '#' || (n != 7 && n != 9) || strspn(s + 1, "0123456789abcdefABCDEF") != n - 1)
        return om_error_set(OM_EINVAL, "%s: must be a colour \"#RRGGBB\" or \"#RRGGBBAA\"", field);
    char hex[7];
    memcpy(hex, s + 1, 6);
    hex[6] = '\0';
    uint32_t rgb = (uint32_t)strtoul(hex, NULL, 16);
    uint32_t transparency = 0;
    if (n == 9)
        transparency = 255u - (uint32_t)strtoul(s + 7, NULL, 16);
    *out = (transparency << 24) | rgb;
    return OM_OK;
}

static int caption_fields(om_caption_style *st, const json_t *cap);

int om_caption_style_from_brand(om_caption_style *st, const json_t *brand)
{
    const json_t *kw = brand ? json_object_get(brand, "keywords") : NULL;
    if (kw && !json_is_null(kw) && !json_is_array(kw))
        return om_error_set(OM_EINVAL, "brand.keywords: must be an array of strings");
    st->keywords = json_is_array(kw) ? kw : NULL;
    const json_t *tg = brand ? json_object_get(brand, "targets") : NULL;
    if (json_is_array(tg))
        om_caption_style_set_targets(st, tg);
    const json_t *cap = brand ? json_object_get(brand, "caption") : NULL;
    if (!cap || json_is_null(cap))
        return OM_OK;
    if (!json_is_object(cap))
        return om_error_set(OM_EINVAL, "brand.caption: must be an object");
    return caption_fields(st, cap);
}

static int caption_fields(om_caption_style *st, const json_t *cap)
{
    json_t *style = json_object_get(cap, "style");
    if (style && !json_is_null(style)) {
        int p = om_caption_preset_parse(json_string_value(style));
        if (p < 0)
            return om_error_set(OM_EINVAL,
                                "brand.caption.style: must be karaoke, pop or lower_third");
        om_caption_style_preset(st, (om_caption_preset)p);
    }
    json_t *font = json_object_get(cap, "font");
    if (font && !json_is_null(font)) {
        const char *f = json_is_string(font) ? json_string_value(font) : NULL;
        if (!f || !f[0] || strlen(f) >= sizeof(st->font) || strpbrk(f, ",{}\\\n\r"))
            return om_error_set(OM_EINVAL,
                                "brand.caption.font: must be a font family name (no , { } \\)");
        snprintf(st->font, sizeof(st->font), "%s", f);
    }
    json_t *size = json_object_get(cap, "size");
    if (size && !json_is_null(size)) {
        if (!json_is_number(size) || json_number_value(size) < 8 || json_number_value(size) > 300)
            return om_error_set(OM_EINVAL, "brand.caption.size: must be a number 8-300");
        st->size = (int)lround(json_number_value(size));
        st->outline = st->size / 16 > 2 ? st->size / 16 : 2;
    }
    int rc;
    if ((rc = parse_color(json_object_get(cap, "color"), "brand.caption.color", &st->color)))
        return rc;
    if ((rc = parse_color(json_object_get(cap, "highlight_color"), "brand.caption.highlight_color",
                          &st->highlight_color)))
        return rc;
    if ((rc = parse_color(json_object_get(cap, "outline_color"), "brand.caption.outline_color",
                          &st->outline_color)))
        return rc;
    json_t *pos = json_object_get(cap, "position");
    if (pos && !json_is_null(pos)) {
        const char *p = json_is_string(pos) ? json_string_value(pos) : "";
        if (strcmp(p, "bottom") == 0)
            st->position = 'b';
        else if (strcmp(p, "middle") == 0)
            st->position = 'm';
        else if (strcmp(p, "top") == 0)
            st->position = 't';
        else
            return om_error_set(OM_EINVAL, "brand.caption.position: must be bottom, middle or top");
    }
    return OM_OK;
}

/* ---------- UTF-8 ---------- */

/* Decodes one code point at s[*i]; invalid or truncated sequences give U+FFFD and consume
 * one byte. */
static uint32_t u8_next(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];
    uint32_t cp;
    size_t n;
    if (c < 0x80) {
        (*i)++;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F;
        n = 2;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F;
        n = 3;
    } else if ((c & 0xF8) == 0xF0) {
        cp = c & 0x07;
        n = 4;
    } else {
        (*i)++;
        return 0xFFFD;
    }
    if (*i + n > len) {
        (*i)++;
        return 0xFFFD;
    }
    for (size_t k = 1; k < n; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    }
    /* overlong forms, surrogates, out of range */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        (*i)++;
        return 0xFFFD;
    }
    *i += n;
    return cp;
}

/* Valid UTF-8, no control characters, whitespace runs collapsed to one space, trimmed. */
static char *sanitize(const char *in)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "");
    const unsigned char *s = (const unsigned char *)in;
    size_t len = strlen(in), i = 0;
    int pending_space = 0;
    while (i < len && sb.len < MAX_WORD_BYTES) {
        uint32_t cp = u8_next(s, len, &i);
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0 || cp == 0x2028 ||
            cp == 0x2029) {
            pending_space = sb.len > 0;
            continue;
        }
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            continue;
        if (pending_space)
            sb_puts(&sb, " ");
        pending_space = 0;
        sb_put_utf8(&sb, cp);
    }
    return sb_detach(&sb);
}

/* A code point that belongs to the previous grapheme cluster. */
static int is_extend(uint32_t cp)
{
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
           (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
           (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
           (cp >= 0xE0100 && cp <= 0xE01EF) || (cp >= 0x1F3FB && cp <= 0x1F3FF) ||
           (cp >= 0xE0020 && cp <= 0xE007F) || cp == 0x200D || cp == 0x200C;
}

static int is_wide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
           (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
           (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F000 && cp <= 0x1FAFF) ||
           (cp >= 0x2600 && cp <= 0x27BF) || (cp >= 0x20000 && cp <= 0x3FFFD);
}

/* Byte length of the grapheme cluster starting at s[i] (approximation of UAX #29 that keeps
 * combining marks, variation selectors, ZWJ sequences, skin tones and flag pairs together). */
static size_t cluster_len(const unsigned char *s, size_t len, size_t i)
{
    size_t j = i;
    uint32_t first = u8_next(s, len, &j);
    int ri = first >= 0x1F1E6 && first <= 0x1F1FF;
    int joined = 0;
    while (j < len) {
        size_t k = j;
        uint32_t cp = u8_next(s, len, &k);
        if (joined || is_extend(cp)) {
            joined = cp == 0x200D;
            j = k;
            continue;
        }
        if (ri && cp >= 0x1F1E6 && cp <= 0x1F1FF) {
            ri = 0;
            j = k;
            continue;
        }
        break;
    }
    return j - i;
}

char *om_captions_escape(const char *utf8)
{
    om_sbuf sb = OM_SBUF_INIT;
    sb_puts(&sb, "");
    for (const char *c = utf8; *c; c++) {
        if (*c == '{' || *c == '}') {
            sb_printf(&sb, "\\%c", *c);
        } else if (*c == '\\') {
            sb_puts(&sb, "\\");
            if (c[1] && strchr("Nnh{}", c[1]))
                sb_puts(&sb, "\xE2\x81\xA0"); /* U+2060 word joiner: breaks the escape */
        } else if (*c == '\n' || *c == '\r') {
            sb_puts(&sb, " ");
        } else {
            sb_append(&sb, c, 1);
        }
    }
    return sb_detach(&sb);
}

/* ---------- font metrics ---------- */

typedef struct fontm {
    FT_Library lib;
    FT_Face face;
    double scale;  /* px per font unit */
    double em;     /* px of one em */
    double notdef; /* px advance of the missing-glyph box */
} fontm;

static int style_rank(const char *style, int bold)
{
    if (!style)
        return 1;
    if (bold)
        return !strcasecmp(style, "Bold") ? 3 : strcasestr(style, "Bold") ? 1 : 0;
    if (!strcasecmp(style, "Book") || !strcasecmp(style, "Regular") ||
        !strcasecmp(style, "Normal") || !strcasecmp(style, "Roman"))
        return 3;
    if (strcasestr(style, "Bold") || strcasestr(style, "Condensed") || strcasestr(style, "Light") ||
        strcasestr(style, "Oblique") || strcasestr(style, "Italic"))
        return 0;
    return 1;
}

static char *find_font_file(FT_Library lib, const char *dir, const char *family, int bold)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *best = NULL;
    int best_rank = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 ||
            (strcasecmp(e->d_name + n - 4, ".ttf") && strcasecmp(e->d_name + n - 4, ".otf")))
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        FT_Face f;
        if (FT_New_Face(lib, path, 0, &f) == 0) {
            if (f->family_name && strcasecmp(f->family_name, family) == 0) {
                int r = style_rank(f->style_name, bold);
                if (r > best_rank) {
                    best_rank = r;
                    free(best);
                    best = xstrdup(path);
                }
            }
            FT_Done_Face(f);
        }
        free(path);
    }
    closedir(d);
    return best;
}

static int fontm_open(fontm *fm, const om_caption_style *st)
{
    memset(fm, 0, sizeof(*fm));
    fm->em = st->size * 0.859; /* DejaVu-like proportions when no font is found */
    fm->notdef = fm->em * 0.6;
    if (FT_Init_FreeType(&fm->lib) != 0) {
        fm->lib = NULL;
        return 0;
    }
    char *path = find_font_file(fm->lib, st->fontsdir, st->font, st->bold);
    if (!path) /* libass falls back through fontconfig; DejaVu Sans is the installed default */
        path = find_font_file(fm->lib, st->fontsdir, "DejaVu Sans", st->bold);
    if (!path || FT_New_Face(fm->lib, path, 0, &fm->face) != 0) {
        fm->face = NULL;
        free(path);
        return 0;
    }
    free(path);
    TT_OS2 *os2 = FT_Get_Sfnt_Table(fm->face, FT_SFNT_OS2);
    double height = os2 && os2->usWinAscent + os2->usWinDescent > 0
                        ? (double)(os2->usWinAscent + os2->usWinDescent)
                        : (double)(fm->face->ascender - fm->face->descender);
    if (height <= 0)
        height = fm->face->units_per_EM;
    fm->scale = st->size / height; /* libass: size is the winAscent+winDescent height */
    fm->em = fm->face->units_per_EM * fm->scale;
    FT_Fixed adv = 0;
    if (FT_Get_Advance(fm->face, 0, FT_LOAD_NO_SCALE, &adv) == 0)
        fm->notdef = adv * fm->scale;
    return 1;
}

static void fontm_close(fontm *fm)
{
    if (fm->face)
        FT_Done_Face(fm->face);
    if (fm->lib)
        FT_Done_FreeType(fm->lib);
}

static double cp_width(const fontm *fm, uint32_t cp)
{
    if (is_extend(cp))
        return 0;
    if (fm->face) {
        FT_UInt gi = FT_Get_Char_Index(fm->face, cp);
        if (gi) {
            FT_Fixed adv = 0;
            if (FT_Get_Advance(fm->face, gi, FT_LOAD_NO_SCALE, &adv) == 0)
                return adv * fm->scale;
        }
        /* missing glyph: a fallback font (or the .notdef box) takes its place */
        return is_wide(cp) ? fmax(fm->em, fm->notdef) : fmax(fm->em * 0.6, fm->notdef);
    }
    if (is_wide(cp))
        return fm->em;
    if (cp == ' ')
        return fm->em * 0.318;
    return fm->em * 0.62;
}

static double text_width(const fontm *fm, const char *s, size_t n)
{
    double w = 0;
    size_t i = 0;
    while (i < n)
        w += cp_width(fm, u8_next((const unsigned char *)s, n, &i));
    return w;
}

double om_captions_measure(const om_caption_style *st, const char *utf8)
{
    fontm fm;
    fontm_open(&fm, st);
    double w = text_width(&fm, utf8, strlen(utf8));
    fontm_close(&fm);
    return w;
}

/* ---------- building ---------- */

typedef struct cword {
    char *text;
    double start, end;         /* clip seconds */
    double src_start, src_end; /* source seconds */
    double conf;
    int kw;   /* part of a brand keyword: highlight colour */
    int glue; /* no line break between this word and the next (name, keyword) */
    int cap;  /* capitalised as spoken/transcribed (before a preset's upper case) */
} cword;

typedef struct ctok {
    size_t word;
    char *text;
    double width;
    int cont; /* continuation of the previous token's word: no space, line break before */
} ctok;

typedef struct cline {
    size_t tok0, ntok;
    size_t w0, w1; /* first/last word index */
    double width;  /* incl. outline */
    size_t phrase;
    int dropped;
} cline;

static int is_filler(const char *w)
{
    size_t n = strlen(w);
    if (n == 0)
        return 1;
    if ((w[0] == '<' && w[n - 1] == '>') || (w[0] == '[' && w[n - 1] == ']'))
        return 1;
    if (n >= 4 && strncmp(w, "++", 2) == 0 && strcmp(w + n - 2, "++") == 0)
        return 1;
    return 0;
}

/* "word(2)" (pocketsphinx pronunciation variant) -> "word" */
static void strip_variant(char *w)
{
    size_t n = strlen(w);
    if (n < 4 || w[n - 1] != ')')
        return;
    size_t k = n - 2;
    while (k > 0 && isdigit((unsigned char)w[k]))
        k--;
    if (k < n - 2 && w[k] == '(' && k > 0)
        w[k] = '\0';
}

static int ends_sentence(const char *w)
{
    size_t n = strlen(w);
    while (n > 0 && strchr("\"')]\xC2\xBB", w[n - 1]))
        n--;
    if (n == 0)
        return 0;
    if (strchr(".!?", w[n - 1]))
        return 1;
    return n >= 3 && memcmp(w + n - 3, "\xE2\x80\xA6", 3) == 0; /* … */
}

static int cmp_word(const void *a, const void *b)
{
    const cword *x = a, *y = b;
    if (x->start < y->start)
        return -1;
    if (x->start > y->start)
        return 1;
    return x < y ? -1 : x > y;
}

static void ass_time(om_sbuf *sb, long cs)
{
    if (cs < 0)
        cs = 0;
    sb_printf(sb, "%ld:%02ld:%02ld.%02ld", cs / 360000, (cs / 6000) % 60, (cs / 100) % 60,
              cs % 100);
}

/* 0xTTRRGGBB -> 0xBBGGRR (the colour part of an ASS &HAABBGGRR) */
static uint32_t bgr(uint32_t rgb)
{
    return ((rgb & 0xFF) << 16) | (rgb & 0xFF00) | ((rgb >> 16) & 0xFF);
}

static unsigned alpha(uint32_t c)
{
    return (c >> 24) & 0xFF;
}

static void ass_header(om_sbuf *sb, const om_caption_style *st)
{
    int align = st->position == 't' ? 8 : st->position == 'm' ? 5 : 2;
    if (st->preset == OM_CAPTION_LOWER_THIRD)
        align = st->position == 't' ? 7 : st->position == 'm' ? 4 : 1; /* left-aligned */
    int ml = st->safe.left, mr = st->safe.right;
    int mv = st->position == 't'   ? (int)lround(st->safe.top + st->play_h * 0.05)
             : st->position == 'm' ? 0
                                   : (int)lround(st->safe.bottom + st->play_h * 0.03);
    int border = st->preset == OM_CAPTION_LOWER_THIRD ? 3 : 1;
    sb_printf(sb,
              "[Script Info]\n"
              "; Omniva editor captions (preset %s, safe area of %s)\n"
              "ScriptType: v4.00+\n"
              "PlayResX: %d\n"
              "PlayResY: %d\n"
              "WrapStyle: 2\n"
              "ScaledBorderAndShadow: yes\n"
              "YCbCr Matrix: None\n"
              "\n"
              "[V4+ Styles]\n"
              "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, "
              "BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, "
              "BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
              "Style: Default,%s,%d,&H%02X%06X,&H%02X%06X,&H%02X%06X,&H80000000,%d,0,0,0,100,"
              "100,0,0,"
              "%d,%d,0,%d,%d,%d,%d,1\n"
              "\n"
              "[Events]\n"
              "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n",
              om_caption_preset_name(st->preset), st->safe.targets, st->play_w, st->play_h,
              st->font, st->size, alpha(st->color), (unsigned)bgr(st->color),
              alpha(st->highlight_color), (unsigned)bgr(st->highlight_color),
              alpha(st->outline_color), (unsigned)bgr(st->outline_color), st->bold ? -1 : 0,
              border, st->outline, align, ml, mr, mv);
}

typedef struct builder {
    const om_caption_style *st;
    fontm fm;
    cword *w;
    size_t nw;
    size_t *phrase_of; /* phrase index per word */
    ctok *t;
    size_t nt, at;
    cline *l;
    size_t nl, al;
    double maxw, space_w;
} builder;

static void add_tok(builder *b, size_t word, const char *s, size_t n, double width, int cont)
{
    if (b->nt == b->at) {
        b->at = b->at ? b->at * 2 : 64;
        b->t = xrealloc(b->t, st_mult(b->at, sizeof(ctok)));
    }
    b->t[b->nt++] = (ctok){word, xstrndup(s, n), width, cont};
}

/* Splits each word into tokens no wider than a line (between grapheme clusters). */
static void tokenize(builder *b)
{
    double room = b->maxw - 2.0 * b->st->outline;
    for (size_t i = 0; i < b->nw; i++) {
        const char *s = b->w[i].text;
        size_t len = strlen(s);
        double w = text_width(&b->fm, s, len);
        if (w <= room) {
            add_tok(b, i, s, len, w, 0);
            continue;
        }
        /* cut between clusters; prefer just after a hyphen or slash in the chunk */
        size_t start = 0, pos = 0, brk = 0;
        double acc = 0, acc_brk = 0;
        int cont = 0;
        while (pos < len) {
            size_t cl = cluster_len((const unsigned char *)s, len, pos);
            double cw = text_width(&b->fm, s + pos, cl);
            if (acc + cw > room && pos > start) {
                size_t cut = brk > start ? brk : pos;
                double cut_w = brk > start ? acc_brk : acc;
                add_tok(b, i, s + start, cut - start, cut_w, cont);
                cont = 1;
                start = cut;
                acc -= cut_w;
                brk = 0;
            }
            acc += cw;
            pos += cl;
            if (cl == 1 && strchr("-/_", s[pos - 1]) && pos < len) {
                brk = pos;
                acc_brk = acc;
            }
        }
        add_tok(b, i, s + start, len - start, acc, cont);
    }
}

static void add_line(builder *b, size_t tok0, size_t ntok, double width)
{
    if (b->nl == b->al) {
        b->al = b->al ? b->al * 2 : 32;
        b->l = xrealloc(b->l, st_mult(b->al, sizeof(cline)));
    }
    size_t w0 = b->t[tok0].word, w1 = b->t[tok0 + ntok - 1].word;
    b->l[b->nl++] = (cline){tok0, ntok, w0, w1, width + 2.0 * b->st->outline, b->phrase_of[w0], 0};
}

/* End (exclusive) of the unit starting at token j: the tokens of words glued together
 * (a name, a keyword); *w_out its width, *n_out its word count. */
static size_t unit_end(const builder *b, size_t j, double *w_out, size_t *n_out)
{
    size_t k = j + 1;
    double w = b->t[j].width;
    while (k < b->nt && !b->t[k].cont && b->t[k].word == b->t[k - 1].word + 1 &&
           b->w[b->t[k - 1].word].glue) {
        w += b->space_w + b->t[k].width;
        k++;
    }
    *w_out = w;
    *n_out = k - j;
    return k;
}

/* Greedy wrapping within phrases, a glued unit kept on one line when it fits one; at most
 * max_words words a line, a pause longer than pause_s ends a line. */
static void wrap(builder *b, size_t max_words, double pause_s)
{
    double room = b->maxw - 2.0 * b->st->outline;
    size_t i = 0;
    while (i < b->nt) {
        size_t j = i, words = 0;
        double width = 0;
        while (j < b->nt) {
            double uw;
            size_t un, k = unit_end(b, j, &uw, &un);
            if (j == i) {
                if (uw > room || un > max_words) { /* too big for a line: token by token */
                    k = j + 1;
                    uw = b->t[j].width;
                    un = 1;
                }
                width = uw;
                words = un;
                j = k;
                continue;
            }
            const ctok *tk = &b->t[j];
            const cword *prev = &b->w[b->t[j - 1].word];
            if (tk->cont || b->phrase_of[tk->word] != b->phrase_of[b->t[j - 1].word])
                break;
            if (b->w[tk->word].start - prev->end > pause_s)
                break;
            if (width + b->space_w + uw > room || words + un > max_words)
                break;
            width += b->space_w + uw;
            words += un;
            j = k;
        }
        add_line(b, i, j - i, width);
        i = j;
    }
}

/* ---------- keywords and names ---------- */

/* Lower-case ASCII, leading/trailing punctuation removed. Caller frees. */
static char *norm_word(const char *w)
{
    size_t n = strlen(w), a = 0;
    while (a < n && ispunct((unsigned char)w[a]))
        a++;
    while (n > a && ispunct((unsigned char)w[n - 1]))
        n--;
    char *o = xstrndup(w + a, n - a);
    for (char *p = o; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return o;
}

static int capitalised(const char *w)
{
    const unsigned char *s = (const unsigned char *)w;
    while (*s == '"' || *s == '\'' || *s == '(')
        s++;
    if (*s >= 'A' && *s <= 'Z')
        return 1;
    return s[0] == 0xC3 && s[1] >= 0x80 && s[1] <= 0x9E && s[1] != 0x97; /* À-Þ */
}

static int word_matches(const char *norm, const char *tok, int last)
{
    if (strcmp(norm, tok) == 0)
        return 1;
    size_t n = strlen(norm), t = strlen(tok);
    if (!last || n <= t || strncmp(norm, tok, t) != 0)
        return 0;
    return strcmp(norm + t, "s") == 0 || strcmp(norm + t, "'s") == 0 ||
           strcmp(norm + t, "es") == 0;
}

static void mark_keywords_and_names(builder *b, om_captions *c)
{
    char **nw = xcalloc(b->nw ? b->nw : 1, sizeof(char *));
    for (size_t i = 0; i < b->nw; i++)
        nw[i] = norm_word(b->w[i].text);
    size_t k;
    json_t *kwv;
    json_array_foreach((json_t *)b->st->keywords, k, kwv) {
        if (!json_is_string(kwv))
            continue;
        char *dup = xstrdup(json_string_value(kwv)), *save = NULL;
        char *toks[16];
        size_t nt = 0;
        for (char *t = strtok_r(dup, " \t-", &save); t && nt < OM_ARRAY_LEN(toks);
             t = strtok_r(NULL, " \t-", &save)) {
            char *n = norm_word(t);
            if (*n)
                toks[nt++] = n;
            else
                free(n);
        }
        for (size_t i = 0; nt && i + nt <= b->nw; i++) {
            size_t m = 0;
            while (m < nt && word_matches(nw[i + m], toks[m], m + 1 == nt))
                m++;
            if (m < nt)
                continue;
            for (m = 0; m < nt; m++) {
                b->w[i + m].kw = 1;
                if (m + 1 < nt)
                    b->w[i + m].glue = 1;
            }
        }
        for (size_t m = 0; m < nt; m++)
            free(toks[m]);
        free(dup);
    }
    for (size_t i = 0; i + 1 < b->nw; i++) {
        const char *t = b->w[i].text;
        size_t n = strlen(t);
        if (b->w[i].cap && b->w[i + 1].cap && !ends_sentence(t) && n &&
            !strchr(",;:", t[n - 1]) && b->phrase_of[i] == b->phrase_of[i + 1])
            b->w[i].glue = 1;
    }
    for (size_t i = 0; i < b->nw; i++) {
        c->nkeyword_words += b->w[i].kw ? 1 : 0;
        c->nglued += b->w[i].glue && i + 1 < b->nw ? 1 : 0;
        free(nw[i]);
    }
    free(nw);
}

/* Upper case for ASCII and Latin-1 letters (U+00E0-U+00FE except U+00F7); others kept. */
static void upper_utf8(char *s)
{
    unsigned char *p = (unsigned char *)s;
    for (; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (unsigned char)(*p - 32);
        else if (p[0] == 0xC3 && p[1] >= 0xA0 && p[1] <= 0xBE && p[1] != 0xB7) {
            p[1] = (unsigned char)(p[1] - 0x20);
            p++;
        }
    }
}

static void line_text(builder *b, const cline *ln, om_sbuf *sb, long hl_word, int escape)
{
    char hl[32], nm[32];
    snprintf(hl, sizeof(hl), "{\\1c&H%06X&}", (unsigned)bgr(b->st->highlight_color));
    snprintf(nm, sizeof(nm), "{\\1c&H%06X&}", (unsigned)bgr(b->st->color));
    for (size_t k = 0; k < ln->ntok; k++) {
        const ctok *tk = &b->t[ln->tok0 + k];
        if (k > 0 && !tk->cont)
            sb_puts(sb, " ");
        int on = escape && ((hl_word >= 0 && (size_t)hl_word == tk->word) || b->w[tk->word].kw);
        if (on)
            sb_puts(sb, hl);
        if (escape) {
            char *e = om_captions_escape(tk->text);
            sb_puts(sb, e);
            free(e);
        } else {
            sb_puts(sb, tk->text);
        }
        if (on)
            sb_puts(sb, nm);
    }
}

static void gate(builder *b, om_captions *c)
{
    for (size_t i = 0; i < b->nl; i++) {
        cline *ln = &b->l[i];
        size_t n = 0, low = 0;
        double sum = 0;
        for (size_t w = ln->w0; w <= ln->w1; w++) {
            n++;
            sum += b->w[w].conf;
            if (b->w[w].conf < b->st->min_conf)
                low++;
        }
        if (2 * low <= n)
            continue;
        ln->dropped = 1;
        c->nlines_dropped++;
        om_sbuf sb = OM_SBUF_INIT;
        line_text(b, ln, &sb, -1, 0);
        json_t *d = json_object();
        json_object_set_new(d, "start", json_real(round(b->w[ln->w0].src_start * 1000) / 1000));
        json_object_set_new(d, "end", json_real(round(b->w[ln->w1].src_end * 1000) / 1000));
        json_object_set_new(d, "clip_start", json_real(round(b->w[ln->w0].start * 1000) / 1000));
        json_object_set_new(d, "text", json_string(sb_str(&sb)));
        json_object_set_new(d, "mean_conf", json_real(round(sum / (double)n * 1000) / 1000));
        json_object_set_new(d, "low_words", json_integer((json_int_t)low));
        json_object_set_new(d, "words", json_integer((json_int_t)n));
        json_object_set_new(d, "reason", json_string("low ASR confidence"));
        json_array_append_new(c->dropped_lines, d);
        sb_release(&sb);
    }
}

static void add_event(om_captions *c, size_t *alloc, double s, double e, char *text, int nlines,
                      const double *widths, size_t word, size_t nwords)
{
    if (c->nevents == *alloc) {
        *alloc = *alloc ? *alloc * 2 : 64;
        c->events = xrealloc(c->events, st_mult(*alloc, sizeof(om_caption_event)));
    }
    om_caption_event *ev = &c->events[c->nevents++];
    ev->start = s;
    ev->end = e;
    ev->text = text;
    ev->nlines = nlines;
    ev->width[0] = widths[0];
    ev->width[1] = nlines > 1 ? widths[1] : 0;
    ev->word = word;
    ev->nwords = nwords;
}

static void emit_events(builder *b, om_captions *c, om_sbuf *ass, double dur)
{
    size_t alloc = 0;
    /* pages: up to two consecutive kept lines of one phrase */
    size_t *pg0 = xcalloc(b->nl + 1, sizeof(size_t)), *pgn = xcalloc(b->nl + 1, sizeof(size_t));
    size_t np = 0;
    for (size_t i = 0; i < b->nl;) {
        if (b->l[i].dropped) {
            i++;
            continue;
        }
        size_t n = 1;
        if (b->st->preset == OM_CAPTION_KARAOKE && i + 1 < b->nl && !b->l[i + 1].dropped &&
            b->l[i + 1].phrase == b->l[i].phrase)
            n = 2;
        pg0[np] = i;
        pgn[np++] = n;
        i += n;
    }
    /* page start times; a word split over pages shares its time between them */
    double *pstart = xcalloc(np + 1, sizeof(double));
    for (size_t p = 0; p < np; p++) {
        const cword *fw = &b->w[b->l[pg0[p]].w0];
        pstart[p] = fw->start;
        if (p > 0) {
            size_t prev_last = b->l[pg0[p - 1] + pgn[p - 1] - 1].w1;
            if (prev_last == b->l[pg0[p]].w0)
                pstart[p] = pstart[p - 1] + (fmax(fw->end, pstart[p - 1]) - pstart[p - 1]) / 2;
        }
    }
    for (size_t p = 0; p < np; p++) {
        const cline *l0 = &b->l[pg0[p]], *l1 = pgn[p] > 1 ? &b->l[pg0[p] + 1] : NULL;
        size_t w0 = l0->w0, w1 = l1 ? l1->w1 : l0->w1;
        double next_start = p + 1 < np ? pstart[p + 1] : dur;
        double last_end = 0;
        for (size_t w = w0; w <= w1; w++)
            last_end = fmax(last_end, b->w[w].end);
        double page_end = fmin(fmin(last_end + HOLD_S, next_start), dur);
        double widths[2] = {l0->width, l1 ? l1->width : 0};
        c->measured_max = fmax(c->measured_max, fmax(widths[0], widths[1]));
        if (b->st->preset != OM_CAPTION_KARAOKE) { /* one event per page (one line) */
            long scs = lround(pstart[p] * 100), ecs = lround(page_end * 100);
            if (c->nevents && scs < lround(c->events[c->nevents - 1].end * 100))
                scs = lround(c->events[c->nevents - 1].end * 100);
            if (ecs <= scs)
                continue;
            om_sbuf tx = OM_SBUF_INIT;
            sb_puts(&tx, b->st->preset == OM_CAPTION_POP
                             ? "{\\fscx70\\fscy70\\t(0,120,\\fscx100\\fscy100)}"
                             : "{\\fad(120,120)}");
            line_text(b, l0, &tx, -1, 1);
            sb_puts(ass, "Dialogue: 0,");
            ass_time(ass, scs);
            sb_puts(ass, ",");
            ass_time(ass, ecs);
            sb_printf(ass, ",Default,,0,0,0,,%s\n", sb_str(&tx));
            add_event(c, &alloc, scs / 100.0, ecs / 100.0, sb_detach(&tx), 1, widths, w0,
                      w1 - w0 + 1);
            sb_release(&tx);
            continue;
        }
        long prev_cs = -1;
        for (size_t w = w0; w <= w1; w++) {
            double s = w == w0 ? pstart[p] : b->w[w].start;
            double e = w == w1 ? page_end : b->w[w + 1].start;
            long scs = lround(s * 100), ecs = lround(e * 100);
            if (prev_cs >= 0 && scs < prev_cs)
                scs = prev_cs;
            if (ecs <= scs)
                continue; /* shorter than a centisecond: the next word takes over */
            prev_cs = ecs;
            om_sbuf tx = OM_SBUF_INIT;
            line_text(b, l0, &tx, (long)w, 1);
            if (l1) {
                sb_puts(&tx, "\\N");
                line_text(b, l1, &tx, (long)w, 1);
            }
            sb_puts(ass, "Dialogue: 0,");
            ass_time(ass, scs);
            sb_puts(ass, ",");
            ass_time(ass, ecs);
            sb_printf(ass, ",Default,,0,0,0,,%s\n", sb_str(&tx));
            add_event(c, &alloc, scs / 100.0, ecs / 100.0, sb_detach(&tx), l1 ? 2 : 1, widths, w,
                      w1 - w0 + 1);
            sb_release(&tx);
        }
    }
    free(pstart);
    c->nlines = 0;
    for (size_t i = 0; i < b->nl; i++)
        c->nlines += b->l[i].dropped ? 0 : 1;
    free(pg0);
    free(pgn);
}

int om_captions_build(om_captions **out, const json_t *words, double clip_start, double clip_end,
                      const om_caption_style *st)
{
    *out = NULL;
    if (!json_is_array(words))
        return om_error_set(OM_EINVAL, "captions: words must be an array");
    if (!(clip_end > clip_start))
        return om_error_set(OM_EINVAL, "captions: clip end %.3f not after start %.3f", clip_end,
                            clip_start);
    if (st->size < 8 || st->play_w < 64 || st->play_h < 64)
        return om_error_set(OM_EINVAL, "captions: style size/frame too small");
    double dur = clip_end - clip_start;
    builder b = {.st = st};
    b.maxw = st->play_w - st->safe.left - st->safe.right;
    if (b.maxw < st->size)
        return om_error_set(OM_EINVAL, "captions: safe area of %s leaves %.0f px for a line",
                            st->safe.targets, b.maxw);
    size_t n = json_array_size(words);
    if (n > MAX_WORDS)
        return om_error_set(OM_EINVAL, "captions: too many words (%zu, max %d)", n, MAX_WORDS);
    b.w = xcalloc(n ? n : 1, sizeof(cword));
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(words, i);
        json_t *jw = json_object_get(o, "w"), *js = json_object_get(o, "start"),
               *je = json_object_get(o, "end"), *jc = json_object_get(o, "conf");
        if (!json_is_string(jw) || !json_is_number(js) || !json_is_number(je))
            continue; /* malformed entries carry no caption */
        double s = json_number_value(js), e = json_number_value(je);
        if (!isfinite(s) || !isfinite(e))
            continue;
        if (e < s)
            e = s;
        double mid = (s + e) / 2;
        if (mid < clip_start || mid >= clip_end)
            continue;
        char *text = sanitize(json_string_value(jw));
        strip_variant(text);
        if (is_filler(text)) {
            free(text);
            continue;
        }
        cword *cw = &b.w[b.nw++];
        cw->cap = capitalised(text);
        if (st->preset == OM_CAPTION_POP)
            upper_utf8(text);
        cw->text = text;
        cw->src_start = s;
        cw->src_end = e;
        cw->start = fmax(0, s - clip_start);
        cw->end = fmin(dur, e - clip_start);
        if (cw->end < cw->start)
            cw->end = cw->start;
        cw->conf = json_is_number(jc) ? json_number_value(jc) : 1.0;
    }
    qsort(b.w, b.nw, sizeof(cword), cmp_word);

    om_captions *c = xcalloc(1, sizeof(*c));
    c->dropped_lines = json_array();
    c->nwords = b.nw;
    c->max_width = b.maxw;
    c->font_measured = fontm_open(&b.fm, st);
    b.space_w = cp_width(&b.fm, ' ');
    b.phrase_of = xcalloc(b.nw ? b.nw : 1, sizeof(size_t));
    for (size_t i = 1; i < b.nw; i++) {
        int brk = b.w[i].start - b.w[i - 1].end > PAUSE_BREAK_S || ends_sentence(b.w[i - 1].text);
        b.phrase_of[i] = b.phrase_of[i - 1] + (brk ? 1 : 0);
    }
    c->preset = st->preset;
    c->safe = st->safe;
    mark_keywords_and_names(&b, c);
    tokenize(&b);
    if (st->preset == OM_CAPTION_POP)
        wrap(&b, POP_MAX_WORDS, POP_PAUSE_S);
    else
        wrap(&b, SIZE_MAX, INFINITY);
    gate(&b, c);
    om_sbuf ass = OM_SBUF_INIT;
    ass_header(&ass, st);
    emit_events(&b, c, &ass, dur);
    c->ass = sb_detach(&ass);

    fontm_close(&b.fm);
    for (size_t i = 0; i < b.nw; i++)
        free(b.w[i].text);
    for (size_t i = 0; i < b.nt; i++)
        free(b.t[i].text);
    free(b.w);
    free(b.t);
    free(b.l);
    free(b.phrase_of);
    *out = c;
    return OM_OK;
}

void om_captions_free(om_captions *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nevents; i++)
        free(c->events[i].text);
    free(c->events);
    free(c->ass);
    json_decref(c->dropped_lines);
    free(c);
}

json_t *om_captions_report(const om_captions *c)
{
    json_t *r = json_object();
    json_object_set_new(r, "events", json_integer((json_int_t)c->nevents));
    json_object_set_new(r, "words", json_integer((json_int_t)c->nwords));
    json_object_set_new(r, "lines", json_integer((json_int_t)c->nlines));
    json_object_set_new(r, "dropped_lines", json_deep_copy(c->dropped_lines));
    json_object_set_new(r, "font_measured", json_boolean(c->font_measured));
    json_object_set_new(r, "max_line_width", json_real(round(c->measured_max * 10) / 10));
    json_object_set_new(r, "preset", json_string(om_caption_preset_name(c->preset)));
    json_object_set_new(r, "keyword_words", json_integer((json_int_t)c->nkeyword_words));
    json_object_set_new(r, "names_kept_together", json_integer((json_int_t)c->nglued));
    json_object_set_new(r, "safe_area",
                        json_pack("{s:s, s:i, s:i, s:i, s:i}", "targets", c->safe.targets, "top",
                                  c->safe.top, "bottom", c->safe.bottom, "left", c->safe.left,
                                  "right", c->safe.right));
    return r;
}
