#!/usr/bin/env python3
"""bench_upload.py: our YouTube resumable upload next to `curl -T` of the same file to the
same server, in one run, and the bytes sent again after a kill -9 at 50%.

The server is the local Google double (tests/targets/youtube_double.py: OAuth 2.0 and the
resumable upload protocol). Both uploads are timed the same way, by the server: from the
session's creation (POST .../videos?uploadType=resumable) to the video's (the last byte),
so neither side's process start counts. Ours runs the real path: `omniva worker --types
upload --once` on an upload job of a rendered clip, chunks of youtube.chunk_bytes with the
session and progress committed to the store; curl sends the whole file in one PUT.

Then a second file: the worker is killed (SIGKILL, its whole process group) once the
server holds half of it, restarted, and the bytes the server received beyond the file's
size are the bytes sent again (goal: less than one chunk).

  bench_upload.py [--mb 200] [--omniva PATH] [--chunk-mb 8] [--keep]

Goal: ours >= 0.9x curl's throughput. Build without sanitizers for meaningful figures.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else "python3"


def random_file(path, size):
    """Writes `size` random bytes to path; returns their SHA-256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            blk = os.urandom(min(left, 1 << 22))
            f.write(blk)
            h.update(blk)
            left -= len(blk)
    return h.hexdigest()


def log(*a):
    print(*a, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="omniva-bench-upload-")
        self.home = os.path.join(self.tmp, "ws")
        self.db = os.path.join(self.home, "omniva.db")
        self.dbl = None
        self.port = 0
        self.seq = 0

    # ---- the double ----
    def start_double(self):
        self.dbl = subprocess.Popen([PY, os.path.join(SRC, "tests/targets/youtube_double.py"),
                                     "--dir", os.path.join(self.tmp, "double")],
                                    stdout=subprocess.PIPE, text=True)
        line = self.dbl.stdout.readline()
        if not line.startswith("PORT "):
            sys.exit("bench_upload: the double did not start")
        self.port = int(line.split()[1])

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.url(path) if path.startswith("/") else path,
                                     data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def state(self):
        return json.loads(self.request("GET", "/_state")[2])

    def control(self, obj):
        self.request("POST", "/_control", json.dumps(obj).encode(),
                     {"Content-Type": "application/json"})

    # ---- the workspace ----
    def omniva(self, *argv, check=True, **kw):
        cmd = [self.args.omniva, "--home", self.home, "--log-format", "none"] + list(argv)
        r = subprocess.run(cmd, capture_output=True, text=True, **kw)
        if check and r.returncode != 0:
            sys.exit("bench_upload: %s failed (%d): %s" % (" ".join(argv), r.returncode, r.stderr))
        return r

    def conf(self, section, key, value):
        with open(os.path.join(self.home, "omniva.conf"), "a") as f:
            f.write("\n[%s]\n%s = %s\n" % (section, key, value))

    def sql(self, stmt, *params):
        import sqlite3
        con = sqlite3.connect(self.db, timeout=30)
        try:
            cur = con.execute(stmt, params)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    def setup(self):
        r = subprocess.run([self.args.omniva, "init", self.home], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("bench_upload: omniva init failed: " + r.stderr)
        for k, v in (("client_id", "test-client.apps.googleusercontent.com"),
                     ("client_secret", "test-secret"),
                     ("auth_url", self.url("/o/oauth2/v2/auth")), ("token_url", self.url("/token")),
                     ("api_url", self.url("")), ("upload_url", self.url("/upload")),
                     ("chunk_bytes", str(self.args.chunk_mb << 20)), ("backoff_ms", "20"),
                     ("verify_poll_ms", "20")):
            self.conf("youtube", k, v)
        for k, v in (("lease_ms", "1000"), ("reap_ms", "200"), ("idle_ms", "50")):
            self.conf("worker", k, v)
        self.omniva("project", "create", "acme")
        self.project = self.sql("SELECT project_id FROM projects WHERE name = 'acme'")[0][0]
        # the user's part of `account add`: open the printed consent URL
        out = os.path.join(self.tmp, "account-add.log")
        with open(out, "w") as f:
            p = subprocess.Popen([self.args.omniva, "--home", self.home, "--log-format", "none",
                                  "account", "add", "youtube", "acme"], stdout=f,
                                 stderr=subprocess.STDOUT)
        consent = None
        for _ in range(500):
            text = open(out).read()
            i = text.find("http://127.0.0.1")
            if i >= 0 and "code_challenge=" in text[i:]:
                consent = text[i:].split()[0]
                break
            time.sleep(0.02)
        if not consent:
            sys.exit("bench_upload: account add printed no consent URL")
        urllib.request.urlopen(consent, timeout=30).read()
        if p.wait(60) != 0:
            sys.exit("bench_upload: account add failed: " + open(out).read())

    def make_clip(self, path, size):
        """A rendered clip of `size` random bytes with a youtube upload job queued."""
        self.seq += 1
        seq = self.seq
        sha = random_file(path, size)
        ids = [str(uuid.uuid4()) for _ in range(6)]
        creator, post, video, clip, art, uj = ids
        for stmt, params in (
                ("INSERT INTO creators (creator_id, platform, username) VALUES (?, 'local', ?)",
                 (creator, "me%d" % seq)),
                ("INSERT INTO project_creators (project_id, creator_id) VALUES (?, ?)",
                 (self.project, creator)),
                ("INSERT INTO posts (post_id, creator_id, platform, platform_post_id, url) "
                 "VALUES (?, ?, 'local', ?, 'file:///x')", (post, creator, "p%d" % seq)),
                ("INSERT INTO videos (video_id, post_id, file_path, checksum) VALUES (?, ?, '/x', ?)",
                 (video, post, sha)),
                ("INSERT INTO clips (clip_id, video_id, start_time, end_time, status, metadata) "
                 "VALUES (?, ?, 1.0, 20.0, 'RENDERED', '{\"transcript\":\"hello\"}')", (clip, video)),
                ("INSERT INTO artifacts (artifact_id, kind, entity_type, entity_id, path, checksum) "
                 "VALUES (?, 'render', 'clips', ?, ?, ?)", (art, clip, path, sha)),
                ("INSERT INTO upload_jobs (upload_job_id, clip_id, title, description, keywords, "
                 "status, target, target_state) VALUES (?, ?, ?, 'A description', '[\"bench\"]', "
                 "'PENDING', 'youtube', '{}')", (uj, clip, "Bench clip %d" % seq))):
            self.sql(stmt, *params)
        payload = json.dumps({"clip_id": clip, "upload_job_id": uj, "project_id": self.project})
        self.omniva("jobs", "enqueue", "upload", "--payload", payload, "--max-attempts", "100")
        return uj, sha

    def uj_status(self, uj):
        return self.sql("SELECT status FROM upload_jobs WHERE upload_job_id = ?", uj)[0][0]

    def server_time(self, sha):
        """Session creation to video creation on the server, for the video with `sha`."""
        st = self.state()
        vids = st["videos"] if isinstance(st["videos"], list) else list(st["videos"].values())
        v = [v for v in vids if v.get("sha256") == sha]
        if len(v) != 1:
            sys.exit("bench_upload: %d videos with the render's SHA-256 (expected 1)" % len(v))
        sess = [s for s in st["sessions"] if s.get("upload_id") == v[0].get("upload_id")]
        if not sess or "created" not in sess[0] or "created" not in v[0]:
            return None
        return v[0]["created"] - sess[0]["created"]

    def run_until_done(self, uj, limit_s=600):
        end = time.time() + limit_s
        while self.uj_status(uj) != "DONE":
            if time.time() > end:
                sys.exit("bench_upload: upload job %s not DONE after %d s" % (uj, limit_s))
            self.omniva("worker", "--types", "upload", "--once", check=False)
            if self.uj_status(uj) != "DONE":
                time.sleep(0.3)

    # ---- the runs ----
    def ours(self, size):
        path = os.path.join(self.tmp, "render-ours.mp4")
        uj, sha = self.make_clip(path, size)
        t0 = time.time()
        self.run_until_done(uj)
        wall = time.time() - t0
        return self.server_time(sha), wall

    def curl(self, size):
        path = os.path.join(self.tmp, "render-curl.mp4")
        sha = random_file(path, size)
        rt = self.sql("SELECT refresh_token FROM publishing_accounts LIMIT 1")[0][0]
        st, _, body = self.request("POST", "/token", urllib.parse.urlencode({
            "grant_type": "refresh_token", "refresh_token": rt,
            "client_id": "test-client.apps.googleusercontent.com",
            "client_secret": "test-secret"}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        tok = json.loads(body)["access_token"]
        meta = json.dumps({"snippet": {"title": "curl reference", "description": "",
                                       "tags": [], "categoryId": "22"},
                           "status": {"privacyStatus": "private",
                                      "selfDeclaredMadeForKids": False}}).encode()
        t0 = time.time()
        st, hdr, body = self.request(
            "POST", "/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status", meta,
            {"Authorization": "Bearer " + tok, "Content-Type": "application/json; charset=UTF-8",
             "X-Upload-Content-Length": str(size), "X-Upload-Content-Type": "video/mp4"})
        loc = hdr.get("Location")
        if st != 200 or not loc:
            sys.exit("bench_upload: the reference's session was refused (%d): %s" % (st, body))
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T", path,
                            "-H", "Authorization: Bearer " + tok,
                            "-H", "Content-Range: bytes 0-%d/%d" % (size - 1, size), loc],
                           capture_output=True, text=True)
        wall = time.time() - t0
        if r.stdout.strip() not in ("200", "201"):
            sys.exit("bench_upload: curl -T answered %s %s" % (r.stdout, r.stderr))
        return self.server_time(sha), wall

    def killed_at_half(self, size):
        path = os.path.join(self.tmp, "render-kill.mp4")
        uj, sha = self.make_clip(path, size)
        before = self.state()["bytes_received"]
        # slowed server reads (40 MB/s) so the kill lands near half, inside a chunk
        self.control({"faults": [{"kind": "slow", "bytes_per_s": 40000000, "count": -1}]})
        w = subprocess.Popen([self.args.omniva, "--home", self.home, "--log-format", "none",
                              "worker", "--types", "upload"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        end = time.time() + 600
        got = 0
        while time.time() < end:
            got = self.state()["bytes_received"] - before
            if got >= size // 2:
                break
            time.sleep(0.005)
        os.killpg(w.pid, signal.SIGKILL)
        w.wait()
        at_kill = self.state()["bytes_received"] - before
        self.control({"clear_faults": True})
        self.run_until_done(uj)
        total = self.state()["bytes_received"] - before
        self.server_time(sha)  # exactly one video with the render's bytes
        return at_kill, total - size

    def close(self):
        if self.dbl:
            self.dbl.kill()
            self.dbl.wait()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--chunk-mb", type=int, default=8)
    ap.add_argument("--omniva", default=os.environ.get("OMNIVA_BIN", "./omniva"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    size = args.mb << 20
    b = Bench(args)
    try:
        b.start_double()
        b.setup()
        log("bench_upload: %d MiB file, chunks of %d MiB, load average %s" %
            (args.mb, args.chunk_mb, open("/proc/loadavg").read().split()[0]))
        # interleaved, twice each; the best of each (the machine is shared)
        ours, ref = [], []
        for _ in range(2):
            ref.append(b.curl(size))
            ours.append(b.ours(size))
        t_ref = min(t for t, _ in ref)
        t_ours = min(t for t, _ in ours)
        mbps = lambda t: size / t / 1e6
        log("curl -T (one PUT)     %6.2f s  %7.1f MB/s   (wall incl. session: %.2f s)" %
            (t_ref, mbps(t_ref), min(w for _, w in ref)))
        log("omniva (chunked)      %6.2f s  %7.1f MB/s   (wall of the worker runs: %.2f s)" %
            (t_ours, mbps(t_ours), min(w for _, w in ours)))
        at_kill, resent = b.killed_at_half(size)
        log("kill -9 at %.0f%% (%d bytes on the server): %d bytes sent again (one chunk: %d)" %
            (100.0 * at_kill / size, at_kill, resent, args.chunk_mb << 20))
        log("ours/curl throughput = %.2f (goal >= 0.9)" % (t_ref / t_ours))
        log("resent after kill -9 = %.3f chunks (goal < 1)" % (resent / float(args.chunk_mb << 20)))
    finally:
        b.close()


if __name__ == "__main__":
    main()
