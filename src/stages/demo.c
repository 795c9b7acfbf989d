/*
 * demo.c: generates the demo's source videos. Each video is a list of sentences spoken by
 * espeak-ng one at a time (so every sentence's start and end are known exactly), joined with
 * short pauses into one WAV, over a synthetic scene: coloured backgrounds that change every
 * few sentences (scene cuts) and either a presenter or a moving "subject" (testsrc2 panel)
 * for the content-aware crop to follow. The presenter is a real photograph Debian ships
 * (opencv-doc's frontal portrait, the one tests/media/faces_fixture.h uses) walking across
 * the frame on a known path, the mouth opening and closing while a sentence is spoken, so
 * the speaker-following crop (brand reframe "speaker") has a face to follow. Sidecar
 * subtitles are written from the known sentence timings.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/proc.h"
#include "stages/demo.h"

#include <errno.h>
#include <math.h>
#include <unistd.h>

#define DEMO_RATE 22050
#define DEMO_PAUSE_S 0.55

/* The presenter: opencv-doc's portrait (434x434, the face's box 112,96 182x182), cut to
 * 320x360 at (43, 27), scaled x1.5 to 480x540 (the face centre at 240,240 of it, where the
 * mouth cavity is drawn), then x0.75 to 360x405: the face centre at (180, 180) of it,
 * ~205 px wide; its left edge walks x(t) = X0 + AMP sin(t / PERIOD), y 135 of the 1280x720
 * frame (one expression for ffmpeg and for om_demo_presenter_x, the tests' truth). */
#define DEMO_PRESENTER_PHOTO "/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg"
#define DEMO_W 1280.0
#define DEMO_FACE_CX 180.0
#define DEMO_X0 460
#define DEMO_AMP 380
#define DEMO_PERIOD 4
#define DEMO_STR_(x) #x
#define DEMO_STR(x) DEMO_STR_(x)
#define DEMO_PRESENTER_PATH                                                                        \
    DEMO_STR(DEMO_X0) "+" DEMO_STR(DEMO_AMP) "*sin(t/" DEMO_STR(DEMO_PERIOD) ")"

typedef struct demo_video {
    const char *name;
    const char *sidecar; /* "srt", "vtt" or NULL (the analyzer must transcribe it) */
    const char *voice;
    int views, likes, comments;
    const char *posted_at;
    const char *const *sentences;
    int presenter; /* 1: a presenter on screen (when the photo is installed) */
} demo_video;

static const char *const hook_sentences[] = {
    "Stop brewing your espresso wrong.",
    "Did you know that nine out of ten home baristas grind their coffee beans too coarse?",
    "Here is the secret to a perfect shot of espresso.",
    "First, weigh eighteen grams of freshly roasted beans.",
    "Grind them fine, like table salt, right before you brew.",
    "Tamp the coffee evenly and pull the shot for about twenty eight seconds.",
    "You will taste sweetness instead of bitterness.",
    "That is the whole trick.",
    "Now let me show you how milk changes everything.",
    "Steam the milk until the jug is too hot to hold for more than a second.",
    "Pour slowly into the center of the cup and lift the jug at the end.",
    "Your latte will look and taste like it came from a cafe.",
    "Try it tomorrow morning and tell me what you think.",
    NULL};

static const char *const routine_sentences[] = {
    "Every morning I start the day the same way.",
    "I open the window and listen to the birds for a minute.",
    "Then I make a simple cup of pour over coffee.",
    "I heat the water to just below boiling.",
    "The coffee blooms for thirty seconds before I pour the rest.",
    "While it drips I write three things I want to finish today.",
    "After that I check the weather and pick a jacket.",
    "The walk to the train takes about fifteen minutes.",
    "On the train I read a few pages of a novel.",
    "Mornings like this make the whole day feel calmer.",
    "Small routines are easy to keep when they feel good.",
    NULL};

static const char *const city_sentences[] = {
    "This weekend we walked across the old part of the city.",
    "The streets are narrow and the houses are painted in bright colors.",
    "We stopped at a small market to buy fruit and bread.",
    "A street musician played the violin near the fountain.",
    "In the afternoon we climbed the hill to the castle.",
    "The view over the river was absolutely guaranteed to impress anyone.",
    "We watched the boats pass under the stone bridge.",
    "In the evening the lights came on along the water.",
    "It was a long day, but every step was worth it.",
    "Next time we want to visit the museum by the harbor.",
    NULL};

static const demo_video demo_videos[] = {
    {"espresso-secrets", "srt", "en-us", 48200, 5100, 312, "2026-11-18T18:30:00Z",
     hook_sentences, 1},
    {"morning-routine", "vtt", "en-us+m3", 9100, 420, 37, "2026-11-17T07:45:00Z",
     routine_sentences, 0},
    {"city-walk", NULL, "en-us", 3900, 150, 12, "2026-11-15T12:10:00Z", city_sentences, 0},
};

const char *om_demo_hook_source(void)
{
    return "espresso-secrets";
}

const char *om_demo_hook_phrase(void)
{
    return "stop brewing your espresso wrong";
}

const char *om_demo_presenter_source(void)
{
    return om_file_exists(DEMO_PRESENTER_PHOTO) ? "espresso-secrets" : NULL;
}

double om_demo_presenter_x(double t)
{
    return (DEMO_X0 + DEMO_AMP * sin(t / DEMO_PERIOD) + DEMO_FACE_CX) / DEMO_W;
}

const char *om_demo_brand_json(void)
{
    return "{\n"
           "  \"keywords\": [\"coffee\", \"espresso\", \"barista\", \"brew\", \"beans\", "
           "\"latte\", \"roast\"],\n"
           "  \"brief\": \"Specialty coffee brand teaching home baristas to brew better "
           "espresso, latte and pour over coffee with freshly roasted beans.\",\n"
           "  \"banned_words\": [\"guaranteed\"],\n"
           "  \"clip_min_s\": 15,\n"
           "  \"clip_max_s\": 40,\n"
           "  \"clips_per_video\": 2,\n"
           "  \"posts_per_day\": 3,\n"
           "  \"min_gap_minutes\": 120,\n"
           "  \"quiet_hours\": {\"start\": 23, \"end\": 7},\n"
           "  \"timezone\": \"Europe/Berlin\",\n"
           "  \"reframe\": \"speaker\",\n"
           "  \"caption\": {\"style\": \"pop\"},\n"
           "  \"targets\": [\"export\"]\n"
           "}\n";
}

/* Reads a canonical PCM WAV (as espeak-ng writes it) into samples at DEMO_RATE mono. */
static int wav_read(const char *path, om_sbuf *pcm)
{
    char *data;
    size_t len;
    int rc = om_read_file(path, 64u << 20, &data, &len);
    if (rc)
        return rc;
    rc = om_error_set(OM_EINVAL, "%s: not a 16-bit mono %d Hz WAV", path, DEMO_RATE);
    if (len < 12 || memcmp(data, "RIFF", 4) || memcmp(data + 8, "WAVE", 4))
        goto out;
    size_t off = 12;
    int fmt_ok = 0;
    while (off + 8 <= len) {
        uint32_t csize;
        memcpy(&csize, data + off + 4, 4);
        const char *body = data + off + 8;
        if (csize > len - off - 8)
            csize = (uint32_t)(len - off - 8); /* espeak-ng streams may leave the size open */
        if (!memcmp(data + off, "fmt ", 4) && csize >= 16) {
            uint16_t fmt, ch, bits;
            uint32_t rate;
            memcpy(&fmt, body, 2);
            memcpy(&ch, body + 2, 2);
            memcpy(&rate, body + 4, 4);
            memcpy(&bits, body + 14, 2);
            fmt_ok = fmt == 1 && ch == 1 && rate == DEMO_RATE && bits == 16;
        } else if (!memcmp(data + off, "data", 4) && fmt_ok) {
            sb_append(pcm, body, csize & ~1u);
            rc = OM_OK;
            break;
        }
        off += 8 + csize + (csize & 1);
    }
out:
    free(data);
    return rc;
}

static void wav_write_header(om_sbuf *out, size_t data_len)
{
    uint32_t riff = (uint32_t)(36 + data_len), fmt_len = 16, rate = DEMO_RATE,
             byte_rate = DEMO_RATE * 2, dlen = (uint32_t)data_len;
    uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
    sb_append(out, "RIFF", 4);
    sb_append(out, &riff, 4);
    sb_append(out, "WAVEfmt ", 8);
    sb_append(out, &fmt_len, 4);
    sb_append(out, &pcm, 2);
    sb_append(out, &ch, 2);
    sb_append(out, &rate, 4);
    sb_append(out, &byte_rate, 4);
    sb_append(out, &align, 2);
    sb_append(out, &bits, 2);
    sb_append(out, "data", 4);
    sb_append(out, &dlen, 4);
}

static void fmt_ts(char *buf, size_t n, double t, char sep)
{
    int ms = (int)(t * 1000.0 + 0.5);
    snprintf(buf, n, "%02d:%02d:%02d%c%03d", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep,
             ms % 1000);
}

static int run_quiet(const char *const *argv)
{
    om_proc_result r;
    int rc = om_proc_run(&(om_proc_opts){.argv = argv, .timeout_ms = 1800000}, &r);
    if (rc == OM_OK && r.exit_code != 0) {
        const char *tail = r.err_len > 400 ? r.err + r.err_len - 400 : r.err;
        rc = om_error_set(OM_ERROR, "%s failed (exit %d): %s", argv[0], r.exit_code, tail);
    }
    om_proc_result_release(&r);
    return rc;
}

static int make_video(const char *dir, const demo_video *v)
{
    char *mp4 = xasprintf("%s/%s.mp4", dir, v->name);
    if (om_file_exists(mp4)) {
        free(mp4);
        return OM_OK;
    }
    char *tmpdir = xasprintf("%s/.demo-tmp-%s", dir, v->name);
    char *wav = xasprintf("%s/speech.wav", tmpdir);
    char *tmpmp4 = xasprintf("%s/out.mp4", tmpdir);
    om_sbuf pcm = OM_SBUF_INIT, subs = OM_SBUF_INIT, wavbuf = OM_SBUF_INIT;
    om_sbuf talking = OM_SBUF_INIT; /* the presenter speaks: between(t,start,end)+... */
    int rc = om_mkdirs(tmpdir, 0755);
    if (rc)
        goto out;
    size_t pause_bytes = (size_t)(DEMO_PAUSE_S * DEMO_RATE) * 2;
    char *zeros = xcalloc(1, pause_bytes);
    sb_append(&pcm, zeros, (pause_bytes / 4) * 2); /* a short lead-in (whole samples) */
    int vtt = v->sidecar && !strcmp(v->sidecar, "vtt");
    if (vtt)
        sb_puts(&subs, "WEBVTT\n\n");
    for (int i = 0; v->sentences[i]; i++) {
        char *part = xasprintf("%s/s%02d.wav", tmpdir, i);
        const char *argv[] = {"espeak-ng", "-v", v->voice, "-s", "160", "-w", part,
                              v->sentences[i], NULL};
        rc = run_quiet(argv);
        double start = (double)pcm.len / 2 / DEMO_RATE;
        if (rc == OM_OK)
            rc = wav_read(part, &pcm);
        free(part);
        if (rc) {
            free(zeros);
            goto out;
        }
        double end = (double)pcm.len / 2 / DEMO_RATE;
        sb_printf(&talking, "%sbetween(t\\,%.2f\\,%.2f)", i ? "+" : "", start, end);
        char a[32], b[32];
        fmt_ts(a, sizeof(a), start, vtt ? '.' : ',');
        fmt_ts(b, sizeof(b), end, vtt ? '.' : ',');
        if (vtt)
            sb_printf(&subs, "%s --> %s\n%s\n\n", a, b, v->sentences[i]);
        else
            sb_printf(&subs, "%d\n%s --> %s\n%s\n\n", i + 1, a, b, v->sentences[i]);
        sb_append(&pcm, zeros, pause_bytes);
    }
    free(zeros);
    wav_write_header(&wavbuf, pcm.len);
    sb_append(&wavbuf, pcm.buf, pcm.len);
    if ((rc = om_write_file_atomic(wav, wavbuf.buf, wavbuf.len)))
        goto out;

    /* Backgrounds change colour every 12 s (scene cuts); the presenter walks left and right
     * (or, without one, a testsrc2 panel moves) as the subject the crop should follow. */
    double dur = (double)pcm.len / 2 / DEMO_RATE;
    int presenter = v->presenter && om_file_exists(DEMO_PRESENTER_PHOTO);
    if (v->presenter && !presenter)
        om_warn("demo", "%s missing (apt-get install opencv-doc): %s has no presenter",
                DEMO_PRESENTER_PHOTO, v->name);
    char *video;
    if (presenter) {
        /* the mouth cavity (tests/media/faces_fixture.h's FF_MOUTH_A, on the 480x540 cut)
         * opens and closes in three steps at a syllable rhythm while a sentence is spoken */
        om_sbuf mouth = OM_SBUF_INIT;
        static const char *const level[][2] = {{"8", "0.2"}, {"16", "0.5"}, {"24", "0.8"}};
        for (size_t l = 0; l < OM_ARRAY_LEN(level); l++)
            sb_printf(&mouth,
                      ",drawbox=x=215:y=308:w=60:h=%s:color=0x3a0a0a:t=fill:enable='(%s)*"
                      "gt(abs(sin(11*t))\\,%s)'",
                      level[l][0], sb_str(&talking), level[l][1]);
        video = xasprintf(
            "color=c=0x1d3557:s=1280x720:r=30:d=%.3f,"
            "drawbox=x=0:y=0:w=iw:h=ih:color=0x8d5524@0.9:t=fill:enable='lt(mod(t,24),12)'[bg];"
            "[0:v]crop=320:360:43:27,scale=480:540,setsar=1%s,scale=360:405[p];"
            "[bg][p]overlay=x='" DEMO_PRESENTER_PATH "':y=135:shortest=1,format=yuv420p[v]",
            dur, sb_str(&mouth));
        sb_release(&mouth);
    } else {
        video = xasprintf(
            "color=c=0x1d3557:s=1280x720:r=30:d=%.3f,"
            "drawbox=x=0:y=0:w=iw:h=ih:color=0x8d5524@0.9:t=fill:enable='lt(mod(t,24),12)'[bg];"
            "testsrc2=s=360x540:r=30:d=%.3f[subj];"
            "[bg][subj]overlay=x='460+380*sin(t/4)':y=90:shortest=1,format=yuv420p[v]",
            dur, dur);
    }
    char durs[32];
    snprintf(durs, sizeof(durs), "%.3f", dur + 0.1);
    const char *photo_in[] = {"-loop", "1", "-framerate", "30", "-t", durs, "-i",
                              DEMO_PRESENTER_PHOTO};
    const char *argv[40];
    size_t na = 0;
    const char *head[] = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-y"};
    for (size_t i = 0; i < OM_ARRAY_LEN(head); i++)
        argv[na++] = head[i];
    if (presenter)
        for (size_t i = 0; i < OM_ARRAY_LEN(photo_in); i++)
            argv[na++] = photo_in[i];
    const char *tail[] = {"-filter_complex", video, "-i", wav, "-map", "[v]", "-map",
                          presenter ? "1:a" : "0:a", "-c:v", "libx264", "-preset", "veryfast",
                          "-crf", "26", "-c:a", "aac", "-b:a", "96k", "-shortest", "-movflags",
                          "+faststart", tmpmp4, NULL};
    for (size_t i = 0; i < OM_ARRAY_LEN(tail); i++)
        argv[na++] = tail[i];
    rc = run_quiet(argv);
    free(video);
    if (rc)
        goto out;
    if (v->sidecar) {
        char *sp = xasprintf("%s/%s.%s", dir, v->name, v->sidecar);
        rc = om_write_file_atomic(sp, subs.buf, subs.len);
        free(sp);
        if (rc)
            goto out;
    }
    char *meta = xasprintf("{\"title\": \"%s\", \"view_count\": %d, \"like_count\": %d, "
                           "\"comment_count\": %d, \"posted_at\": \"%s\"}\n",
                           v->name, v->views, v->likes, v->comments, v->posted_at);
    char *mp = xasprintf("%s/%s.json", dir, v->name);
    rc = om_write_file_atomic(mp, meta, strlen(meta));
    free(meta);
    free(mp);
    if (rc == OM_OK && rename(tmpmp4, mp4) != 0)
        rc = om_error_set(OM_EIO, "rename %s: %s", mp4, strerror(errno));
out:
    if (rc)
        om_error_wrap(rc, "making demo video %s", v->name);
    om_rmtree(tmpdir);
    sb_release(&pcm);
    sb_release(&subs);
    sb_release(&wavbuf);
    sb_release(&talking);
    free(tmpdir);
    free(wav);
    free(tmpmp4);
    free(mp4);
    return rc;
}

int om_demo_make_talk(const char *dir, const char *name, double minutes)
{
    return om_demo_make_talk_sub(dir, name, minutes, NULL);
}

int om_demo_make_talk_sub(const char *dir, const char *name, double minutes, const char *sidecar)
{
    /* ~3.5 s a sentence with its pause: cycle the demo scripts until long enough */
    size_t want = (size_t)(minutes * 60.0 / 3.5) + 1, k = 0;
    const char **sentences = xcalloc(want + 1, sizeof(char *));
    while (k < want)
        for (size_t v = 0; v < OM_ARRAY_LEN(demo_videos) && k < want; v++)
            for (int i = 0; demo_videos[v].sentences[i] && k < want; i++)
                sentences[k++] = demo_videos[v].sentences[i];
    demo_video talk = {name, sidecar, "en-us", 12000, 800, 40, "2026-11-16T18:00:00Z",
                       (const char *const *)sentences, 0};
    int rc = om_mkdirs(dir, 0755);
    if (rc == OM_OK)
        rc = make_video(dir, &talk);
    free(sentences);
    return rc;
}

int om_demo_make_sources(const char *dir)
{
    int rc = om_mkdirs(dir, 0755);
    for (size_t i = 0; rc == OM_OK && i < OM_ARRAY_LEN(demo_videos); i++)
        rc = make_video(dir, &demo_videos[i]);
    return rc;
}
