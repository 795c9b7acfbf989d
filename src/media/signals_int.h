/*
 * signals_int.h: what the signal analyses of the media module share (loudness.c,
 * audiosig.c, scenes.c, croptrack.c); defined in signals.c unless inline. Internal to
 * src/media: nothing outside includes it.
 *
 * Ownership: om_luma_grid is a plain value (no pointers); om_sig_open_video_decoder hands a
 * decoder the caller frees with avcodec_free_context. Errors: as each function says.
 */
#ifndef OMNIVA_MEDIA_SIGNALS_INT_H
#define OMNIVA_MEDIA_SIGNALS_INT_H

#include <math.h>
#include <stddef.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

/* ---- series helpers ------------------------------------------------------------------ */

/* Entries of a per-second series: a trailing part second counts from half a second on
 * (codec padding must not add an entry), and anything non-empty has one. */
size_t om_sig_seconds(double duration);
/* qsort comparator for doubles, ascending. */
int om_sig_cmp_double(const void *a, const void *b);
/* The p-quantile (0..1, nearest rank) of v[0..n), v untouched; 0 for n == 0. */
double om_sig_percentile(const double *v, size_t n, double p);
/* Median of v[0..n); sorts v in place. 0 for n == 0. */
double om_sig_median(double *v, size_t n);

/* ---- second-order IIR sections (loudness.c, audiosig.c) ----------------------------- */

typedef struct om_biquad {
    double b0, b1, b2, a1, a2; /* a0 normalised to 1 */
    double z1, z2;             /* transposed direct form II state */
} om_biquad;

static inline double om_bq_run(om_biquad *f, double x)
{
    double y = f->b0 * x + f->z1;
    f->z1 = f->b1 * x - f->a1 * y + f->z2;
    f->z2 = f->b2 * x - f->a2 * y;
    return y;
}

/* Decaying state would end in denormals on digital silence (slow); flush it early. */
static inline void om_bq_flush_tiny(om_biquad *f)
{
    if (fabs(f->z1) < 1e-15 && fabs(f->z2) < 1e-15)
        f->z1 = f->z2 = 0.0;
}

/* ---- the 64x36 luma grid both video analyses read ------------------------------------ */

#define GRID_W 64
#define GRID_H 36
#define GRID_SUB 4 /* samples per cell per axis */
#define HIST_BINS 32

typedef struct om_luma_grid {
    int gw, gh;
    float mean[GRID_W * GRID_H];
    float dev[GRID_W * GRID_H];
    float hist[HIST_BINS]; /* normalised to sum 1 */
} om_luma_grid;

/* Fills a gw x gh grid (at most GRID_W x GRID_H) of cell mean luma, cell standard deviation
 * and a luma histogram from GRID_SUB x GRID_SUB samples per cell. Returns -1 (no message)
 * for pixel formats we cannot read. */
int om_luma_grid_from_frame(const AVFrame *f, int gw, int gh, om_luma_grid *g);
/* Histogram distance (0..1) and mean absolute grid difference (0..1) of two grids. */
void om_luma_grid_distance(const om_luma_grid *a, const om_luma_grid *b, double *hd, double *gd);

/* A low-cost luma decoder for stream `vi` of fmt (no loop filter, gray where built, 2
 * threads). OM_ERROR out of memory, OM_EINVAL when the decoder cannot open (message names
 * path). */
int om_sig_open_video_decoder(AVFormatContext *fmt, int vi, const char *path,
                              enum AVDiscard skip_frame, AVCodecContext **out);
/* Media time of a decoded frame (stream time minus origin); NAN without a timestamp. */
double om_sig_frame_time(const AVFrame *f, const AVStream *st, double origin);

#endif
