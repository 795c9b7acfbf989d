/* settings.c: the table of every omniva.conf setting and the checks of its values (see
 * settings.h). One row per key; the sections follow the pipeline. */
#include "base/common.h"
#include "base/settings.h"
#include "base/suggest.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>

#define STR(n, d, doc) {n, OM_SETTING_STRING, d, 0, 0, NULL, NULL, doc}
#define PATH(n, d, doc) {n, OM_SETTING_PATH, d, 0, 0, NULL, NULL, doc}
#define LONG(n, d, lo, hi, doc) {n, OM_SETTING_LONG, #d, lo, hi, NULL, NULL, doc}
#define DBL(n, d, lo, hi, doc) {n, OM_SETTING_DOUBLE, #d, lo, hi, NULL, NULL, doc}
#define BOOL(n, d, doc) {n, OM_SETTING_BOOL, d, 0, 0, NULL, NULL, doc}
#define ENUM(n, d, choices, doc) {n, OM_SETTING_ENUM, d, 0, 0, choices, NULL, doc}

#define MiB (1024.0 * 1024)
#define DAY_MS 86400000.0

const om_setting om_settings[] = {
    /* where things live */
    {"store.url", OM_SETTING_STRING, "", 0, 0, NULL, "OMNIVA_DB",
     "database: sqlite:omniva.db (relative to the workspace), sqlite:///abs.db or postgres://..."},
    {"queue.url", OM_SETTING_STRING, "sqlite", 0, 0, NULL, "OMNIVA_QUEUE",
     "job queue: sqlite (in the store's SQLite file) or redis://host:port/db"},
    PATH("media.dir", "media", "downloads and renders (relative to the workspace)"),
    LONG("media.min_free_mb", 2048, 0, 1048576,
         "free disk space (MiB) under the media dir below which `omniva doctor` warns, fetch defers and Infinity stops downloads"),
    /* the media store (src/media/mstore.h) and each node's cache of it */
    STR("media.store", "",
        "where media files live: empty = the media dir; s3://bucket/prefix = an S3-compatible "
        "bucket"),
    STR("media.s3_endpoint", "",
        "S3 endpoint URL (http://127.0.0.1:9000); empty = https://s3.REGION.amazonaws.com"),
    STR("media.s3_region", "us-east-1", "S3 region (signed into every request, SigV4)"),
    BOOL("media.s3_path_style", "false",
         "path-style addressing (ENDPOINT/bucket/key) instead of bucket.HOST/key: local servers"),
    STR("media.s3_access_key", "", "S3 access key id (empty: $AWS_ACCESS_KEY_ID)"),
    STR("media.s3_secret_env", "AWS_SECRET_ACCESS_KEY",
        "environment variable holding the S3 secret key (never in omniva.conf)"),
    PATH("media.s3_secret_file", "",
         "file (mode 0600) holding the S3 secret key when the variable is not set"),
    LONG("media.s3_part_mb", 16, 1, 5120,
         "files above this size go up as a multipart upload in parts of this size (MiB; S3 needs "
         "5 or more)"),
    LONG("media.s3_retries", 4, 0, 20,
         "retries of an S3 request after a 5xx answer or a network error (exponential backoff)"),
    LONG("media.s3_timeout_s", 3600, 1, 86400, "whole-transfer timeout of one S3 request"),
    LONG("media.s3_list_page", 1000, 1, 1000,
         "keys per ListObjectsV2 page (max-keys; the rest follows by continuation token)"),
    PATH("media.cache_dir", "cache",
         "this node's cache of media files from a remote store (relative to the workspace)"),
    LONG("media.cache_max_mb", 10240, 1, 1073741824.0,
         "size cap of the media cache (MiB); least recently used files go first"),
    {"log.level", OM_SETTING_ENUM, "info", 0, 0, "debug|info|warn|error", "OMNIVA_LOG_LEVEL",
     "lowest log level written to stderr"},

    /* worker runtime (src/runtime) */
    LONG("worker.lease_ms", 30000, 300, DAY_MS, "default job lease (stages without their own)"),
    LONG("worker.timeout_ms", 600000, 100, 7 * DAY_MS,
         "default job timeout (stages without their own)"),
    LONG("worker.reap_ms", 0, 0, DAY_MS,
         "how often a worker reaps expired leases (0: lease_ms, at most 5000)"),
    LONG("worker.relay_ms", 1000, 10, DAY_MS, "how often an idle worker relays the outbox"),
    LONG("worker.idle_ms", 200, 1, 60000, "poll interval when nothing is claimable"),
    LONG("worker.drain_grace_ms", 30000, 0, DAY_MS,
         "how long in-flight jobs may run after SIGTERM"),
    LONG("worker.backoff_base_ms", 0, 0, DAY_MS, "retry backoff base (0: the queue's default)"),
    LONG("worker.backoff_cap_ms", 0, 0, 7 * DAY_MS, "retry backoff cap (0: the queue's default)"),
    LONG("worker.gpu_fallback_s", 120, 0, 7 * 86400.0,
         "CPU workers take GPU jobs once no GPU worker has been alive for this long"),
    LONG("worker.gpu_alive_s", 30, 1, 86400.0,
         "a GPU worker counts as alive while its worker_nodes row is this fresh"),
    BOOL("worker.sqlite_keeper", "true",
         "keep one idle SQLite connection open per worker (saves a WAL rebuild per job)"),

    /* scraper (src/sources, src/stages/scrape.c, rescrape.c) */
    STR("scraper.ytdlp", "yt-dlp", "the yt-dlp program (name on PATH or a path)"),
    LONG("scraper.max_height", 1080, 144, 4320, "highest video resolution downloaded"),
    LONG("scraper.max_bytes", 2147483648, 1 * MiB, 1024 * 1024 * MiB,
         "largest media file downloaded (bytes)"),
    LONG("scraper.feed_max_bytes", 16777216, 64 * 1024, 1024 * MiB,
         "largest RSS/Atom feed read (bytes)"),
    LONG("scraper.connect_timeout_s", 30, 1, 600, "connect timeout of HTTP requests"),
    LONG("scraper.http_timeout_s", 3600, 1, 86400, "whole-transfer timeout of HTTP downloads"),
    LONG("scraper.feed_timeout_s", 60, 1, 3600, "timeout of a feed request"),
    LONG("scraper.list_timeout_s", 180, 1, 86400, "timeout of listing a creator's posts"),
    LONG("scraper.fetch_timeout_s", 3600, 1, 86400, "timeout of downloading one post"),
    LONG("scraper.max_redirects", 5, 0, 20, "HTTP redirects followed"),
    LONG("scraper.max_posts", 5, 1, 10000, "newest posts fetched per creator scrape"),
    LONG("scraper.backfill", 50, 0, 100000,
         "posts the first scrape of a creator takes from its backlog"),
    LONG("scraper.interval_s", 900, 10, 30 * 86400.0, "how often creators are scraped again"),

    /* re-posts (src/stages/repost.c, the fetch stage's DEDUPE step) */
    BOOL("fetch.dedupe_audio", "true",
         "recognise a re-post (the same audio, re-encoded or trimmed) and clip it once"),
    DBL("fetch.fingerprint_s", 180, 15, 3600, "seconds of a source's audio fingerprinted"),
    DBL("fetch.dedupe_ber", 0.2, 0.01, 0.45,
        "fingerprint bit error rate below which two sources are the same audio"),
    DBL("fetch.dedupe_shift_s", 60, 0, 600, "largest trim at a re-post's start still recognised"),
    DBL("fetch.dedupe_min_s", 10, 3, 600, "shortest audio the re-post check is made on"),
    LONG("fetch.dedupe_candidates", 5000, 1, 10000000,
         "newest stored fingerprints a new source is compared with"),

    /* rate limits per platform (requests per minute; 0 = unlimited) */
    DBL("ratelimit.youtube", 60, 0, 100000, "YouTube requests per minute"),
    DBL("ratelimit.tiktok", 20, 0, 100000, "TikTok requests per minute"),
    DBL("ratelimit.instagram", 10, 0, 100000, "Instagram requests per minute"),
    DBL("ratelimit.feed", 120, 0, 100000, "feed requests per minute, per host"),
    DBL("ratelimit.direct", 120, 0, 100000, "direct-URL downloads per minute, per host"),
    DBL("ratelimit.local", 0, 0, 100000, "local-folder reads per minute"),
    DBL("ratelimit.default", 60, 0, 100000, "requests per minute of a platform without a key"),
    DBL("ratelimit.burst", 3, 1, 1000, "requests allowed at once before the rate applies"),
    PATH("ratelimit.dir", "run/ratelimit",
         "token-bucket state shared by the workers of one machine (relative to the workspace)"),

    /* analysis (src/asr, src/stages/analyze.c) */
    ENUM("asr.engine", "pocketsphinx", "pocketsphinx|external", "speech recognition engine"),
    STR("asr.command", "",
        "external engine command line ({wav} is the audio), for asr.engine = external"),
    DBL("asr.timeout_s", 3600, 1, 86400, "external engine deadline"),
    LONG("asr.jobs", 0, 0, 256,
         "pocketsphinx decoder threads, transcribing and aligning subtitles (0: online CPUs)"),
    DBL("asr.max_chunk_s", 0, 0, 600, "pocketsphinx chunk length limit (0: the engine's 20 s)"),
    DBL("asr.adapt_weight", 0.1, 0, 1,
        "weight of the project's language model (brief, keywords); 0 disables it"),
    PATH("asr.model_dir", "/usr/share/pocketsphinx/model/en-us",
         "pocketsphinx model directory (en-us/, en-us.lm.bin, cmudict-en-us.dict)"),
    BOOL("asr.prefer_subtitles", "true", "use a post's platform subtitles instead of ASR"),
    DBL("asr.vad_min_gap_s", 0.3, 0, 60,
        "silences at least this long are not transcribed (voice activity; 0: transcribe all)"),
    DBL("asr.vad_music_min_s", 10, 0, 3600,
        "music (steady sound without speech) at least this long is not transcribed (0: it is)"),
    BOOL("asr.align_subtitles", "true",
         "force-align platform subtitles to the audio (word times; interpolation where it fails)"),
    DBL("asr.align_margin_s", 0.4, 0, 5, "audio taken beyond a subtitle cue when aligning it"),

    /* clip selection (src/cognition/pantheon.c, src/stages/select.c) */
    DBL("analyze.min_word_confidence", 0.5, 0, 1,
        "recognised words below this confidence do not count for a clip's relevance"),
    DBL("analyze.max_overlap", 0, 0, 0.9,
        "clips of one video may share at most this fraction of the shorter one (0: none)"),
    DBL("analyze.long_source_s", 1200, 0, 86400,
        "sources longer than this are analysed in overlapping windows (0: never)"),
    DBL("analyze.window_s", 600, 60, 86400, "length of one analysis window of a long source"),
    DBL("analyze.window_overlap_s", 120, 0, 3600,
        "overlap of consecutive analysis windows (at least clip_max_s is used)"),
    LONG("analyze.window_candidates", 5, 1, 100, "candidate clips kept per analysis window"),
    DBL("pantheon.weight_hook", 1.0, 0, 100, "weight of the hook agent's vote"),
    DBL("pantheon.weight_energy", 0.6, 0, 100, "weight of the energy agent's vote"),
    DBL("pantheon.weight_relevance", 1.2, 0, 100, "weight of the relevance agent's vote"),
    DBL("pantheon.weight_virality", 1.0, 0, 100, "weight of the virality agent's vote"),
    DBL("pantheon.weight_novelty", 0.8, 0, 100, "weight of the novelty agent's vote"),
    DBL("pantheon.weight_brand_safety", 0.6, 0, 100, "weight of the brand-safety agent's vote"),
    DBL("pantheon.weight_length", 0.5, 0, 100, "weight of the length agent's vote"),
    DBL("pantheon.weight_llm", 1.0, 0, 100, "weight of the LLM agent's vote"),
    DBL("pantheon.min_relevance", 0.05, 0, 1,
        "a clip less relevant than this to the brief and keywords is vetoed (0: never)"),
    DBL("pantheon.duplicate_jaccard", 0.8, 0, 1,
        "word overlap above which two candidates are the same clip"),
    DBL("pantheon.preferred_min_s", 0, 0, 3600,
        "shortest preferred clip (0: 15% into the brand's clip_min_s..clip_max_s)"),
    DBL("pantheon.preferred_max_s", 0, 0, 3600,
        "longest preferred clip (0: 55% into the brand's clip_min_s..clip_max_s)"),
    DBL("pantheon.min_confidence", 0.3, 0, 1, "committee confidence a clip needs to be kept"),
    LONG("pantheon.learn_min_clips", 12, 0, 100000,
        "published clips with figures before the agents' weights learn from them (0: never)"),
    LONG("pantheon.learn_interval_s", 21600, 0, 31536000,
        "at most one learning step per project in this many seconds (new figures needed)"),
    DBL("pantheon.learn_max_step", 0.2, 0.01, 1,
        "one learning step changes an agent's weight by at most this factor"),
    DBL("pantheon.learn_ridge", 1.0, 0, 100, "ridge penalty of the weight regression"),
    DBL("pantheon.learn_gain", 1.5, 0.01, 10,
        "learned weight = base x exp(gain x standardised effect on log views)"),
    DBL("pantheon.learn_bound", 4, 1, 100,
        "learned weights stay within base / bound .. base x bound"),
    STR("pantheon.llm_url", "", "OpenAI-compatible chat endpoint of the LLM agent (empty: off)"),
    STR("pantheon.llm_model", "gpt-4o-mini", "model the LLM agent asks"),
    LONG("pantheon.llm_timeout_ms", 20000, 100, 600000, "LLM request timeout"),
    STR("pantheon.llm_api_key_env", "OMNIVA_LLM_API_KEY",
        "environment variable holding the LLM API key"),

    /* editor (src/stages/edit.c builds the edit plan from these) */
    LONG("editor.width", 1080, 16, 4096, "output width (even)"),
    LONG("editor.height", 1920, 16, 4096, "output height (even)"),
    DBL("editor.fps", 30, 1, 120, "output frame rate"),
    LONG("editor.crf", 20, 0, 51, "x264 quality (lower is better and bigger)"),
    ENUM("editor.preset", "veryfast",
         "ultrafast|superfast|veryfast|faster|fast|medium|slow|slower|veryslow|placebo",
         "x264 speed preset"),
    STR("editor.abitrate", "160k", "AAC bitrate (160k, 2M or 128000)"),
    BOOL("editor.gpu", "false", "require the NVENC encoder instead of falling back to x264"),
    LONG("editor.render_timeout_s", 1500, 10, 86400, "deadline of one render"),
    DBL("editor.logo_scale", 0.18, 0.01, 1, "logo width as a fraction of the output width"),
    DBL("editor.logo_opacity", 0.9, 0, 1, "logo opacity"),
    ENUM("editor.logo_position", "top_right", "top_left|top_right|bottom_left|bottom_right|center",
         "logo corner"),
    DBL("editor.loudness_target", -14, -70, -5,
        "integrated loudness target in LUFS (a brand's loudness_target wins)"),
    DBL("editor.true_peak", -1.5, -9, 0, "true-peak ceiling in dBTP"),
    DBL("editor.lra", 11, 1, 20, "loudness range target (LU) of the loudnorm filter"),
    /* jump cuts (issue 10; media/jumpcut.h) */
    DBL("editor.jump_cut_pause", 0.6, 0.2, 5,
        "jump cuts: a pause between words longer than this (s) is cut (brand jump_cut_pause)"),
    DBL("editor.jump_cut_keep", 0.08, 0, 0.5,
        "jump cuts: seconds of a cut pause kept after the word before and before the next"),

    /* scheduling (src/stages/schedule.c) */
    BOOL("schedule.now", "false", "publish at once instead of at the predicted best time (tests)"),
    LONG("schedule.horizon_days", 3, 1, 60, "how far ahead a post may be scheduled"),
    LONG("schedule.step_minutes", 15, 1, 1440, "granularity of candidate posting times"),
    DBL("schedule.recency_per_day", 0.03, 0, 1, "score discount per day of waiting"),
    STR("http.listen", "127.0.0.1:8080", "omniva serve: ADDR:PORT to listen on ([::1]:8080 for IPv6)"),
    LONG("http.threads", 4, 1, 256, "omniva serve: request threads (each has its own store connection)"),
    LONG("http.max_connections", 256, 1, 65536, "omniva serve: open connections at most"),
    LONG("http.timeout_s", 60, 1, 3600, "omniva serve: idle connection timeout (SSE streams send heartbeats)"),
    LONG("http.max_body_bytes", 1048576, 1024, 104857600, "omniva serve: request body limit (413 beyond)"),
    LONG("http.sse_heartbeat_s", 15, 1, 300, "omniva serve: seconds of silence before an SSE heartbeat comment"),
    PATH("http.static_dir", "web", "omniva serve: folder served under /static/ (relative to the workspace)"),
    BOOL("http.metrics_public", "false", "omniva serve: /metrics without sign-in (for a local Prometheus)"),
    STR("http.read_role", "omniva_cognition_ro",
        "omniva serve on PostgreSQL: role the GET routes read as (empty: the login role)"),

    /* publishing to YouTube (src/targets/oauth.c, accounts.c, youtube.c) */
    STR("youtube.client_id", "", "OAuth client id of the Google Cloud project (Desktop app)"),
    STR("youtube.client_secret", "", "OAuth client secret of that client"),
    STR("youtube.auth_url", "https://accounts.google.com/o/oauth2/v2/auth",
        "OAuth consent page"),
    STR("youtube.token_url", "https://oauth2.googleapis.com/token", "OAuth token endpoint"),
    STR("youtube.api_url", "https://www.googleapis.com",
        "Data API base ({api_url}/youtube/v3/videos ...)"),
    STR("youtube.upload_url", "https://www.googleapis.com/upload",
        "upload base ({upload_url}/youtube/v3/videos?uploadType=resumable ...)"),
    STR("youtube.scopes",
        "https://www.googleapis.com/auth/youtube.upload "
        "https://www.googleapis.com/auth/youtube.readonly",
        "OAuth scopes asked for (space-separated)"),
    LONG("youtube.chunk_bytes", 8388608, 262144, 1073741824,
         "resumable upload chunk (rounded down to a multiple of 256 KiB)"),
    LONG("youtube.retries", 8, 0, 100, "retries of one request on 5xx/network errors"),
    LONG("youtube.backoff_ms", 1000, 1, 600000, "first retry delay (doubles, with jitter)"),
    LONG("youtube.timeout_s", 600, 1, 86400, "timeout of one request (a chunk)"),
    LONG("youtube.refresh_margin_s", 300, 0, 3600,
         "refresh the access token this long before it expires"),
    LONG("youtube.login_timeout_s", 600, 1, 86400,
         "how long 'account add' waits for the browser's redirect"),
    LONG("youtube.verify_timeout_s", 1800, 1, 86400,
         "how long VERIFY waits for YouTube to process a video"),
    LONG("youtube.verify_poll_ms", 5000, 10, 600000, "interval of VERIFY's videos.list polls"),
    STR("youtube.category_id", "22", "default categoryId (22: People & Blogs)"),
    ENUM("youtube.privacy_status", "public", "public|unlisted|private",
         "default privacyStatus (a brand's youtube.privacy_status wins)"),
    LONG("youtube.quota_units", 10000, 0, 100000000, "daily quota units of the Google project"),
    LONG("youtube.upload_cost", 1600, 0, 100000, "quota units one videos.insert costs"),

    /* retention (src/lifecycle/retention.c; a project's own days win: omniva retention set) */
    LONG("retention.raw_days", 90, 1, 36500,
         "days a raw download (source video, its subtitles) is kept unless a clip of it was "
         "published"),
    LONG("retention.derived_days", 365, 1, 36500,
         "days a derived asset (render, caption file) is kept unless an operator approves its "
         "deletion sooner"),
    LONG("retention.orphan_grace_hours", 48, 1, 8760,
         "age before a file under media/ (or an object under the s3:// store's prefix) that no "
         "row names is deleted as an orphan"),

    /* oversight (src/oversight): Paradox checks, Eclipse recovery, governance duties */
    LONG("paradox.file_sample", 16, 0, 1000000,
         "files hashed per sweep besides those changed since the last sweep"),
    LONG("paradox.file_max", 500, 0, 10000000, "most files hashed in one sweep"),
    LONG("paradox.job_scan", 1000, 1, 1000000,
         "live jobs per state checked for references to missing rows"),
    LONG("paradox.log_scan", 50000, 1, 100000000,
         "newest job_logs transition rows the transition check reads per sweep"),
    PATH("paradox.anchor", "anchors/last.json",
         "a signed ledger anchor the ledger must still extend (checked when the file exists)"),
    STR("paradox.role", "omniva_cognition_ro",
        "PostgreSQL role Paradox reads as (SET via the connection; empty: the login role)"),
    LONG("eclipse.breaker_failures", 5, 1, 100000,
         "consecutive failures of a creator's jobs that open its circuit breaker"),
    LONG("eclipse.breaker_cooldown_s", 1800, 1, 30 * 86400.0,
         "how long an open breaker waits before a half-open retry"),
    STR("eclipse.breaker_types", "scrape",
        "job types whose failures count against their creator (comma-separated)"),
    DBL("eclipse.pause_failure_rate", 0.8, 0.01, 1,
        "share of failed jobs in the window that pauses a job type"),
    LONG("eclipse.pause_min_failures", 10, 1, 1000000,
         "failures in the window before a job type can be paused"),
    LONG("eclipse.pause_window_s", 600, 10, 7 * 86400.0, "window the failure rate is measured over"),
    LONG("eclipse.pause_cooldown_s", 300, 1, 7 * 86400.0,
         "how long a paused job type waits before a probe job, and between probes"),
    LONG("eclipse.dead_letter_scan", 1000, 1, 1000000, "dead letters read per sweep to cluster"),
    LONG("eclipse.log_incidents_max", 20, 0, 100000,
         "new incidents ERROR/FATAL log lines may open per sweep (the rest are counted)"),
    LONG("governance.paradox_interval_s", 3600, 0, 30 * 86400.0,
         "how often the Paradox sweep runs (0: never)"),
    LONG("governance.eclipse_interval_s", 60, 0, 30 * 86400.0,
         "how often Eclipse sweeps dead letters, breakers, pauses and error logs (0: never)"),
    LONG("governance.views_interval_s", 300, 0, 30 * 86400.0,
         "how often PostgreSQL's materialized views are refreshed (0: never)"),
    LONG("governance.optimize_interval_s", 86400, 0, 30 * 86400.0,
         "how often SQLite runs PRAGMA optimize and an incremental vacuum (0: never)"),
    LONG("governance.infinity_interval_s", 15, 0, 86400,
         "how often Infinity re-reads the load and adjusts the job type limits (0: off)"),
    LONG("governance.retention_interval_s", 86400, 0, 30 * 86400.0,
         "how often the retention rules run (a `retention` job; 0: off)"),
    LONG("governance.archive_interval_s", 86400, 0, 30 * 86400.0,
         "how often old logs rows are archived (0: off)"),
    LONG("governance.archive_after_days", 30, 1, 36500,
         "logs rows older than this are moved to a compressed archive"),
    PATH("governance.archive_dir", "archive", "where log archives go (relative to the workspace)"),
    LONG("governance.tokens_interval_s", 3600, 0, 30 * 86400.0,
         "how often linked publishing accounts' tokens are checked (0: off)"),
    LONG("governance.discovery_interval_s", 0, 0, 365 * 86400.0,
         "how often every project gets a `discovery` job (0: off, the default: it searches YouTube; 604800: weekly)"),
    LONG("governance.stats_interval_s", 21600, 0, 365 * 86400.0,
         "how often a `stats` job reads our published clips' figures (0: never)"),
    LONG("stats.min_age_s", 21600, 0, 365 * 86400.0,
         "a published clip is read again once its latest reading is this old"),
    LONG("stats.max_age_days", 30, 1, 3650, "clips published longer ago are no longer read"),
    LONG("stats.batch", 200, 1, 100000, "published clips read by one `stats` job at most"),

    /* dashboard logins (src/http/auth.c) */
    LONG("auth.pwhash_opslimit", 2, 1, 100, "argon2id passes (libsodium opslimit; 2 = interactive)"),
    LONG("auth.pwhash_memlimit_kib", 65536, 8, 4194304,
         "argon2id memory in KiB (65536 = interactive; tests may use 8)"),
    LONG("auth.min_password", 10, 1, 1024, "shortest password accepted"),
    LONG("auth.session_idle_s", 3600, 1, 31536000, "a session unused this long is closed"),
    LONG("auth.session_max_s", 604800, 1, 31536000, "a session's absolute lifetime"),
    LONG("auth.ratelimit_window_s", 900, 1, 86400, "window over which failed logins are counted"),
    LONG("auth.ratelimit_per_ip", 20, 1, 100000, "failed logins per IP within the window"),
    LONG("auth.ratelimit_per_user", 5, 1, 100000, "failed logins per user name within the window"),

    /* Infinity, throughput control (src/oversight/infinity.c; a governance duty) */
    LONG("infinity.edit_depth_high", 50, 1, 10000000,
         "ready edit jobs at which scrape and fetch are slowed (backpressure)"),
    LONG("infinity.edit_depth_low", 10, 0, 10000000,
         "ready edit jobs at or below which the backpressure is lifted"),
    STR("infinity.backpressure_types", "scrape,fetch", "job types slowed while the edit queue is deep"),
    DBL("infinity.backpressure_rate", 0.5, 0.001, 100000,
        "claims per second (across all workers) of each slowed type"),
    DBL("infinity.backpressure_burst", 1, 1, 100000, "token bucket size of a slowed type"),
    LONG("infinity.disk_resume_margin_mb", 256, 0, 1048576,
         "downloads resume once the media dir has media.min_free_mb plus this free"),
    STR("infinity.download_types", "fetch", "job types stopped while the media dir is low on space"),
    LONG("infinity.disk_retry_s", 60, 1, 86400,
         "a fetch that finds the media dir low on space runs again this much later"),
    DBL("infinity.load_high", 2, 0.1, 1000,
        "1-minute load average per core above which heavy job types are held to one at a time"),
    LONG("infinity.mem_min_mb", 256, 0, 1048576,
         "available memory below which heavy job types are held to one at a time"),
    STR("infinity.heavy_types", "analyze,edit", "job types held back under CPU or memory pressure"),
    LONG("infinity.heavy_concurrency", 1, 1, 100000, "concurrency of a heavy type under pressure"),
    LONG("infinity.window_s", 300, 10, 7 * 86400.0, "window of the failure rates Infinity reads"),
    DBL("infinity.render_failure_rate", 0.5, 0.01, 1,
        "edit failure rate at which edits are paused (an Eclipse pause with probes)"),
    LONG("infinity.render_min_failures", 3, 1, 1000000,
         "failed edits in the window before the rate counts"),
    LONG("infinity.render_probe_s", 120, 1, 7 * 86400.0, "paused edits: first probe after this"),

    /* discovery (src/stages/discovery.c) */
    BOOL("discovery.auto_follow", "false", "follow proposed creators above discovery.min_score"),
    DBL("discovery.min_score", 0.3, 0, 1, "candidates scoring below this are not proposed"),
    LONG("discovery.search_results", 5, 0, 50, "yt-dlp ytsearchN results per brief keyword (0: no search)"),
    LONG("discovery.max_candidates", 20, 1, 1000, "candidates scored per discovery job"),
    LONG("discovery.recent_posts", 10, 1, 200, "recent posts of a candidate read to score it"),

    /* publishing to TikTok (src/targets/tiktok.c: Content Posting API, Direct Post) */
    STR("tiktok.client_key", "", "client key of the TikTok app (Login Kit + Content Posting API)"),
    STR("tiktok.client_secret", "", "client secret of that app"),
    STR("tiktok.auth_url", "https://www.tiktok.com/v2/auth/authorize/", "OAuth consent page"),
    STR("tiktok.token_url", "https://open.tiktokapis.com/v2/oauth/token/", "OAuth token endpoint"),
    STR("tiktok.api_url", "https://open.tiktokapis.com",
        "API base ({api_url}/v2/post/publish/video/init/ ...)"),
    STR("tiktok.scopes", "user.info.basic,video.publish", "OAuth scopes asked for (comma-separated)"),
    BOOL("tiktok.audited", "false",
         "the app passed TikTok's audit (false: every post is SELF_ONLY, with a warning)"),
    ENUM("tiktok.privacy_level", "PUBLIC_TO_EVERYONE",
         "PUBLIC_TO_EVERYONE|MUTUAL_FOLLOW_FRIENDS|FOLLOWER_OF_CREATOR|SELF_ONLY",
         "privacy_level of a post when the creator allows it (a brand's tiktok.privacy_level wins)"),
    LONG("tiktok.chunk_bytes", 10485760, 5242880, 67108864,
         "upload chunk (TikTok: 5-64 MB; the last may be up to 128 MB; under 5 MB one chunk)"),
    LONG("tiktok.requests_per_minute", 6, 1, 1000,
         "post/publish requests per minute per access token (TikTok's limit: 6)"),
    LONG("tiktok.status_per_minute", 30, 1, 1000,
         "status/fetch requests per minute per access token (TikTok's limit: 30)"),
    LONG("tiktok.posts_per_day", 15, 1, 1000, "posts per account per UTC day Horizon plans at most"),
    LONG("tiktok.timeout_s", 600, 1, 86400, "timeout of one request (a chunk)"),
    LONG("tiktok.status_poll_ms", 5000, 10, 600000, "interval of status/fetch polls"),
    LONG("tiktok.publish_timeout_s", 1800, 1, 86400,
         "how long a post may stay in processing before the job fails"),

    /* publishing to Instagram Reels (src/targets/instagram.c: Graph API, Instagram Login) */
    STR("instagram.client_id", "", "app id of the Meta app (Instagram API with Instagram Login)"),
    STR("instagram.client_secret", "", "app secret of that app"),
    STR("instagram.auth_url", "https://www.instagram.com/oauth/authorize", "OAuth consent page"),
    STR("instagram.token_url", "https://api.instagram.com/oauth/access_token",
        "OAuth token endpoint (short-lived token; exchanged for a 60-day one)"),
    STR("instagram.graph_url", "https://graph.instagram.com/v21.0",
        "Graph API base ({graph_url}/{ig-user-id}/media ...)"),
    STR("instagram.upload_url", "https://rupload.facebook.com/ig-api-upload/v21.0",
        "resumable upload host (used when a container names no uri)"),
    STR("instagram.scopes", "instagram_business_basic,instagram_business_content_publish",
        "OAuth scopes asked for (comma-separated)"),
    LONG("instagram.timeout_s", 600, 1, 86400, "timeout of one request (the upload)"),
    LONG("instagram.status_poll_ms", 5000, 10, 600000, "interval of container status polls"),
    LONG("instagram.publish_timeout_s", 1800, 1, 86400,
         "how long a container may stay IN_PROGRESS before the job fails"),
    LONG("instagram.limit_retry_s", 3600, 60, 86400,
         "when the 24-hour publishing limit is reached, how long until the post is tried again"),

    /* face framing (issue 10; src/stages/editframe.c, media/facetrack.h): brand reframe
     * auto|speaker|split */
    DBL("framing.sample_fps", 4, 0.5, 15, "face detection samples per second of a clip"),
    LONG("framing.detect_width", 320, 64, 1920,
         "width (px, even) of the grey decode faces are looked for in"),
    DBL("framing.hold_s", 1.0, 0, 10, "a face missed for up to this long is held where it was"),
    DBL("framing.dead_zone", 0.05, 0, 0.5,
        "the crop moves only when the face is this far (fraction of the width) from its centre"),
    DBL("framing.max_pan_speed", 1.0, 0.05, 10,
        "fastest crop movement following a face, source widths per second"),
    STR("framing.cascade", "",
        "OpenCV cascade XML for face detection (empty: opencv-data's frontalface_alt2)"),
};

const size_t om_settings_count = OM_ARRAY_LEN(om_settings);

const om_setting *om_setting_find(const char *name)
{
    for (size_t i = 0; i < om_settings_count; i++)
        if (strcmp(om_settings[i].name, name) == 0)
            return &om_settings[i];
    return NULL;
}

const char *om_setting_suggest(const char *name)
{
    om_suggest s;
    om_suggest_init(&s, name);
    for (size_t i = 0; i < om_settings_count; i++)
        om_suggest_offer(&s, om_settings[i].name);
    return om_suggest_best(&s);
}

const char *om_setting_type_name(om_setting_type t)
{
    switch (t) {
    case OM_SETTING_STRING: return "string";
    case OM_SETTING_PATH: return "path";
    case OM_SETTING_LONG: return "int";
    case OM_SETTING_DOUBLE: return "number";
    case OM_SETTING_BOOL: return "bool";
    case OM_SETTING_ENUM: return "enum";
    }
    return "?";
}

static int in_choices(const char *choices, const char *text)
{
    size_t n = strlen(text);
    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && strncmp(p, text, n) == 0)
            return 1;
        p += len;
        if (*p == '|')
            p++;
    }
    return 0;
}

int om_setting_check(const om_setting *s, const char *text)
{
    switch (s->type) {
    case OM_SETTING_STRING:
    case OM_SETTING_PATH:
        for (const char *p = text; *p; p++)
            if ((unsigned char)*p < 0x20)
                return om_error_set(OM_EINVAL, "control character in the value");
        return OM_OK;
    case OM_SETTING_BOOL:
        if (om_setting_bool_value(text) < 0)
            return om_error_set(OM_EINVAL, "'%s' is not true or false", text);
        return OM_OK;
    case OM_SETTING_ENUM: {
        if (in_choices(s->choices, text))
            return OM_OK;
        om_sbuf sb = OM_SBUF_INIT;
        for (const char *p = s->choices; *p; p++)
            sb_append(&sb, *p == '|' ? ", " : p, *p == '|' ? 2 : 1);
        int rc = om_error_set(OM_EINVAL, "'%s' is not one of %s", text, sb_str(&sb));
        sb_release(&sb);
        return rc;
    }
    case OM_SETTING_LONG: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (!*text || *end || errno || isspace((unsigned char)*text))
            return om_error_set(OM_EINVAL, "'%s' is not an integer", text);
        if ((double)v < s->min || (double)v > s->max)
            return om_error_set(OM_EINVAL, "%lld is out of range %.0f..%.0f", v, s->min, s->max);
        return OM_OK;
    }
    case OM_SETTING_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (!*text || *end || errno || !isfinite(v) || isspace((unsigned char)*text))
            return om_error_set(OM_EINVAL, "'%s' is not a number", text);
        if (v < s->min || v > s->max)
            return om_error_set(OM_EINVAL, "%g is out of range %g..%g", v, s->min, s->max);
        return OM_OK;
    }
    }
    return om_error_set(OM_EINVAL, "unknown setting type");
}

int om_setting_bool_value(const char *text)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
                                                                                  "off", "0"};
    for (size_t i = 0; i < OM_ARRAY_LEN(yes); i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return 1;
        if (strcasecmp(text, no[i]) == 0)
            return 0;
    }
    return -1;
}
