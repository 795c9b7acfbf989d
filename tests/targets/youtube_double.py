#!/usr/bin/env python3
"""youtube_double.py: a local stand-in for Google's OAuth 2.0 and the YouTube Data API v3,
for tests only (nobody can reach Google from here). It speaks the documented protocols:

  GET  /o/oauth2/v2/auth          consent: auto-approves, 302 to redirect_uri?code&state
                                  (PKCE S256 challenge recorded)
  POST /token                     authorization_code (PKCE verified, redirect_uri checked),
                                  refresh_token (invalid_grant when revoked), Google's error
                                  bodies {"error": "...", "error_description": "..."}
  GET  /youtube/v3/channels       part=snippet&mine=true
  POST /upload/youtube/v3/videos  uploadType=resumable: X-Upload-Content-Length/-Type and
                                  the video resource; 200 + Location (the session URI)
  PUT  {session}                  Content-Range: bytes A-B/N (a chunk) or bytes */N (status);
                                  308 Resume Incomplete with Range: bytes=0-K (no Range when
                                  nothing was received), 201 with the video resource when the
                                  last byte arrives, 200 with it on any later request, 404 for
                                  an unknown session
  GET  /youtube/v3/videos         part=status,processingDetails,statistics&id=...
  POST /upload/youtube/v3/thumbnails/set?videoId=...
  errors in Google's format: {"error": {"code", "message", "errors": [{"reason",
  "domain", "message"}]}} (quotaExceeded, uploadLimitExceeded, authError, backendError...)

Test control (not Google's): POST /_control with a JSON object:
  {"faults": [{"kind": "chunk_error", "status": 503, "after_bytes": K, "count": 1},
              {"kind": "short_range", "keep": K, "count": 1},
              {"kind": "session_404", "count": 1},       # the next session request: 404
              {"kind": "final_delay", "seconds": S},     # video recorded, answer delayed
              {"kind": "slow", "bytes_per_s": R}],       # chunk bodies read slowly
   "quota_units": N, "upload_cost": C, "upload_limit": true, "revoke": true,
   "processing_polls": P, "reject": "duplicate", "figures": {SHA256: {views, likes, comments}}, "access_expires_in": S, "clear_faults": true}
GET /_state: {"videos": [...with sha256...], "sessions": [...], "bytes_received": N,
              "token_grants": {...}, "quota_units": N}

Uploaded bytes are stored in files under --dir, so a test checks the SHA-256 of what
arrived. Prints "PORT <n>" on stdout once listening.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
S = {
    "codes": {}, "refresh": {}, "access": {}, "sessions": {}, "videos": {},
    "faults": [], "quota_units": 10000, "upload_cost": 1600, "upload_limit": False,
    "processing_polls": 1, "reject": None, "access_expires_in": 3599,
    "bytes_received": 0, "token_grants": {"authorization_code": 0, "refresh_token": 0},
    "chunks": 0, "figures": {},
}
ARGS = None


def b64url_sha256(text):
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


def gerr(code, reason, message, domain="global"):
    return {"error": {"code": code, "message": message,
                      "errors": [{"message": message, "domain": domain, "reason": reason}]}}


def take_fault(kind):
    """The first fault of this kind (its count decremented; removed at 0), or None."""
    with LOCK:
        for f in S["faults"]:
            if f.get("kind") == kind:
                n = f.get("count", 1)
                if n != -1:
                    f["count"] = n - 1
                    if f["count"] <= 0:
                        S["faults"].remove(f)
                return dict(f)
    return None


def peek_fault(kind):
    with LOCK:
        for f in S["faults"]:
            if f.get("kind") == kind:
                return dict(f)
    return None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        if ARGS.verbose:
            sys.stderr.write("double: " + fmt % a + "\n")

    # ---- plumbing ----
    def send(self, status, body=None, headers=None, ctype="application/json; charset=UTF-8"):
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status, "Resume Incomplete" if status == 308 else None)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    def body_len(self):
        try:
            return int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return 0

    def read_body(self, limit=1 << 20):
        n = self.body_len()
        return self.rfile.read(n) if 0 < n <= limit else (self.drain(n) or b"")

    def drain(self, n):
        while n > 0:
            got = self.rfile.read(min(n, 1 << 16))
            if not got:
                break
            n -= len(got)

    def split(self):
        u = urllib.parse.urlsplit(self.path)
        return u.path, dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))

    def base(self):
        return "http://%s:%d" % self.server.server_address[:2]

    def bearer_ok(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        with LOCK:
            a = S["access"].get(tok)
            ok = a is not None and a["expires"] > time.time()
        if not ok:
            self.send(401, gerr(401, "authError", "Request had invalid authentication credentials. "
                                "Expected OAuth 2 access token."),
                      {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        return ok

    # ---- OAuth ----
    def oauth_auth(self, q):
        ru = q.get("redirect_uri", "")
        if q.get("client_id") != ARGS.client_id:
            return self.send(400, b"Error 401: invalid_client", ctype="text/plain")
        if not ru.startswith("http://127.0.0.1:") or q.get("response_type") != "code":
            return self.send(400, b"Error 400: invalid_request", ctype="text/plain")
        if q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43:
            return self.send(400, b"Error 400: invalid_request (PKCE S256 required)",
                             ctype="text/plain")
        if peek_fault("deny"):
            take_fault("deny")
            loc = ru + "?" + urllib.parse.urlencode({"error": "access_denied",
                                                     "state": q.get("state", "")})
            return self.send(302, b"", {"Location": loc}, ctype="text/html")
        code = "4/0" + secrets.token_urlsafe(24)
        with LOCK:
            S["codes"][code] = {"redirect_uri": ru, "challenge": q["code_challenge"],
                                "scope": q.get("scope", ""), "used": False}
        loc = ru + "?" + urllib.parse.urlencode({"state": q.get("state", ""), "code": code,
                                                 "scope": q.get("scope", "")})
        self.send(302, b"", {"Location": loc}, ctype="text/html")

    def token(self):
        form = dict(urllib.parse.parse_qsl(self.read_body().decode()))

        def err(status, e, d):
            self.send(status, {"error": e, "error_description": d})

        if form.get("client_id") != ARGS.client_id or form.get("client_secret") != ARGS.client_secret:
            return err(401, "invalid_client", "The OAuth client was not found.")
        gt = form.get("grant_type")
        with LOCK:
            if gt == "authorization_code":
                c = S["codes"].get(form.get("code"))
                if not c or c["used"]:
                    return err(400, "invalid_grant", "Malformed auth code.")
                if c["redirect_uri"] != form.get("redirect_uri"):
                    return err(400, "redirect_uri_mismatch", "Bad Request")
                if b64url_sha256(form.get("code_verifier", "")) != c["challenge"]:
                    return err(400, "invalid_grant", "Invalid code verifier.")
                c["used"] = True
                rt = "1//0" + secrets.token_urlsafe(32)
                S["refresh"][rt] = {"revoked": False, "scope": c["scope"]}
                at = "ya29." + secrets.token_urlsafe(32)
                S["access"][at] = {"expires": time.time() + S["access_expires_in"], "rt": rt}
                S["token_grants"]["authorization_code"] += 1
                return self.send(200, {"access_token": at, "expires_in": S["access_expires_in"],
                                       "refresh_token": rt, "scope": c["scope"],
                                       "token_type": "Bearer"})
            if gt == "refresh_token":
                r = S["refresh"].get(form.get("refresh_token"))
                if not r or r["revoked"]:
                    return err(400, "invalid_grant", "Token has been expired or revoked.")
                at = "ya29." + secrets.token_urlsafe(32)
                S["access"][at] = {"expires": time.time() + S["access_expires_in"],
                                   "rt": form.get("refresh_token")}
                S["token_grants"]["refresh_token"] += 1
                return self.send(200, {"access_token": at, "expires_in": S["access_expires_in"],
                                       "scope": r["scope"], "token_type": "Bearer"})
        return err(400, "unsupported_grant_type", "Invalid grant_type: %s" % gt)

    # ---- Data API ----
    def channels(self, q):
        if not self.bearer_ok():
            return
        self.send(200, {"kind": "youtube#channelListResponse",
                        "items": [{"kind": "youtube#channel", "id": "UCdoubleTestChannel000001",
                                   "snippet": {"title": "Double Test Channel"}}]})

    def video_resource(self, v):
        return {"kind": "youtube#video", "etag": v["etag"], "id": v["id"],
                "snippet": dict(v["snippet"], channelId="UCdoubleTestChannel000001"),
                "status": dict(v["status"])}

    def session_create(self, q):
        if not self.bearer_ok():
            return
        body = self.read_body()
        if q.get("uploadType") != "resumable" or "snippet" not in q.get("part", ""):
            return self.send(400, gerr(400, "invalidParameter", "uploadType=resumable and "
                                       "part=snippet,status expected"))
        try:
            size = int(self.headers.get("X-Upload-Content-Length", ""))
        except ValueError:
            return self.send(400, gerr(400, "badRequest", "X-Upload-Content-Length missing"))
        ctype = self.headers.get("X-Upload-Content-Type", "")
        if not ctype.startswith("video/") and ctype != "application/octet-stream":
            return self.send(400, gerr(400, "badRequest", "X-Upload-Content-Type must be video/*"))
        try:
            meta = json.loads(body or b"{}")
        except ValueError:
            return self.send(400, gerr(400, "parseError", "Parse Error"))
        sn, st = meta.get("snippet", {}), meta.get("status", {})
        title, desc, tags = sn.get("title", ""), sn.get("description", ""), sn.get("tags", [])
        if not title or len(title) > 100 or "<" in title or ">" in title:
            return self.send(400, gerr(400, "invalidTitle", "The request metadata specifies an "
                                       "invalid video title.", "youtube.video"))
        if len(desc.encode()) > 5000 or "<" in desc or ">" in desc:
            return self.send(400, gerr(400, "invalidDescription", "The request metadata "
                                       "specifies an invalid video description.", "youtube.video"))
        tag_chars = sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)
        if tag_chars > 500:
            return self.send(400, gerr(400, "invalidTags", "The request metadata specifies "
                                       "invalid video keywords.", "youtube.video"))
        if st.get("publishAt") and st.get("privacyStatus") != "private":
            return self.send(400, gerr(400, "invalidPublishAt", "publishAt needs privacyStatus "
                                       "private.", "youtube.video"))
        if "selfDeclaredMadeForKids" not in st:
            return self.send(400, gerr(400, "invalidVideoMetadata",
                                       "selfDeclaredMadeForKids must be set.", "youtube.video"))
        with LOCK:
            if S["upload_limit"]:
                return self.send(400, gerr(400, "uploadLimitExceeded", "The user has exceeded "
                                           "the number of videos they may upload.",
                                           "youtube.video"))
            if S["quota_units"] < S["upload_cost"]:
                return self.send(403, gerr(403, "quotaExceeded", "The request cannot be "
                                           "completed because you have exceeded your "
                                           '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                                           "youtube.quota"))
            S["quota_units"] -= S["upload_cost"]
            uid = secrets.token_urlsafe(18)
            path = os.path.join(ARGS.dir, uid + ".bin")
            open(path, "wb").close()
            S["sessions"][uid] = {"uid": uid, "size": size, "ctype": ctype, "meta": meta, "received": 0,
                                  "path": path, "video": None, "created": time.time()}
        loc = "%s/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status&upload_id=%s" % (
            self.base(), uid)
        self.send(200, b"", {"Location": loc, "X-GUploader-UploadID": uid},
                  ctype="text/plain")

    def finish_video(self, uid, s):
        h = hashlib.sha256()
        with open(s["path"], "rb") as f:
            for blk in iter(lambda: f.read(1 << 20), b""):
                h.update(blk)
        vid = secrets.token_urlsafe(8)[:11]
        sn, st = s["meta"].get("snippet", {}), s["meta"].get("status", {})
        v = {"id": vid, "etag": secrets.token_hex(8), "upload_id": uid, "sha256": h.hexdigest(),
             "size": s["received"], "polls": 0, "created": time.time(),
             "snippet": {"title": sn.get("title"), "description": sn.get("description", ""),
                         "tags": sn.get("tags", []), "categoryId": sn.get("categoryId"),
                         "defaultLanguage": sn.get("defaultLanguage")},
             "status": {"uploadStatus": "uploaded",
                        "privacyStatus": st.get("privacyStatus", "public"),
                        "publishAt": st.get("publishAt"),
                        "selfDeclaredMadeForKids": st.get("selfDeclaredMadeForKids"),
                        "containsSyntheticMedia": st.get("containsSyntheticMedia")}}
        S["videos"][vid] = v
        s["video"] = vid
        return v

    def session_put(self, q):
        uid = q.get("upload_id")
        n = self.body_len()
        with LOCK:
            s = S["sessions"].get(uid)
        if s is None or take_fault("session_404"):
            self.drain(n)
            with LOCK:
                if s is not None and not s["video"]:
                    S["sessions"].pop(uid, None)
            return self.send(404, gerr(404, "notFound", "Not Found"))
        cr = self.headers.get("Content-Range", "")
        if not cr.startswith("bytes "):
            self.drain(n)
            return self.send(400, gerr(400, "badRequest", "Content-Range required"))
        spec, _, total = cr[6:].partition("/")
        if spec == "*":  # a status query (or an empty body)
            self.drain(n)
            return self.session_answer(s)
        try:
            a, b = (int(x) for x in spec.split("-"))
            total = int(total)
        except ValueError:
            self.drain(n)
            return self.send(400, gerr(400, "badRequest", "malformed Content-Range"))
        if total != s["size"] or b < a or b - a + 1 != n:
            self.drain(n)
            return self.send(400, gerr(400, "badRequest", "Content-Range does not match the "
                                       "session or the body"))
        if s["video"]:
            self.drain(n)
            return self.session_answer(s)
        S["chunks"] += 1
        if b + 1 != total and n % (256 * 1024):
            self.drain(n)
            return self.send(400, gerr(400, "badRequest", "chunk size must be a multiple of "
                                       "256 KiB except the last"))
        err = take_fault("chunk_error")
        short = None if err else take_fault("short_range")
        slow = peek_fault("slow")
        keep = n
        if err:
            keep = min(err.get("after_bytes", n // 2), n)
        elif short:
            keep = min(short.get("keep", n // 2), n)
        # bytes before what we have are rewritten identically; a gap after is not allowed
        with LOCK:
            received = s["received"]
        if a > received:
            self.drain(n)
            return self.session_answer(s)
        got = 0
        with open(s["path"], "r+b") as f:
            f.seek(a)
            while got < n:
                blk = self.rfile.read(min(1 << 16, n - got))
                if not blk:
                    return  # the client went away mid-chunk: keep what arrived
                if got < keep:
                    part = blk[:keep - got]
                    f.write(part)
                    with LOCK:
                        S["bytes_received"] += len(part)
                        s["received"] = max(s["received"], a + got + len(part))
                got += len(blk)
                if slow:
                    time.sleep(len(blk) / float(slow.get("bytes_per_s", 1 << 20)))
            f.truncate(s["received"])
        if err:
            st = err.get("status", 503)
            return self.send(st, gerr(st, "backendError", "Backend Error"))
        self.session_answer(s, fresh=True)

    def session_answer(self, s, fresh=False):
        with LOCK:
            if not s["video"] and s["received"] == s["size"]:
                v = self.finish_video(s["uid"], s)
                delay = take_fault("final_delay")
                if delay:
                    self.log_message("final_delay %s s after recording %s", delay.get("seconds"),
                                     v["id"])
            else:
                delay = None
            vid = s["video"]
            received = s["received"]
        if delay:
            time.sleep(float(delay.get("seconds", 5)))
        if vid:
            with LOCK:
                res = self.video_resource(S["videos"][vid])
            return self.send(201 if fresh else 200, res)
        hdr = {"Range": "bytes=0-%d" % (received - 1)} if received > 0 else {}
        self.send(308, None, hdr)

    def videos_list(self, q):
        if not self.bearer_ok():
            return
        items = []
        with LOCK:
            for vid in q.get("id", "").split(","):
                v = S["videos"].get(vid)
                if not v:
                    continue
                v["polls"] += 1
                if v["status"]["uploadStatus"] == "uploaded" and v["polls"] >= S["processing_polls"]:
                    if S["reject"]:
                        v["status"]["uploadStatus"] = "rejected"
                        v["status"]["rejectionReason"] = S["reject"]
                        v["processing"] = "failed"
                    else:
                        v["status"]["uploadStatus"] = "processed"
                        v["processing"] = "succeeded"
                it = {"kind": "youtube#video", "etag": v["etag"], "id": vid}
                if "status" in q.get("part", ""):
                    it["status"] = dict(v["status"])
                if "statistics" in q.get("part", ""):
                    f = S["figures"].get(v["sha256"], {})
                    it["statistics"] = {"viewCount": str(f.get("views", 0)),
                                        "likeCount": str(f.get("likes", 0)),
                                        "favoriteCount": "0",
                                        "commentCount": str(f.get("comments", 0))}
                if "processingDetails" in q.get("part", ""):
                    it["processingDetails"] = {"processingStatus": v.get("processing",
                                                                         "processing")}
                items.append(it)
        self.send(200, {"kind": "youtube#videoListResponse", "items": items,
                        "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}})

    def thumbnails_set(self, q):
        if not self.bearer_ok():
            self.drain(self.body_len())
            return
        self.read_body(1 << 21)
        with LOCK:
            v = S["videos"].get(q.get("videoId"))
            if v:
                v["thumbnail"] = True
        if not v:
            return self.send(404, gerr(404, "videoNotFound", "The video that you are trying to "
                                       "update cannot be found.", "youtube.thumbnail"))
        self.send(200, {"kind": "youtube#thumbnailSetResponse",
                        "items": [{"default": {"url": self.base() + "/vi/%s/default.jpg" %
                                   q.get("videoId"), "width": 120, "height": 90}}]})

    # ---- control ----
    def control(self):
        try:
            c = json.loads(self.read_body() or b"{}")
        except ValueError:
            return self.send(400, {"error": "bad json"})
        with LOCK:
            if c.get("clear_faults"):
                S["faults"] = []
            S["faults"].extend(c.get("faults", []))
            S["figures"].update(c.get("figures", {}))
            for k in ("quota_units", "upload_cost", "upload_limit", "processing_polls",
                      "reject", "access_expires_in"):
                if k in c:
                    S[k] = c[k]
            if c.get("revoke"):
                for r in S["refresh"].values():
                    r["revoked"] = True
            if c.get("expire_access"):
                for a in S["access"].values():
                    a["expires"] = 0
        self.send(200, {"ok": True})

    def state(self):
        with LOCK:
            doc = {"videos": [dict(v) for v in S["videos"].values()],
                   "sessions": [{"upload_id": k, "size": s["size"], "received": s["received"],
                                 "video": s["video"], "created": s["created"]} for k, s in S["sessions"].items()],
                   "bytes_received": S["bytes_received"], "chunks": S["chunks"],
                   "token_grants": dict(S["token_grants"]), "quota_units": S["quota_units"],
                   "faults": list(S["faults"])}
        self.send(200, doc)

    # ---- routing ----
    def do_GET(self):
        p, q = self.split()
        if p == "/o/oauth2/v2/auth":
            return self.oauth_auth(q)
        if p == "/youtube/v3/channels":
            return self.channels(q)
        if p == "/youtube/v3/videos":
            return self.videos_list(q)
        if p == "/_state":
            return self.state()
        self.send(404, gerr(404, "notFound", "Not Found"))

    def do_POST(self):
        p, q = self.split()
        if p == "/token":
            return self.token()
        if p == "/upload/youtube/v3/videos":
            return self.session_create(q)
        if p == "/upload/youtube/v3/thumbnails/set":
            return self.thumbnails_set(q)
        if p == "/_control":
            return self.control()
        self.drain(self.body_len())
        self.send(404, gerr(404, "notFound", "Not Found"))

    def do_PUT(self):
        p, q = self.split()
        if p == "/upload/youtube/v3/videos" and "upload_id" in q:
            return self.session_put(q)
        self.drain(self.body_len())
        self.send(404, gerr(404, "notFound", "Not Found"))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--client-id", default="test-client.apps.googleusercontent.com")
    ap.add_argument("--client-secret", default="test-secret")
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), H)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
