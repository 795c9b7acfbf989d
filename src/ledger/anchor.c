/*
 * anchor.c: Ed25519-signed checkpoints of the ledger head and their verification (see
 * anchor.h for the format). OpenSSL's EVP API does the cryptography; keys are PEM files.
 */
#include "base/common.h"
#include "base/fsutil.h"
#include "base/hex.h"
#include "ledger/anchor.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#define ED25519_KEY_LEN 32
#define ED25519_SIG_LEN 64
#define KEY_FILE_CAP (64u << 10)

/* The newest OpenSSL error text (or "unknown error"), for messages. */
static const char *ssl_err(char buf[256])
{
    unsigned long e = ERR_get_error();
    if (!e)
        return "unknown error";
    ERR_error_string_n(e, buf, 256);
    ERR_clear_error();
    return buf;
}

/* The signed bytes (anchor.h). Caller frees. */
static char *signed_text(int64_t packets, const char *head_hash, const char *created_at,
                         const char *pub_hex)
{
    return xasprintf(OM_ANCHOR_FORMAT "\npackets %lld\nhead_hash %s\ncreated_at %s\n"
                                      "public_key %s\n",
                     (long long)packets, head_hash, created_at, pub_hex);
}

/* ---- keys ----------------------------------------------------------------------------- */

/* Writes `data` to `path` only if nothing is there yet: temp file with `mode`, then link()
 * (which refuses to replace), so two processes creating the key at once agree on one.
 * OM_EEXISTS when the path is taken. */
static int write_new_file(const char *path, const char *data, size_t len, int mode)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    int rc = OM_OK;
    if (fd < 0) {
        rc = om_error_set(OM_EIO, "create %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    size_t off = 0;
    while (off < len && rc == OM_OK) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = om_error_set(OM_EIO, "write %s: %s", tmp, strerror(errno));
        else
            off += (size_t)n;
    }
    if (rc == OM_OK && fsync(fd) != 0)
        rc = om_error_set(OM_EIO, "fsync %s: %s", tmp, strerror(errno));
    close(fd);
    if (rc == OM_OK && link(tmp, path) != 0)
        rc = errno == EEXIST ? OM_EEXISTS
                             : om_error_set(OM_EIO, "link %s: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return rc;
}

static char *bio_text(BIO *b, size_t *len)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    *len = n > 0 ? (size_t)n : 0;
    return xstrndup(p ? p : "", *len);
}

static int create_pair(const char *key_path, const char *pub_path, int *created)
{
    char eb[256];
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    if (!kc || EVP_PKEY_keygen_init(kc) <= 0 || EVP_PKEY_keygen(kc, &pk) <= 0) {
        EVP_PKEY_CTX_free(kc);
        return om_error_set(OM_ERROR, "generating an Ed25519 key: %s", ssl_err(eb));
    }
    EVP_PKEY_CTX_free(kc);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    int rc = OM_OK;
    if (!priv || !pub || PEM_write_bio_PrivateKey(priv, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_PUBKEY(pub, pk) != 1)
        rc = om_error_set(OM_ERROR, "encoding the Ed25519 key: %s", ssl_err(eb));
    if (rc == OM_OK) {
        size_t plen = 0, ulen = 0;
        char *ptext = bio_text(priv, &plen), *utext = bio_text(pub, &ulen);
        rc = write_new_file(key_path, ptext, plen, 0600);
        if (rc == OM_OK) {
            *created = 1;
            unlink(pub_path); /* a public key without its private key is stale */
            rc = write_new_file(pub_path, utext, ulen, 0644);
        }
        OPENSSL_cleanse(ptext, plen);
        free(ptext);
        free(utext);
    }
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pk);
    return rc;
}

static int load_private(const char *key_path, EVP_PKEY **out)
{
    *out = NULL;
    struct stat st;
    if (stat(key_path, &st) != 0)
        return om_error_set(errno == ENOENT ? OM_ENOTFOUND : OM_EIO, "%s: %s", key_path,
                            strerror(errno));
    if (st.st_mode & 077)
        return om_error_set(OM_EPERMANENT,
                            "%s is readable by others (mode %03o): chmod 600 it, or move it "
                            "away to make a new key",
                            key_path, (unsigned)(st.st_mode & 0777));
    char *text = NULL;
    size_t len = 0;
    int rc = om_read_file(key_path, KEY_FILE_CAP, &text, &len);
    if (rc)
        return om_error_wrap(rc, "reading the ledger key");
    BIO *b = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    OPENSSL_cleanse(text, len);
    free(text);
    char eb[256];
    if (!pk)
        return om_error_set(OM_EPERMANENT, "%s is not a PEM private key: %s", key_path,
                            ssl_err(eb));
    if (EVP_PKEY_id(pk) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pk);
        return om_error_set(OM_EPERMANENT, "%s is not an Ed25519 key", key_path);
    }
    *out = pk;
    return OM_OK;
}

static int load_public(const char *pub_path, EVP_PKEY **out)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = om_read_file(pub_path, KEY_FILE_CAP, &text, &len);
    if (rc)
        return om_error_wrap(rc, "reading the ledger's public key");
    BIO *b = BIO_new_mem_buf(text, (int)len);
    EVP_PKEY *pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    free(text);
    char eb[256];
    if (!pk)
        return om_error_set(OM_EPERMANENT, "%s is not a PEM public key: %s", pub_path,
                            ssl_err(eb));
    if (EVP_PKEY_id(pk) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pk);
        return om_error_set(OM_EPERMANENT, "%s is not an Ed25519 public key", pub_path);
    }
    *out = pk;
    return OM_OK;
}

static int raw_public_hex(EVP_PKEY *pk, char hex[2 * ED25519_KEY_LEN + 1])
{
    unsigned char raw[ED25519_KEY_LEN];
    size_t n = sizeof(raw);
    char eb[256];
    if (EVP_PKEY_get_raw_public_key(pk, raw, &n) != 1 || n != ED25519_KEY_LEN)
        return om_error_set(OM_ERROR, "reading the raw Ed25519 public key: %s", ssl_err(eb));
    om_hex_encode(raw, n, hex);
    return OM_OK;
}

int om_anchor_key_ensure(const char *key_dir, int *created_out)
{
    if (created_out)
        *created_out = 0;
    int rc = om_mkdirs(key_dir, 0700);
    if (rc)
        return om_error_wrap(rc, "creating the key folder %s", key_dir);
    char *key_path = xasprintf("%s/%s", key_dir, OM_ANCHOR_KEY_FILE);
    char *pub_path = xasprintf("%s/%s", key_dir, OM_ANCHOR_PUB_FILE);
    int created = 0;
    if (!om_file_exists(key_path)) {
        rc = create_pair(key_path, pub_path, &created);
        if (rc == OM_EEXISTS) /* another process made it first: use theirs */
            rc = OM_OK;
    }
    EVP_PKEY *pk = NULL;
    if (rc == OM_OK)
        rc = load_private(key_path, &pk);
    if (rc == OM_OK && !om_file_exists(pub_path)) { /* put back a lost public key */
        BIO *pub = BIO_new(BIO_s_mem());
        char eb[256];
        if (!pub || PEM_write_bio_PUBKEY(pub, pk) != 1) {
            rc = om_error_set(OM_ERROR, "encoding the Ed25519 public key: %s", ssl_err(eb));
        } else {
            size_t len = 0;
            char *text = bio_text(pub, &len);
            rc = om_write_file_atomic(pub_path, text, len);
            free(text);
        }
        BIO_free(pub);
    }
    EVP_PKEY_free(pk);
    free(key_path);
    free(pub_path);
    if (rc == OM_OK && created_out)
        *created_out = created;
    return rc;
}

/* ---- anchors -------------------------------------------------------------------------- */

int om_anchor_create(om_store *s, const char *key_dir, json_t **out)
{
    *out = NULL;
    om_stardust_report rep;
    int rc = om_stardust_verify(s, &rep);
    if (rc)
        return rc;
    if (!rep.ok)
        return om_error_set(OM_EINVAL,
                            "the ledger does not verify (seq %lld: %s); an anchor vouches for "
                            "an intact chain only",
                            (long long)rep.bad_seq, rep.reason);
    rc = om_anchor_key_ensure(key_dir, NULL);
    if (rc)
        return rc;
    char *key_path = xasprintf("%s/%s", key_dir, OM_ANCHOR_KEY_FILE);
    EVP_PKEY *pk = NULL;
    rc = load_private(key_path, &pk);
    free(key_path);
    if (rc)
        return rc;
    char pub_hex[2 * ED25519_KEY_LEN + 1];
    rc = raw_public_hex(pk, pub_hex);
    char created[OM_TIME_LEN];
    om_time_iso(created, om_now_us());
    char *msg = rc ? NULL : signed_text(rep.packets, rep.last_hash, created, pub_hex);
    unsigned char sig[ED25519_SIG_LEN];
    size_t siglen = sizeof(sig);
    if (rc == OM_OK) {
        EVP_MD_CTX *mc = EVP_MD_CTX_new();
        char eb[256];
        if (!mc || EVP_DigestSignInit(mc, NULL, NULL, NULL, pk) != 1 ||
            EVP_DigestSign(mc, sig, &siglen, (const unsigned char *)msg, strlen(msg)) != 1 ||
            siglen != ED25519_SIG_LEN)
            rc = om_error_set(OM_ERROR, "signing the anchor: %s", ssl_err(eb));
        EVP_MD_CTX_free(mc);
    }
    EVP_PKEY_free(pk);
    free(msg);
    if (rc)
        return rc;
    char sig_hex[2 * ED25519_SIG_LEN + 1];
    om_hex_encode(sig, siglen, sig_hex);
    *out = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "format", OM_ANCHOR_FORMAT, "packets",
                     (json_int_t)rep.packets, "head_hash", rep.last_hash, "created_at",
                     created, "public_key", pub_hex, "signature", sig_hex);
    return OM_OK;
}

static void anchor_bad(om_anchor_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void anchor_bad(om_anchor_report *rep, const char *fmt, ...)
{
    rep->ok = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
    va_end(ap);
}

static int is_hex_text(const char *s, size_t len)
{
    if (!s || strlen(s) != len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (om_hexval((unsigned char)s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
            return 0;
    return 1;
}

/* The anchor's fields, checked for shape. 0, or -1 with rep->reason set. */
static int parse_anchor(const json_t *a, om_anchor_report *rep, const char **pub_hex,
                        const char **sig_hex)
{
    if (!json_is_object(a)) {
        anchor_bad(rep, "the anchor is not a JSON object");
        return -1;
    }
    const char *fmt = json_string_value(json_object_get(a, "format"));
    if (!fmt || strcmp(fmt, OM_ANCHOR_FORMAT) != 0) {
        anchor_bad(rep, "the anchor's format is '%s', not '" OM_ANCHOR_FORMAT "'",
                   fmt ? fmt : "(missing)");
        return -1;
    }
    json_t *n = json_object_get(a, "packets");
    const char *hh = json_string_value(json_object_get(a, "head_hash"));
    const char *ca = json_string_value(json_object_get(a, "created_at"));
    *pub_hex = json_string_value(json_object_get(a, "public_key"));
    *sig_hex = json_string_value(json_object_get(a, "signature"));
    int64_t when = 0;
    if (!json_is_integer(n) || json_integer_value(n) < 0)
        anchor_bad(rep, "the anchor's packets is not a count");
    else if (!is_hex_text(hh, 64))
        anchor_bad(rep, "the anchor's head_hash is not 64 lower-case hex digits");
    else if (!ca || strlen(ca) != OM_TIME_LEN - 1 || om_time_parse(ca, &when) != OM_OK)
        anchor_bad(rep, "the anchor's created_at is not a canonical time");
    else if (!is_hex_text(*pub_hex, 2 * ED25519_KEY_LEN))
        anchor_bad(rep, "the anchor's public_key is not 64 lower-case hex digits");
    else if (!is_hex_text(*sig_hex, 2 * ED25519_SIG_LEN))
        anchor_bad(rep, "the anchor's signature is not 128 lower-case hex digits");
    else {
        rep->packets = json_integer_value(n);
        snprintf(rep->head_hash, sizeof(rep->head_hash), "%s", hh);
        snprintf(rep->created_at, sizeof(rep->created_at), "%s", ca);
        return 0;
    }
    om_error_clear();
    return -1;
}

int om_anchor_verify(om_store *s, const json_t *anchor, const char *pub_path,
                     om_anchor_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    rep->packets = -1;
    rep->ledger.bad_seq = -1;
    const char *pub_hex = NULL, *sig_hex = NULL;
    if (parse_anchor(anchor, rep, &pub_hex, &sig_hex) != 0)
        return OM_OK;

    /* the key: the trusted one must be the one the anchor names, and must verify it */
    EVP_PKEY *pk = NULL;
    int rc = load_public(pub_path, &pk);
    if (rc)
        return rc;
    char trusted_hex[2 * ED25519_KEY_LEN + 1];
    rc = raw_public_hex(pk, trusted_hex);
    if (rc) {
        EVP_PKEY_free(pk);
        return rc;
    }
    if (strcmp(trusted_hex, pub_hex) != 0) {
        EVP_PKEY_free(pk);
        anchor_bad(rep,
                   "the anchor was signed by another key (public_key %.16s..., the trusted "
                   "key %s is %.16s...)",
                   pub_hex, pub_path, trusted_hex);
        return OM_OK;
    }
    unsigned char sig[ED25519_SIG_LEN];
    OM_ASSERT(om_hex_decode(sig_hex, sig, sizeof(sig)) == 0); /* shape checked above */
    char *msg = signed_text(rep->packets, rep->head_hash, rep->created_at, pub_hex);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    int good = mc && EVP_DigestVerifyInit(mc, NULL, NULL, NULL, pk) == 1 &&
               EVP_DigestVerify(mc, sig, sizeof(sig), (const unsigned char *)msg,
                                strlen(msg)) == 1;
    ERR_clear_error();
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(pk);
    free(msg);
    if (!good) {
        anchor_bad(rep, "the anchor's signature does not verify: the anchor was altered");
        return OM_OK;
    }

    /* the ledger: the whole chain, and the anchored packet in it */
    rc = om_stardust_verify(s, &rep->ledger);
    if (rc)
        return rc;
    rep->ledger_checked = 1;
    if (rep->packets > 0) {
        char h[OM_SHA256_HEX_LEN];
        rc = om_stardust_hash_at(s, rep->packets, h);
        if (rc == OM_ENOTFOUND) {
            om_error_clear();
            anchor_bad(rep,
                       "the ledger no longer contains the anchored head: the anchor has %lld "
                       "packets ending in %s, the ledger has no packet %lld",
                       (long long)rep->packets, rep->head_hash, (long long)rep->packets);
            return OM_OK;
        }
        if (rc)
            return rc;
        if (strcmp(h, rep->head_hash) != 0) {
            anchor_bad(rep,
                       "the ledger no longer contains the anchored head: packet %lld has hash "
                       "%s, the anchor says %s (history rewritten)",
                       (long long)rep->packets, h, rep->head_hash);
            return OM_OK;
        }
    } else if (strcmp(rep->head_hash, OM_STARDUST_GENESIS) != 0) {
        anchor_bad(rep, "the anchor has 0 packets but a head_hash other than the genesis");
        return OM_OK;
    }
    if (!rep->ledger.ok) {
        anchor_bad(rep, "the ledger does not verify at seq %lld: %s",
                   (long long)rep->ledger.bad_seq, rep->ledger.reason);
        return OM_OK;
    }
    if (rep->ledger.packets < rep->packets) { /* cannot happen once packet N matched */
        anchor_bad(rep, "the ledger verifies only %lld of the %lld anchored packets",
                   (long long)rep->ledger.packets, (long long)rep->packets);
        return OM_OK;
    }
    rep->ok = 1;
    return OM_OK;
}
