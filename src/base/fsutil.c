/* fsutil.c: mkdir -p, whole-file reads, atomic writes, SHA-256. */
#include "base/common.h"
#include "base/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

int om_mkdirs(const char *path, int mode)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            return om_error_set(OM_EIO, "mkdir %s: %s", path, strerror(e));
        }
        *s = '/';
    }
    int rc = OM_OK;
    if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST)
        rc = om_error_set(OM_EIO, "mkdir %s: %s", path, strerror(errno));
    free(p);
    return rc;
}

int om_read_file(const char *path, size_t cap, char **out, size_t *len_out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return om_error_set(errno == ENOENT ? OM_ENOTFOUND : OM_EIO, "open %s: %s", path,
                            strerror(errno));
    om_sbuf sb = OM_SBUF_INIT;
    sb.cap = cap ? cap : 64u << 20;
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            sb_release(&sb);
            return om_error_set(OM_EIO, "read %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        if (sb_append(&sb, buf, (size_t)n) != OM_OK) {
            close(fd);
            sb_release(&sb);
            return om_error_wrap(OM_EINVAL, "%s", path);
        }
    }
    close(fd);
    if (len_out)
        *len_out = sb.len;
    *out = sb_detach(&sb);
    return OM_OK;
}

int om_write_file_atomic(const char *path, const void *data, size_t len)
{
    char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return om_error_set(OM_EIO, "create %s: %s", path, strerror(e));
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            return om_error_set(OM_EIO, "write %s: %s", path, strerror(e));
        }
        p += n;
        left -= (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        return om_error_set(OM_EIO, "write %s: %s", path, strerror(e));
    }
    free(tmp);
    return OM_OK;
}

int om_copy_file_atomic(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return om_error_set(OM_EIO, "open %s: %s", src, strerror(errno));
    char *tmp = xasprintf("%s.tmp.%ld", dst, (long)getpid());
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = OM_OK;
    if (out < 0) {
        rc = om_error_set(OM_EIO, "create %s: %s", dst, strerror(errno));
        goto done;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                rc = om_error_set(OM_EIO, "read %s: %s", src, strerror(errno));
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = om_error_set(OM_EIO, "write %s: %s", dst, strerror(errno));
                goto done;
            }
            off += w;
        }
    }
    if (rc == OM_OK && (fsync(out) != 0 || rename(tmp, dst) != 0))
        rc = om_error_set(OM_EIO, "write %s: %s", dst, strerror(errno));
done:
    if (out >= 0)
        close(out);
    close(in);
    if (rc != OM_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}

int om_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int om_file_size(const char *path, int64_t *out)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return om_error_set(errno == ENOENT ? OM_ENOTFOUND : OM_EIO, "stat %s: %s", path,
                            strerror(errno));
    *out = (int64_t)st.st_size;
    return OM_OK;
}

static void hex(const unsigned char *md, unsigned n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

void om_sha256_hex(const void *data, size_t len, char out[OM_SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    hex(md, n, out);
}

int om_sha256_file(const char *path, char out[OM_SHA256_HEX_LEN])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return om_error_set(OM_EIO, "open %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    char buf[1 << 16];
    int rc = OM_OK;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = om_error_set(OM_EIO, "read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(ctx, buf, (size_t)n);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    close(fd);
    if (rc == OM_OK)
        hex(md, mdlen, out);
    return rc;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int om_rmtree(const char *path)
{
    if (!om_file_exists(path))
        return OM_OK;
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return om_error_set(OM_EIO, "remove %s: %s", path, strerror(errno));
    return OM_OK;
}

/* home without trailing slashes ("/" stays "/"): its length */
static size_t home_len(const char *home)
{
    size_t n = strlen(home);
    while (n > 1 && home[n - 1] == '/')
        n--;
    return n;
}

char *om_path_to_home_rel(const char *home, const char *path)
{
    if (!path)
        return NULL;
    if (!home || !*home || path[0] != '/')
        return xstrdup(path);
    size_t n = home_len(home);
    if (n == 1 && home[0] == '/')
        return xstrdup(path[1] ? path + 1 : ".");
    if (strncmp(path, home, n) != 0)
        return xstrdup(path);
    const char *rest = path + n;
    if (*rest == '\0')
        return xstrdup(".");
    if (*rest != '/')
        return xstrdup(path); /* "/ws2/x" is not under "/ws" */
    while (*rest == '/')
        rest++;
    return xstrdup(*rest ? rest : ".");
}

char *om_path_from_home(const char *home, const char *path)
{
    if (!path)
        return NULL;
    if (!home || !*home || path[0] == '/' || strstr(path, "://")) /* a URI: s3://b/k */
        return xstrdup(path);
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    size_t n = home_len(home);
    if (!*path || strcmp(path, ".") == 0)
        return xstrndup(home, n);
    if (n == 1 && home[0] == '/')
        return xasprintf("/%s", path);
    return xasprintf("%.*s/%s", (int)n, home, path);
}

const char *om_tmpdir(void)
{
    const char *dir = getenv("TMPDIR");
    return dir && *dir ? dir : "/tmp";
}
