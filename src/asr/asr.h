/*
 * asr.h: transcription with word timings, engine-neutral.
 *
 * Three engines fill the same om_transcript:
 *   - pocketsphinx (sphinx.c) on 16 kHz mono int16 PCM, optionally with a language model
 *     adapted to the project's brief and keywords (lm.c), decoded in chunks in parallel;
 *   - platform subtitles (subtitles.c): WebVTT and SRT, inline word timestamps when present;
 *   - an external command such as whisper.cpp's CLI (external.c), its JSON parsed into words.
 * om_transcript_to_json() gives the "engine"/"words"/"sentences" parts of
 * analysis.raw_ai_output; wer.c measures word error rate against a reference text.
 *
 * Ownership: an om_transcript owns its words' strings, its sentences' texts and one reference
 * to `engine`; om_transcript_release() frees them all and leaves an empty transcript.
 * Functions that fill `out` expect an initialised (empty) transcript and leave it empty on
 * error. JSON returned by *_to_json is a new reference (json_decref it).
 * Threads: no global state except pocketsphinx's logging, which sphinx.c silences once;
 * distinct transcripts may be used from distinct threads.
 */
#ifndef OMNIVA_ASR_ASR_H
#define OMNIVA_ASR_ASR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct om_word {
    char *w;      /* as spoken/written: subtitles and whisper keep case and punctuation */
    double start; /* seconds, source time */
    double end;
    double conf; /* [0,1]: decoder posterior; 1.0 for human subtitles */
} om_word;

typedef struct om_sentence {
    double start, end;
    char *text;   /* words joined by single spaces */
    size_t first; /* index of the first word */
    size_t count; /* number of words */
} om_sentence;

typedef struct om_transcript {
    om_word *words;
    size_t n;
    om_sentence *sentences;
    size_t nsent;
    json_t *engine; /* {"name":..,"model":..,"params":{..}} or NULL; owned reference */
    size_t alloc;   /* internal: capacity of words */
} om_transcript;

#define OM_TRANSCRIPT_INIT                                                                         \
    {                                                                                              \
        NULL, 0, NULL, 0, NULL, 0                                                                  \
    }

void om_transcript_init(om_transcript *t);
void om_transcript_release(om_transcript *t);
/* Appends a copy of `w` (empty or all-space words are ignored). conf is clamped to [0,1]. */
void om_transcript_add(om_transcript *t, const char *w, double start, double end, double conf);
/* Replaces the engine description; `params` (may be NULL) is stolen. */
void om_transcript_set_engine(om_transcript *t, const char *name, const char *model,
                              json_t *params);
/* Moves src's contents to the end of dst with `offset` seconds added to every time;
 * src is left empty. Sentences are not moved (segment again afterwards). */
void om_transcript_append(om_transcript *dst, om_transcript *src, double offset);

/* Sentence segmentation. When the words carry sentence-final punctuation (. ! ? …) the
 * sentences end there (and also at pauses >= long_gap); otherwise they end at pauses
 * >= min_gap between words or where a caller-given silence overlaps the gap between two
 * words. Either way a sentence longer than max_s is split at its widest inner gap. */
typedef struct om_segment_opts {
    double min_gap;         /* 0: 0.5 s */
    double long_gap;        /* 0: 1.5 s */
    double max_s;           /* 0: 20 s */
    const double *silences; /* nsilences pairs start,end (seconds), sorted or not; may be NULL */
    size_t nsilences;
} om_segment_opts;
void om_transcript_segment(om_transcript *t, const om_segment_opts *opts /* NULL: defaults */);

/* {"engine":{..},"words":[{"w","start","end","conf"}..],"sentences":[{"start","end","text"}..]}
 * Times rounded to milliseconds, conf to 3 decimals. */
json_t *om_transcript_to_json(const om_transcript *t);
/* Reads the same shape (e.g. analysis.raw_ai_output) back; sentences are taken as given
 * when present, else segmented. Bad shape -> OM_EINVAL naming the element. */
int om_transcript_from_json(om_transcript *out, const json_t *raw);
/* The words whose midpoint lies in [start, end) joined by spaces (caller frees; "" when none). */
char *om_transcript_text(const om_transcript *t, double start, double end);

/* ---- word error rate (wer.c) ---------------------------------------------------------- */

typedef struct om_wer {
    size_t ref_words, hyp_words;
    size_t sub, del, ins; /* edit operations of one minimal alignment */
    double wer;           /* (sub+del+ins)/ref_words; hyp_words>0 ? 1 : 0 when ref is empty */
} om_wer;

/* Normalises text into words: lower case, punctuation stripped (an apostrophe inside a word
 * stays: "don't"), hyphens and slashes separate words, numbers kept as written, decoder
 * markup dropped (<s>, </s>, <sil>, [noise], "(2)" pronunciation variants).
 * Returns the word count; *out is a NULL-terminated array the caller frees with
 * om_wer_words_free. */
size_t om_wer_words(const char *text, char ***out);
void om_wer_words_free(char **words);
/* Levenshtein alignment over normalised words. */
void om_wer_compute(const char *ref, const char *hyp, om_wer *out);
/* The transcript's words joined by spaces (caller frees). */
char *om_transcript_join(const om_transcript *t);

/* ---- subtitles (subtitles.c) ------------------------------------------------------------ */

/* Parses WebVTT (detected by its "WEBVTT" signature) or SRT from memory. `name` is used in
 * error messages ("subs.vtt: line 12: bad timestamp '00:01'"). Rolling cues (YouTube
 * auto-captions repeat the previous line) are de-duplicated; cues with inline
 * <00:00:01.000> timestamps give those word times, other cues spread their duration over
 * their words in proportion to word length. Words get conf 1.0; sentences are segmented.
 * Bad input -> OM_EINVAL naming the line. */
int om_subtitles_parse(om_transcript *out, const char *text, size_t len, const char *name);
/* Reads `path` (<= 32 MiB) and parses it. */
int om_subtitles_parse_file(om_transcript *out, const char *path);

/* ---- pocketsphinx (sphinx.c + lm.c) ------------------------------------------------------ */

#define OM_ASR_SPHINX_MODEL_DIR "/usr/share/pocketsphinx/model/en-us"
/* Gaussians scored per codebook (pocketsphinx -topn, default 4), for transcription and
 * forced alignment alike: chosen by bench_asr --sweep-media (bench/asr/README.md). */
#define OM_ASR_SPHINX_TOPN "12"
/* Default weight of the project language model against the general one (bench/asr sweep). */
#define OM_ASR_ADAPT_WEIGHT 0.1

/* Told the sample range [from, to) of the caller's PCM is read and not needed again soon
 * (a file-backed PCM then drops those pages: media/audio.h om_pcm_forget_cb). Called from
 * the decoder threads, concurrently. */
typedef void (*om_asr_forget_fn)(void *arg, size_t from, size_t to);

typedef struct om_asr_sphinx_opts {
    const char *model_dir;  /* NULL: OM_ASR_SPHINX_MODEL_DIR (en-us/, en-us.lm.bin, cmudict) */
    int debian_defaults;    /* 1: pocketsphinx's own defaults, whole audio as one utterance
                             * per chunk, no tuning, no adaptation (the measuring baseline) */
    int jobs;               /* decoder threads; 0: number of online CPUs */
    const char *adapt_text; /* project brief (+ any domain text) for LM adaptation; NULL none */
    const char *const *keywords; /* project keywords (phrases); may be NULL */
    size_t nkeywords;
    double adapt_weight;    /* weight of the adapted LM in the interpolation, in (0,1);
                             * 0: OM_ASR_ADAPT_WEIGHT */
    const double *silences; /* nsilences pairs start,end in seconds (media signals): used as
                             * chunk cut points and for sentence segmentation; may be NULL */
    size_t nsilences;
    double max_chunk_s;           /* 0: 20 s */
    double vad_min_gap_s;         /* > 0: silences this long are not decoded
                                   * (om_asr_vad_split); 0: every second is decoded */
    double vad_music_min_s;       /* > 0 (with vad_min_gap_s): music this long is not
                                   * decoded either; 0: it is */
    const char *const *overrides; /* NULL-terminated "-name","value" pairs applied last
                                   * (parameter sweeps); recorded in engine.params */
    volatile int *cancel;         /* optional: non-zero stops between chunks (OM_ETIMEOUT) */
    om_asr_forget_fn forget;      /* optional, with forget_arg */
    void *forget_arg;
} om_asr_sphinx_opts;

/* Transcribes 16 kHz mono PCM. Words carry posterior confidences; engine.params records the
 * decoder parameters actually used, the adaptation and the chunking. n == 0 gives an empty
 * transcript. Model files missing -> OM_ENOTFOUND; decoder failure -> OM_ERROR with
 * pocketsphinx's own message. */
int om_asr_sphinx(om_transcript *out, const int16_t *pcm, size_t n,
                  const om_asr_sphinx_opts *opts /* NULL: defaults */);

/* Chunking used by om_asr_sphinx (exposed for tests/bench): cut points in samples at pauses
 * so that every chunk is at most max_s long. Returns the number of chunks; *bounds_out
 * (caller frees) holds nchunks+1 sample offsets, first 0, last n. */
size_t om_asr_chunk(const int16_t *pcm, size_t n, double max_s, const double *silences,
                    size_t nsilences, size_t **bounds_out);

/* Voice activity (vad.c): splits the chunks (nchunks+1 bounds, as om_asr_chunk gives) at
 * the edges of every stretch of at least min_gap_s that holds no speech energy, and of every
 * stretch of at least music_min_s (0: none) that is steady sound without speech (music, a
 * tone, noise: vad.c says how it is told), and marks those stretches in *skip_out (one flag
 * per new chunk; 1: not decoded). Returns the new number of chunks; *bounds_out (new+1
 * offsets) and *skip_out are the caller's; *skipped_s_out and *music_s_out (may be NULL) get
 * the seconds skipped in all and of those, the seconds taken for music. Audio without 10 dB
 * between its quiet and loud frames has no silences to skip. */
size_t om_asr_vad_split(const int16_t *pcm, size_t n, const size_t *bounds, size_t nchunks,
                        double min_gap_s, double music_min_s, size_t **bounds_out,
                        unsigned char **skip_out, double *skipped_s_out, double *music_s_out);

/* ---- language-model adaptation (lm.c) ----------------------------------------------------- */

/* How many words of the general model a project text is assumed not to contain; the
 * project model's <UNK> holds one such word's probability. */
#define OM_LM_UNSEEN_WORDS 130000

/* Builds an interpolated Kneser-Ney trigram ARPA model (text) from `text` (sentences split at
 * . ! ? ; : and newlines) plus each keyword phrase as its own sentence, with an <UNK> entry for
 * unseen words (see OM_LM_UNSEEN_WORDS). Words are normalised
 * like om_wer_words; tokens with digits are dropped. Returns OM_EINVAL when no word is left.
 * *arpa_out is the caller's. */
int om_lm_build_arpa(const char *text, const char *const *keywords, size_t nkeywords,
                     char **arpa_out);
/* The distinct words of the text+keywords in the order first seen (NULL-terminated; free with
 * om_wer_words_free). */
size_t om_lm_vocab(const char *text, const char *const *keywords, size_t nkeywords, char ***out);
/* Letter-to-sound fallback for words missing from the dictionary: asks espeak-ng (en-us) for
 * phonemes and maps them to the CMU phone set. *phones_out ("D AE SH W UH D") is the
 * caller's. OM_EUNAVAIL without espeak-ng, OM_EINVAL when nothing maps. */
int om_lm_g2p(const char *word, char **phones_out);

/* ---- external engine (external.c) --------------------------------------------------------- */

typedef struct om_asr_external_opts {
    /* Command line, split on spaces ('...' and "..." quote). Placeholders: {wav} the 16 kHz
     * mono WAV written for it, {out} an output path prefix: when present the engine's JSON
     * is read from {out}.json (whisper.cpp -of), otherwise from its stdout.
     * e.g. "whisper-cli -m /m/ggml-base.en.bin -f {wav} -ojf -of {out} -np" */
    const char *command;
    const char *tmpdir; /* NULL: $TMPDIR or /tmp */
    int64_t timeout_ms; /* 0: 1 hour */
    volatile int *cancel;
} om_asr_external_opts;

int om_asr_external(om_transcript *out, const int16_t *pcm, size_t n,
                    const om_asr_external_opts *opts);
/* Parses whisper.cpp JSON: full (-ojf: transcription[].tokens[] with offsets and p) or plain
 * (-oj: transcription[] segments, spread over words), or this module's own
 * {"words":[..]} shape. Bad input -> OM_EINVAL naming what was wrong. */
int om_asr_parse_whisper_json(om_transcript *out, const char *json, size_t len);

/* ---- engine choice from configuration (asr.c) -------------------------------------------- */

typedef struct om_config om_config;

typedef struct om_asr_request {
    const char *brief;           /* project brief (LM adaptation); may be NULL */
    const char *const *keywords; /* project keywords; may be NULL */
    size_t nkeywords;
    const double *silences; /* pairs start,end from the media signals; may be NULL */
    size_t nsilences;
    volatile int *cancel;
    om_asr_forget_fn forget; /* optional, with forget_arg: see om_asr_forget_fn */
    void *forget_arg;
} om_asr_request;

/* Transcribes with the configured engine. Keys (section [asr]):
 *   engine       = pocketsphinx (default) | external
 *   command      = the external command line (see om_asr_external_opts), for engine=external
 *   timeout_s    = external command deadline (default 3600)
 *   jobs         = pocketsphinx decoder threads (default: online CPUs)
 *   max_chunk_s  = pocketsphinx chunk length limit (default 20)
 *   adapt_weight = weight of the project LM (default OM_ASR_ADAPT_WEIGHT; 0 disables adaptation)
 *   model_dir    = pocketsphinx model directory (default OM_ASR_SPHINX_MODEL_DIR)
 * An external engine that cannot be run (OM_EUNAVAIL) falls back to pocketsphinx with a
 * warning; other external failures are returned. Platform subtitles are the caller's first
 * choice (om_subtitles_parse_file) when a video has them. `cfg` may be NULL (defaults). */
int om_asr_transcribe(om_transcript *out, const om_config *cfg, const int16_t *pcm, size_t n,
                      const om_asr_request *req);

/* Writes 16 kHz mono int16 PCM as a WAV file (atomic). */
int om_asr_write_wav(const char *path, const int16_t *pcm, size_t n);

#endif
