/* facetrack.c: faces over time for the speaker-following crop: a scaled-down grey decode
 * piped from ffmpeg, face detection per sample, tracks, mouth activity, speech energy; then
 * the framing decision and its crop path. See facetrack.h. */
#include "base/common.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "media/audio.h"
#include "media/facetrack.h"
#include "media/faces.h"
#include "media/probe.h"

extern char **environ;

#define PATCH_W 16
#define PATCH_H 8
#define MAX_DET 12
#define PIPE_STALL_MS 120000

/* ---------- the ffmpeg pipe ---------- */

typedef struct gray_pipe {
    pid_t pid;
    int fd;
    char errpath[64];
    int errfd;
} gray_pipe;

static int pipe_open(gray_pipe *gp, const char *path, double start, double dur, double fps,
                     int w, int h)
{
    memset(gp, 0, sizeof(*gp));
    gp->fd = gp->errfd = -1;
    char ss[32], tt[32], vf[160];
    snprintf(ss, sizeof(ss), "%.3f", start);
    snprintf(tt, sizeof(tt), "%.3f", dur);
    snprintf(vf, sizeof(vf), "fps=%g:round=near,scale=%d:%d:flags=area,format=gray", fps, w, h);
    const char *argv[] = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
                          "-skip_frame", "noref", "-ss", ss, "-t", tt, "-i", path, "-an",
                          "-sn", "-dn", "-vf", vf, "-f", "rawvideo", "-pix_fmt", "gray",
                          "pipe:1", NULL};
    snprintf(gp->errpath, sizeof(gp->errpath), "/tmp/omniva-faces-XXXXXX");
    gp->errfd = mkstemp(gp->errpath);
    if (gp->errfd < 0)
        return om_error_set(OM_EIO, "face scan: temp file: %s", strerror(errno));
    unlink(gp->errpath);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        close(gp->errfd);
        return om_error_set(OM_EIO, "face scan: pipe: %s", strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, gp->errfd, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawnp(&gp->pid, "ffmpeg", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        close(gp->errfd);
        return om_error_set(OM_EUNAVAIL, "face scan: cannot run ffmpeg: %s", strerror(rc));
    }
    gp->fd = p[0];
    return OM_OK;
}

/* Reads one frame: 1, 0 at the end, < 0 on error. */
static int pipe_frame(gray_pipe *gp, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        struct pollfd pf = {gp->fd, POLLIN, 0};
        int pr = poll(&pf, 1, PIPE_STALL_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return om_error_set(OM_ETIMEOUT, "face scan: ffmpeg sent nothing for %d s",
                                PIPE_STALL_MS / 1000);
        ssize_t r = read(gp->fd, buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return om_error_set(OM_EIO, "face scan: reading ffmpeg's output: %s",
                                strerror(errno));
        if (r == 0)
            return 0; /* a partial last frame is dropped */
        got += (size_t)r;
    }
    return 1;
}

/* Waits for ffmpeg (killed first when `kill_it`); OM_OK when it exited 0. */
static int pipe_close(gray_pipe *gp, int kill_it)
{
    if (gp->fd >= 0)
        close(gp->fd);
    gp->fd = -1;
    int rc = OM_OK;
    if (gp->pid > 0) {
        if (kill_it)
            kill(gp->pid, SIGKILL);
        int status = 0;
        while (waitpid(gp->pid, &status, 0) < 0 && errno == EINTR)
            ;
        if (!kill_it && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            char msg[512] = "";
            ssize_t n = pread(gp->errfd, msg, sizeof(msg) - 1, 0);
            msg[n > 0 ? n : 0] = '\0';
            for (char *c = msg; *c; c++)
                if (*c == '\n')
                    *c = ' ';
            rc = om_error_set(OM_ERROR, "face scan: ffmpeg failed (%s%d): %s",
                              WIFEXITED(status) ? "exit " : "signal ",
                              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), msg);
        }
        gp->pid = 0;
    }
    if (gp->errfd >= 0)
        close(gp->errfd);
    gp->errfd = -1;
    return rc;
}

/* ---------- per-face patches ---------- */

/* Mean-removed PATCH_W x PATCH_H area average of the box band [fy0, fy1) x [fx0, fx1)
 * (fractions of the box). */
static void box_patch(const uint8_t *img, int W, int H, const om_face_box *b, double fx0,
                      double fx1, double fy0, double fy1, float *out)
{
    double x0 = b->x + fx0 * b->w, x1 = b->x + fx1 * b->w;
    double y0 = b->y + fy0 * b->h, y1 = b->y + fy1 * b->h;
    double sum = 0;
    for (int py = 0; py < PATCH_H; py++) {
        for (int px = 0; px < PATCH_W; px++) {
            int ax = (int)floor(x0 + (x1 - x0) * px / PATCH_W);
            int bx = (int)floor(x0 + (x1 - x0) * (px + 1) / PATCH_W);
            int ay = (int)floor(y0 + (y1 - y0) * py / PATCH_H);
            int by = (int)floor(y0 + (y1 - y0) * (py + 1) / PATCH_H);
            if (bx <= ax)
                bx = ax + 1;
            if (by <= ay)
                by = ay + 1;
            double s = 0;
            int c = 0;
            for (int y = ay; y < by; y++)
                for (int x = ax; x < bx; x++) {
                    int cx = x < 0 ? 0 : x >= W ? W - 1 : x, cy = y < 0 ? 0 : y >= H ? H - 1 : y;
                    s += img[(size_t)cy * W + cx];
                    c++;
                }
            out[py * PATCH_W + px] = (float)(s / c);
            sum += s / c;
        }
    }
    float mean = (float)(sum / (PATCH_W * PATCH_H));
    for (int i = 0; i < PATCH_W * PATCH_H; i++)
        out[i] -= mean;
}

static double patch_diff(const float *a, const float *b)
{
    double s = 0;
    for (int i = 0; i < PATCH_W * PATCH_H; i++)
        s += fabs((double)a[i] - b[i]);
    return s / (PATCH_W * PATCH_H);
}

/* ---------- tracks ---------- */

typedef struct track {
    om_face_obs *obs; /* n */
    size_t detected;
    double last_t;
    om_face_box last;      /* last detected box, detection pixels */
    int ended;
} track;

static double iou(const om_face_box *a, const om_face_box *b)
{
    double x0 = fmax(a->x, b->x), y0 = fmax(a->y, b->y);
    double x1 = fmin(a->x + a->w, b->x + b->w), y1 = fmin(a->y + a->h, b->y + b->h);
    double in = (x1 > x0 && y1 > y0) ? (x1 - x0) * (y1 - y0) : 0;
    double un = (double)a->w * a->h + (double)b->w * b->h - in;
    return un > 0 ? in / un : 0;
}

typedef struct scan_state {
    track *tr;
    size_t ntr, cap;
    size_t n;
} scan_state;

/* Mouth activity of a face with box b between the previous sample `prev` and `img`: both
 * patches are taken with the CURRENT box, so detection jitter (a box a pixel wider or
 * lower) does not count as movement; the eye band's change is subtracted, so a head that
 * moves does not count as talking either. */
static double mouth_activity(const uint8_t *prev, const uint8_t *img, int W, int H,
                             const om_face_box *b)
{
    float m0[PATCH_W * PATCH_H], m1[PATCH_W * PATCH_H], e0[PATCH_W * PATCH_H],
        e1[PATCH_W * PATCH_H];
    box_patch(prev, W, H, b, 0.2, 0.8, 0.68, 1.0, m0);
    box_patch(img, W, H, b, 0.2, 0.8, 0.68, 1.0, m1);
    box_patch(prev, W, H, b, 0.15, 0.85, 0.22, 0.5, e0);
    box_patch(img, W, H, b, 0.15, 0.85, 0.22, 0.5, e1);
    return fmax(0.0, patch_diff(m1, m0) - patch_diff(e1, e0));
}

static void scan_frame(scan_state *ss, size_t k, double t, const uint8_t *img,
                       const uint8_t *prev, int W, int H, const om_face_box *det, size_t nd,
                       double hold_s)
{
    int used[MAX_DET] = {0};
    int matched[OM_FACE_MAX_TRACKS * 4] = {0};
    /* greedy association: best (IoU, else closeness) pair first */
    for (;;) {
        double best = 0;
        size_t bi = 0, bj = 0;
        for (size_t i = 0; i < ss->ntr; i++) {
            track *tr = &ss->tr[i];
            if (tr->ended || matched[i])
                continue;
            for (size_t j = 0; j < nd; j++) {
                if (used[j])
                    continue;
                double v = iou(&tr->last, &det[j]);
                if (v < 0.2) {
                    double dx = (tr->last.x + tr->last.w / 2) - (det[j].x + det[j].w / 2);
                    double dy = (tr->last.y + tr->last.h / 2) - (det[j].y + det[j].h / 2);
                    double d = sqrt(dx * dx + dy * dy) / fmax(1.0, tr->last.w);
                    double sz = det[j].w / fmax(1.0, tr->last.w);
                    v = d < 0.7 && sz > 0.6 && sz < 1.66 ? 0.2 * (1 - d / 0.7) : 0;
                }
                if (v > best) {
                    best = v;
                    bi = i;
                    bj = j;
                }
            }
        }
        if (best <= 0)
            break;
        matched[bi] = 1;
        used[bj] = 1;
        track *tr = &ss->tr[bi];
        const om_face_box *b = &det[bj];
        om_face_obs *o = &tr->obs[k];
        o->present = 1;
        o->cx = (b->x + b->w / 2) / W;
        o->cy = (b->y + b->h / 2) / H;
        o->w = b->w / W;
        o->h = b->h / H;
        if (prev && k > 0 && tr->obs[k - 1].present)
            o->mouth = mouth_activity(prev, img, W, H, b);
        tr->last = *b;
        tr->last_t = t;
        tr->detected++;
    }
    /* unmatched tracks: held through a brief miss, else ended */
    for (size_t i = 0; i < ss->ntr; i++) {
        track *tr = &ss->tr[i];
        if (tr->ended || matched[i])
            continue;
        if (t - tr->last_t <= hold_s + 1e-9) {
            om_face_obs *o = &tr->obs[k];
            o->present = 2;
            o->cx = (tr->last.x + tr->last.w / 2) / W;
            o->cy = (tr->last.y + tr->last.h / 2) / H;
            o->w = tr->last.w / W;
            o->h = tr->last.h / H;
        } else {
            tr->ended = 1;
        }
    }
    /* new detections start tracks */
    for (size_t j = 0; j < nd; j++) {
        if (used[j] || ss->ntr >= OM_FACE_MAX_TRACKS * 4)
            continue;
        if (ss->ntr == ss->cap) {
            ss->cap = ss->cap ? ss->cap * 2 : 8;
            ss->tr = xrealloc(ss->tr, st_mult(ss->cap, sizeof(track)));
        }
        track *tr = &ss->tr[ss->ntr++];
        memset(tr, 0, sizeof(*tr));
        tr->obs = xcalloc(ss->n, sizeof(om_face_obs));
        for (size_t q = 0; q < ss->n; q++)
            tr->obs[q].mouth = NAN;
        const om_face_box *b = &det[j];
        om_face_obs *o = &tr->obs[k];
        o->present = 1;
        o->cx = (b->x + b->w / 2) / W;
        o->cy = (b->y + b->h / 2) / H;
        o->w = b->w / W;
        o->h = b->h / H;
        tr->last = *b;
        tr->last_t = t;
        tr->detected = 1;
    }
}

/* Speech energy per sample from the audio RMS over the sample period before it. */
static void speech_energy(const char *path, double start, double end, om_face_scan *s)
{
    om_pcm pcm = {0};
    if (om_audio_decode_16k(path, start, end - start, &pcm) < 0) {
        om_debug("media", "face scan: no speech energy for %s: %s", path, om_error_msg());
        om_error_clear();
        return;
    }
    double *db = xcalloc(s->n, sizeof(double)), *sorted = xcalloc(s->n, sizeof(double));
    for (size_t k = 0; k < s->n; k++) {
        double t1 = s->t[k] - start, t0 = t1 - 1.0 / s->fps;
        if (t0 < 0) {
            t0 = 0;
            t1 = 1.0 / s->fps;
        }
        size_t a = (size_t)(t0 * pcm.rate), b = (size_t)(t1 * pcm.rate);
        if (b > pcm.n)
            b = pcm.n;
        double e = 0;
        for (size_t i = a; i < b; i++)
            e += (double)pcm.samples[i] * pcm.samples[i];
        double rms = b > a ? sqrt(e / (double)(b - a)) / 32768.0 : 0;
        db[k] = 20 * log10(rms + 1e-6);
        sorted[k] = db[k];
    }
    /* noise floor: the 10th percentile, never under -80 dBFS (see below) */
    for (size_t i = 1; i < s->n; i++) /* insertion sort: n is small */
        for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double tmp = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = tmp;
        }
    /* a clip that is speech throughout has no pause to measure the floor in: the floor is
     * then taken 20 dB under the loud end (the 95th percentile) */
    double floor_db = fmax(-80.0, fmin(sorted[s->n / 10], sorted[(s->n * 95) / 100] - 20.0));
    for (size_t k = 0; k < s->n; k++) {
        double v = (db[k] - floor_db - 6.0) / 12.0;
        s->speech[k] = db[k] < -55.0 ? 0 : v < 0 ? 0 : v > 1 ? 1 : v;
    }
    s->has_audio = 1;
    free(db);
    free(sorted);
    om_pcm_release(&pcm);
}

static int cmp_track_x(const void *a, const void *b, void *ud)
{
    const double *mx = ud;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    return mx[i] < mx[j] ? -1 : mx[i] > mx[j];
}

int om_media_face_scan(const char *path, double start, double end, const om_face_scan_opts *o,
                       om_face_scan *out)
{
    OM_ASSERT(path && o && out);
    memset(out, 0, sizeof(*out));
    if (!(o->sample_fps > 0 && o->sample_fps <= 15) || !isfinite(start) || !isfinite(end) ||
        start < 0 || !(end > start) || end - start > OM_AUDIO_MAX_SECONDS ||
        o->detect_width < 64 || o->detect_width > 1920 || !(o->hold_s >= 0))
        return om_error_set(OM_EINVAL,
                            "%s: bad face scan request start=%g end=%g fps=%g width=%d", path,
                            start, end, o->sample_fps, o->detect_width);
    om_media_info info;
    int rc = om_media_probe(path, &info);
    if (rc < 0)
        return rc;
    if (!info.has_video)
        return om_error_set(OM_EINVAL, "no video track in %s", path);
    if (info.duration > 0 && start >= info.duration)
        return om_error_set(OM_EINVAL, "%s: face scan start %.3f s is at or past the end (%.3f s)",
                            path, start, info.duration);
    if (info.duration > 0 && end > info.duration)
        end = info.duration;
    om_face_detector *det = NULL;
    if ((rc = om_face_detector_open(&det, o->cascade)) < 0)
        return rc;

    int W = o->detect_width & ~1;
    int H = (int)lround((double)W * info.display_height / info.display_width / 2.0) * 2;
    if (H < 16)
        H = 16;
    size_t n = (size_t)ceil((end - start) * o->sample_fps - 1e-9);
    if (n == 0)
        n = 1;
    out->fps = o->sample_fps;
    out->width = info.display_width;
    out->height = info.display_height;
    out->detect_w = W;
    out->detect_h = H;
    out->t = xcalloc(n, sizeof(double));
    out->speech = xcalloc(n, sizeof(double));
    for (size_t k = 0; k < n; k++)
        out->t[k] = start + (double)k / o->sample_fps;

    gray_pipe gp;
    if ((rc = pipe_open(&gp, path, start, end - start, o->sample_fps, W, H)) < 0) {
        om_face_detector_free(det);
        om_face_scan_release(out);
        return rc;
    }
    size_t flen = (size_t)W * H;
    uint8_t *frame = xmalloc(flen), *prev = xmalloc(flen); /* two frames: all that is kept */
    scan_state ss = {NULL, 0, 0, n};
    size_t k = 0;
    int r = 0;
    while (k < n && (r = pipe_frame(&gp, frame, flen)) == 1) {
        om_face_box boxes[MAX_DET];
        size_t nd = 0;
        if ((rc = om_face_detect(det, frame, W, H, W, 0, boxes, MAX_DET, &nd)) < 0)
            break;
        out->detections += nd;
        scan_frame(&ss, k, out->t[k], frame, k > 0 ? prev : NULL, W, H, boxes, nd, o->hold_s);
        uint8_t *tmp = prev;
        prev = frame;
        frame = tmp;
        k++;
    }
    if (r < 0)
        rc = r;
    int prc = pipe_close(&gp, rc < 0 || k >= n);
    if (rc >= 0 && prc < 0 && k == 0)
        rc = prc;
    free(frame);
    free(prev);
    om_face_detector_free(det);
    if (rc >= 0 && k == 0)
        rc = om_error_set(OM_EINVAL, "%s: no video frame could be decoded in [%.3f, %.3f]", path,
                          start, end);
    if (rc < 0) {
        for (size_t i = 0; i < ss.ntr; i++)
            free(ss.tr[i].obs);
        free(ss.tr);
        om_face_scan_release(out);
        return rc;
    }
    out->n = k; /* the decode may end a little early: keep what was seen */

    /* keep tracks seen often enough, ordered left to right */
    size_t min_det = (size_t)fmax(2.0, ceil(0.15 * (double)k));
    size_t keep[OM_FACE_MAX_TRACKS * 4], nk = 0;
    double mx[OM_FACE_MAX_TRACKS * 4];
    for (size_t i = 0; i < ss.ntr; i++) {
        double sx = 0;
        size_t c = 0;
        for (size_t q = 0; q < k; q++)
            if (ss.tr[i].obs[q].present == 1) {
                sx += ss.tr[i].obs[q].cx;
                c++;
            }
        mx[i] = c ? sx / (double)c : 0.5;
        if (ss.tr[i].detected >= min_det)
            keep[nk++] = i;
    }
    qsort_r(keep, nk, sizeof(size_t), cmp_track_x, mx);
    if (nk > OM_FACE_MAX_TRACKS)
        nk = OM_FACE_MAX_TRACKS;
    out->ntracks = nk;
    out->obs = xcalloc(nk ? nk * k : 1, sizeof(om_face_obs));
    out->detected = xcalloc(nk ? nk : 1, sizeof(size_t));
    for (size_t j = 0; j < nk; j++) {
        memcpy(&out->obs[j * k], ss.tr[keep[j]].obs, k * sizeof(om_face_obs));
        out->detected[j] = ss.tr[keep[j]].detected;
    }
    for (size_t i = 0; i < ss.ntr; i++)
        free(ss.tr[i].obs);
    free(ss.tr);
    if (info.has_audio)
        speech_energy(path, start, end, out);
    return OM_OK;
}

void om_face_scan_release(om_face_scan *s)
{
    if (!s)
        return;
    free(s->t);
    free(s->speech);
    free(s->obs);
    free(s->detected);
    memset(s, 0, sizeof(*s));
}

/* ---------- the framing decision ---------- */

const char *om_framing_mode_name(om_framing_mode m)
{
    switch (m) {
    case OM_FRAMING_SPEAKER:
        return "speaker";
    case OM_FRAMING_SPLIT:
        return "split";
    case OM_FRAMING_GROUP:
        return "group";
    default:
        return "none";
    }
}

#define FOLLOW_STEP 0.1
#define FOLLOW_GAIN 4.0

/* The follower: a path every FOLLOW_STEP s from targets given per scan sample. */
static void follow(const om_face_scan *s, const double *target, const om_framing_opts *o,
                   double *x, size_t np)
{
    double lo = o->window / 2, hi = 1 - o->window / 2;
    if (lo > hi)
        lo = hi = 0.5;
    double pos = fmin(hi, fmax(lo, target[0])), vel = 0;
    int moving = 0;
    double amax = 4.0 * o->max_pan;
    for (size_t i = 0; i < np; i++) {
        double t = s->t[0] + (double)i * FOLLOW_STEP;
        /* the target between samples: linear, except across a jump (speaker change) */
        double u = (t - s->t[0]) * s->fps;
        size_t k = u <= 0 ? 0 : (size_t)u;
        double tg;
        if (k + 1 >= s->n) {
            tg = target[s->n - 1];
        } else {
            double a = target[k], b = target[k + 1], f = u - (double)k;
            tg = fabs(b - a) > 2 * o->dead_zone + 0.02 ? (f < 0.5 ? a : b) : a + (b - a) * f;
        }
        tg = fmin(hi, fmax(lo, tg));
        double err = tg - pos;
        if (!moving && fabs(err) > o->dead_zone)
            moving = 1;
        else if (moving && fabs(err) < o->dead_zone / 4 && fabs(vel) < 0.05)
            moving = 0;
        double want = moving ? FOLLOW_GAIN * err : 0;
        want = fmax(-o->max_pan, fmin(o->max_pan, want));
        double dv = want - vel, dvmax = amax * FOLLOW_STEP;
        vel += fmax(-dvmax, fmin(dvmax, dv));
        if (i > 0)
            pos += vel * FOLLOW_STEP;
        pos = fmin(hi, fmax(lo, pos));
        x[i] = pos;
    }
}

int om_framing_decide(const om_face_scan *s, const om_framing_opts *o, om_framing *out)
{
    OM_ASSERT(s && o && out);
    memset(out, 0, sizeof(*out));
    if (!(o->window > 0 && o->window <= 1) || !(o->max_pan > 0) || !(o->dead_zone >= 0))
        return om_error_set(OM_EINVAL, "framing: bad options window=%g max_pan=%g dead_zone=%g",
                            o->window, o->max_pan, o->dead_zone);
    size_t n = s->n, nt = s->ntracks;
    out->nsamples = n;
    out->ntracks = nt;
    out->speaker = xcalloc(n ? n : 1, sizeof(int));
    out->score = xcalloc(nt ? nt : 1, sizeof(double));
    out->visible = xcalloc(nt ? nt : 1, sizeof(double));
    for (size_t k = 0; k < n; k++)
        out->speaker[k] = -1;
    if (nt == 0 || n == 0) {
        out->mode = OM_FRAMING_NONE;
        snprintf(out->reason, sizeof(out->reason), "no face in the clip (%zu detections, none "
                 "held across samples)", s->detections);
        return OM_OK;
    }
    /* visibility and the typical number of faces in shot */
    size_t *count = xcalloc(n, sizeof(size_t));
    for (size_t j = 0; j < nt; j++) {
        size_t c = 0;
        for (size_t k = 0; k < n; k++)
            if (s->obs[j * n + k].present) {
                c++;
                count[k]++;
            }
        out->visible[j] = (double)c / (double)n;
    }
    size_t hist[OM_FACE_MAX_TRACKS + 1] = {0};
    for (size_t k = 0; k < n; k++)
        hist[count[k] > OM_FACE_MAX_TRACKS ? OM_FACE_MAX_TRACKS : count[k]]++;
    size_t at_once = 0, acc = 0; /* the median of the count over the samples */
    for (size_t c = 0; c <= OM_FACE_MAX_TRACKS; c++) {
        acc += hist[c];
        if (acc * 2 >= n) {
            at_once = c;
            break;
        }
    }
    /* speech-weighted mouth activity, smoothed over a centred 1.5 s window */
    double *act = xcalloc(nt * n, sizeof(double));
    double total = 0;
    for (size_t j = 0; j < nt; j++)
        for (size_t k = 0; k < n; k++) {
            const om_face_obs *ob = &s->obs[j * n + k];
            double sp = s->has_audio ? s->speech[k] : 1.0;
            double a = ob->present == 1 && isfinite(ob->mouth) ? ob->mouth * sp : 0;
            act[j * n + k] = a;
            out->score[j] += a;
            total += a;
        }
    for (size_t j = 0; j < nt; j++)
        out->score[j] = total > 0 ? out->score[j] / total : 1.0 / (double)nt;
    size_t half = (size_t)lround(0.75 * s->fps);
    double *sm = xcalloc(nt * n, sizeof(double));
    for (size_t j = 0; j < nt; j++)
        for (size_t k = 0; k < n; k++) {
            size_t a = k >= half ? k - half : 0, b = k + half + 1 < n ? k + half + 1 : n;
            double v = 0;
            for (size_t q = a; q < b; q++)
                v += act[j * n + q];
            sm[j * n + k] = v / (double)(b - a);
        }
    /* the speaker per sample, with hysteresis */
    double floor_act = 0;
    for (size_t i = 0; i < nt * n; i++)
        floor_act += sm[i];
    floor_act = 0.15 * floor_act / (double)(nt * n);
    int cur = -1;
    for (size_t k = 0; k < n; k++) {
        int best = -1;
        double bv = 0;
        for (size_t j = 0; j < nt; j++) {
            if (!s->obs[j * n + k].present)
                continue;
            if (best < 0 || sm[j * n + k] > bv) {
                best = (int)j;
                bv = sm[j * n + k];
            }
        }
        if (best < 0) { /* nobody in shot: keep following whom we followed */
            out->speaker[k] = cur;
            continue;
        }
        if (cur < 0 || !s->obs[(size_t)cur * n + k].present) {
            if (cur >= 0 && cur != best)
                out->switches++;
            cur = best;
        } else if (best != cur) {
            double cv = sm[(size_t)cur * n + k];
            if (bv > cv * 1.25 && bv - cv > floor_act) {
                cur = best;
                out->switches++;
            }
        }
        out->speaker[k] = cur;
    }
    /* The smoothing and the hysteresis decide a change late: the whole span is known, so a
     * change is moved back to where the new speaker's own activity (speech-weighted) first
     * matched the old one's, through the pause between them, at most 2 x the half window
     * and never before the previous change: the crop then moves in the pause, not into the
     * new speaker's first words. */
    size_t lo = 1;
    for (size_t k = 1; k < n; k++) {
        int a = out->speaker[k - 1], b = out->speaker[k];
        if (a < 0 || b < 0 || a == b)
            continue;
        size_t j = k;
        while (j > lo && j + 2 * half > k && s->obs[(size_t)b * n + j - 1].present &&
               out->speaker[j - 1] == a &&
               act[(size_t)b * n + j - 1] >= act[(size_t)a * n + j - 1])
            j--;
        for (size_t q = j; q < k; q++)
            out->speaker[q] = b;
        lo = k + 1;
    }
    /* the mode */
    double span_lo = 1, span_hi = 0, mean_w = 0;
    size_t inshot = 0;
    for (size_t j = 0; j < nt; j++) {
        if (out->visible[j] < 0.5)
            continue;
        inshot++;
        double sx = 0, sw = 0;
        size_t c = 0;
        for (size_t k = 0; k < n; k++)
            if (s->obs[j * n + k].present) {
                sx += s->obs[j * n + k].cx;
                sw += s->obs[j * n + k].w;
                c++;
            }
        double m = sx / (double)c;
        span_lo = fmin(span_lo, m);
        span_hi = fmax(span_hi, m);
        mean_w += sw / (double)c;
    }
    if (inshot)
        mean_w /= (double)inshot;
    int fits = inshot <= 1 || span_hi - span_lo + mean_w <= o->window;
    int talkers = 0;
    for (size_t j = 0; j < nt; j++)
        if (out->visible[j] >= 0.5 && out->score[j] >= 0.2)
            talkers++;
    if (at_once >= 3 && !fits) {
        out->mode = OM_FRAMING_GROUP;
        snprintf(out->reason, sizeof(out->reason),
                 "%zu faces in shot at once, %.0f%% of the width apart: too wide for one 9:16 "
                 "crop, whole frame over a blurred fill",
                 at_once, 100 * (span_hi - span_lo));
    } else if (o->allow_split && at_once == 2 && inshot == 2 && !fits && talkers == 2) {
        out->mode = OM_FRAMING_SPLIT;
        snprintf(out->reason, sizeof(out->reason),
                 "two faces in shot that both speak and do not fit one crop: stacked split "
                 "screen (brand allows split)");
    } else {
        out->mode = OM_FRAMING_SPEAKER;
        if (fits && inshot > 1)
            snprintf(out->reason, sizeof(out->reason),
                     "%zu faces fit one 9:16 crop: the crop holds them all", inshot);
        else if (nt == 1)
            snprintf(out->reason, sizeof(out->reason), "one face: the crop follows it");
        else
            snprintf(out->reason, sizeof(out->reason),
                     "%zu faces: the crop follows the speaking one (%zu speaker changes, "
                     "eased moves)",
                     nt, out->switches);
    }
    /* targets per sample and the path */
    double *tg = xcalloc(n, sizeof(double)), *tg2 = xcalloc(n, sizeof(double));
    double last = 0.5, last2 = 0.5;
    int have = 0;
    for (size_t k = 0; k < n; k++) {
        double v = last, v2 = last2;
        if (out->mode == OM_FRAMING_SPLIT) {
            /* top: the left face in shot, bottom: the right one */
            int a = -1, b = -1;
            for (size_t j = 0; j < nt; j++)
                if (out->visible[j] >= 0.5)
                    a < 0 ? (a = (int)j) : (b = (int)j);
            if (a >= 0 && s->obs[(size_t)a * n + k].present)
                v = s->obs[(size_t)a * n + k].cx;
            if (b >= 0 && s->obs[(size_t)b * n + k].present)
                v2 = s->obs[(size_t)b * n + k].cx;
        } else if (fits && inshot > 1) {
            double lo = 1, hi = 0;
            for (size_t j = 0; j < nt; j++)
                if (s->obs[j * n + k].present) {
                    lo = fmin(lo, s->obs[j * n + k].cx);
                    hi = fmax(hi, s->obs[j * n + k].cx);
                }
            if (hi >= lo)
                v = (lo + hi) / 2;
        } else if (out->speaker[k] >= 0 && s->obs[(size_t)out->speaker[k] * n + k].present) {
            v = s->obs[(size_t)out->speaker[k] * n + k].cx;
        }
        if (!have) { /* before the first face: where the first face will be */
            for (size_t q = 0; q < k; q++) {
                tg[q] = v;
                tg2[q] = v2;
            }
            have = v != 0.5 || v2 != 0.5 || k + 1 == n;
        }
        tg[k] = last = v;
        tg2[k] = last2 = v2;
    }
    double dur = s->t[n - 1] - s->t[0] + 1.0 / s->fps;
    size_t np = (size_t)ceil(dur / FOLLOW_STEP) + 1;
    out->n = np;
    out->t = xcalloc(np, sizeof(double));
    out->x = xcalloc(np, sizeof(double));
    for (size_t i = 0; i < np; i++)
        out->t[i] = s->t[0] + (double)i * FOLLOW_STEP;
    if (out->mode == OM_FRAMING_SPLIT) {
        om_framing_opts o2 = *o;
        o2.window = fmin(1.0, o->window * 2); /* each half is twice as wide for its height */
        out->x2 = xcalloc(np, sizeof(double));
        follow(s, tg, &o2, out->x, np);
        follow(s, tg2, &o2, out->x2, np);
    } else {
        follow(s, tg, o, out->x, np);
    }
    free(tg);
    free(tg2);
    free(count);
    free(act);
    free(sm);
    return OM_OK;
}

void om_framing_release(om_framing *f)
{
    if (!f)
        return;
    free(f->t);
    free(f->x);
    free(f->x2);
    free(f->speaker);
    free(f->score);
    free(f->visible);
    memset(f, 0, sizeof(*f));
}

static double r3(double v)
{
    return round(v * 1000) / 1000;
}

json_t *om_framing_evidence(const om_face_scan *s, const om_framing *f)
{
    json_t *faces = json_array();
    size_t n = s->n;
    for (size_t j = 0; j < s->ntracks; j++) {
        double sx = 0, sy = 0, sw = 0;
        size_t c = 0;
        for (size_t k = 0; k < n; k++)
            if (s->obs[j * n + k].present == 1) {
                sx += s->obs[j * n + k].cx;
                sy += s->obs[j * n + k].cy;
                sw += s->obs[j * n + k].w;
                c++;
            }
        size_t followed = 0;
        for (size_t k = 0; k < f->nsamples; k++)
            followed += f->speaker[k] == (int)j;
        json_array_append_new(
            faces, json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "track", (json_int_t)j, "x",
                             r3(c ? sx / (double)c : 0), "y", r3(c ? sy / (double)c : 0), "size",
                             r3(c ? sw / (double)c : 0), "visible",
                             r3(j < f->ntracks ? f->visible[j] : 0), "speaker_score",
                             r3(j < f->ntracks ? f->score[j] : 0), "followed",
                             r3(f->nsamples ? (double)followed / (double)f->nsamples : 0)));
    }
    double sp = 0;
    for (size_t k = 0; k < n; k++)
        sp += s->speech[k] > 0.5;
    size_t at_once = 0;
    for (size_t k = 0; k < n; k++) {
        size_t c = 0;
        for (size_t j = 0; j < s->ntracks; j++)
            c += s->obs[j * n + k].present != 0;
        at_once = c > at_once ? c : at_once;
    }
    return json_pack("{s:s, s:f, s:I, s:I, s:I, s:I, s:f, s:b, s:o, s:I, s:s, s:s}", "detector",
                     "opencv haarcascade_frontalface_alt2", "sample_fps", s->fps, "samples",
                     (json_int_t)n, "detections", (json_int_t)s->detections, "faces_seen",
                     (json_int_t)s->ntracks, "faces_at_once", (json_int_t)at_once,
                     "speech_share", r3(n ? sp / (double)n : 0), "has_audio", s->has_audio,
                     "faces", faces, "speaker_switches", (json_int_t)f->switches, "mode",
                     om_framing_mode_name(f->mode), "reason", f->reason);
}

static json_t *path_json(const om_framing *f, const double *x)
{
    json_t *a = json_array();
    for (size_t i = 0; i < f->n; i++)
        json_array_append_new(a, json_pack("[f,f]", r3(f->t[i]), round(x[i] * 10000) / 10000));
    return a;
}

json_t *om_framing_reframe_json(const om_face_scan *s, const om_framing *f, double max_pan)
{
    switch (f->mode) {
    case OM_FRAMING_SPEAKER:
    case OM_FRAMING_SPLIT: {
        json_t *r = json_pack("{s:s, s:o, s:f, s:f}", "mode",
                              f->mode == OM_FRAMING_SPLIT ? "split" : "speaker", "track",
                              path_json(f, f->x), "smoothing", 0.0, "max_pan", max_pan);
        if (f->mode == OM_FRAMING_SPLIT)
            json_object_set_new(r, "track2", path_json(f, f->x2));
        json_object_set_new(r, "evidence", om_framing_evidence(s, f));
        return r;
    }
    case OM_FRAMING_GROUP:
        return json_pack("{s:s, s:o}", "mode", "blur_pad", "evidence", om_framing_evidence(s, f));
    default:
        return NULL;
    }
}
