#!/usr/bin/env python3
"""tiktok_double.py: a local stand-in for TikTok's Login Kit OAuth and the Content Posting
API (Direct Post), for tests only. It speaks the documented protocol:

  GET  /v2/auth/authorize/                      consent: auto-approves, 302 to
                                                redirect_uri?code&state (client_key, PKCE)
  POST /v2/oauth/token/                         authorization_code (code_verifier checked) and
                                                refresh_token grants; {"error": "invalid_grant"}
  POST /v2/post/publish/creator_info/query/     privacy_level_options, max duration
  POST /v2/post/publish/video/init/             post_info + source_info FILE_UPLOAD, the chunk
                                                rules checked (5-64 MB chunks, the last up to
                                                128 MB, < 5 MB whole, 1-1000 chunks); 6
                                                requests/min per token (429
                                                rate_limit_exceeded); an unaudited client may
                                                post SELF_ONLY only (403
                                                unaudited_client_can_only_post_to_private_accounts)
  PUT  /upload/{publish_id}                     Content-Range: bytes A-B/N, chunks in order
                                                (416 otherwise); 206 per chunk, 201 when whole
  POST /v2/post/publish/status/fetch/           PROCESSING_UPLOAD (uploaded_bytes) ->
                                                PUBLISH_COMPLETE (publicaly_available_post_id)
  POST /v2/video/query/?fields=...          {"filters": {"video_ids": [...]}}: the posts'
                                                view/like/comment/share counts
  Every answer: {"data": {...}, "error": {"code", "message", "log_id"}}.

Test control: POST /_control {"audited": bool, "rate_limit": N, "slow": bytes_per_s,
"processing_polls": P, "revoke": bool, "max_duration": S, "figures": {SHA256: {views, likes,
comments, shares}}}; GET /_state: posts (sha256,
privacy_level), publishes (received), requests (per endpoint), rate_limited.
Prints "PORT <n>" once listening.
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

MB = 1024 * 1024
LOCK = threading.RLock()
S = {"codes": {}, "refresh": {}, "access": {}, "publishes": {}, "posts": [],
     "audited": False, "rate_limit": 6, "slow": 0, "processing_polls": 1, "revoke": False,
     "max_duration": 600, "calls": {}, "requests": {}, "rate_limited": 0}
ARGS = None


def envelope(data=None, code="ok", message=""):
    return {"data": data or {}, "error": {"code": code, "message": message,
                                          "log_id": secrets.token_hex(8)}}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def send(self, status, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def token(self):
        a = self.headers.get("Authorization", "")
        t = a[7:] if a.startswith("Bearer ") else None
        with LOCK:
            if t not in S["access"] or S["access"][t] < time.time():
                return None
        return t

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path == "/_state":
            with LOCK:
                pubs = [{"id": k, "size": v["size"], "received": v["received"],
                         "status": v["status"]} for k, v in S["publishes"].items()]
                self.send(200, {"posts": S["posts"], "publishes": pubs,
                                "requests": S["requests"], "rate_limited": S["rate_limited"]})
            return
        if u.path == "/v2/auth/authorize/":
            if not q.get("client_key") or q.get("code_challenge_method") != "S256":
                self.send(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            with LOCK:
                S["codes"][code] = (q["code_challenge"], q["redirect_uri"])
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"code": code, "state": q.get("state", ""), "scopes": q.get("scope", "")})
            self.send_response(302)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send(404, envelope(code="not_found", message=u.path))

    def grant(self):
        at, rt = "act." + secrets.token_hex(12), "rft." + secrets.token_hex(12)
        with LOCK:
            S["access"][at] = time.time() + 86400
            S["refresh"][rt] = True
        return {"access_token": at, "expires_in": 86400, "open_id": "open-double-1",
                "refresh_token": rt, "refresh_expires_in": 31536000,
                "scope": "user.info.basic,video.publish", "token_type": "Bearer"}

    def limited(self, tok, ep):
        """6 requests/min per token on the post/publish endpoints."""
        now = time.time()
        with LOCK:
            S["requests"][ep] = S["requests"].get(ep, 0) + 1
            calls = [t for t in S["calls"].get(tok, []) if t > now - 60]
            if len(calls) >= S["rate_limit"]:
                S["calls"][tok] = calls
                S["rate_limited"] += 1
                return True
            calls.append(now)
            S["calls"][tok] = calls
        return False

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        raw = self.body()
        if u.path == "/_control":
            with LOCK:
                S.update(json.loads(raw or b"{}"))
            self.send(200, {"ok": True})
            return
        if u.path == "/v2/oauth/token/":
            f = dict(urllib.parse.parse_qsl(raw.decode()))
            if not f.get("client_key"):
                self.send(400, {"error": "invalid_client", "error_description": "no client_key"})
                return
            if f.get("grant_type") == "authorization_code":
                with LOCK:
                    c = S["codes"].pop(f.get("code"), None)
                ch = base64.urlsafe_b64encode(hashlib.sha256(
                    f.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
                if not c or c[0] != ch or c[1] != f.get("redirect_uri"):
                    self.send(400, {"error": "invalid_grant",
                                    "error_description": "code or verifier mismatch"})
                    return
                self.send(200, self.grant())
                return
            if f.get("grant_type") == "refresh_token":
                with LOCK:
                    ok = f.get("refresh_token") in S["refresh"] and not S["revoke"]
                if not ok:
                    self.send(400, {"error": "invalid_grant",
                                    "error_description": "refresh token is invalid"})
                    return
                g = self.grant()
                g["refresh_token"] = f["refresh_token"]
                self.send(200, g)
                return
            self.send(400, {"error": "unsupported_grant_type"})
            return
        tok = self.token()
        if u.path.startswith("/v2/post/publish/") and not tok:
            self.send(401, envelope(code="access_token_invalid",
                                    message="The access token is invalid or not found"))
            return
        doc = json.loads(raw or b"{}")
        if u.path == "/v2/post/publish/creator_info/query/":
            if self.limited(tok, "creator_info"):
                self.send(429, envelope(code="rate_limit_exceeded", message="6 per minute"))
                return
            self.send(200, envelope({
                "creator_avatar_url": "https://example.invalid/a.jpg",
                "creator_username": "double.creator", "creator_nickname": "Double Creator",
                "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS",
                                          "SELF_ONLY"],
                "comment_disabled": False, "duet_disabled": False, "stitch_disabled": False,
                "max_video_post_duration_sec": S["max_duration"]}))
            return
        if u.path == "/v2/post/publish/video/init/":
            if self.limited(tok, "init"):
                self.send(429, envelope(code="rate_limit_exceeded", message="6 per minute"))
                return
            pi, si = doc.get("post_info", {}), doc.get("source_info", {})
            if not S["audited"] and pi.get("privacy_level") != "SELF_ONLY":
                self.send(403, envelope(code="unaudited_client_can_only_post_to_private_accounts",
                                        message="Please review our integration guidelines"))
                return
            size, chunk, count = si.get("video_size", 0), si.get("chunk_size", 0), \
                si.get("total_chunk_count", 0)
            bad = si.get("source") != "FILE_UPLOAD" or size <= 0 or chunk <= 0
            if not bad:
                if size < 5 * MB:
                    bad = chunk != size or count != 1
                else:
                    last = size - (count - 1) * chunk
                    bad = (count != size // chunk or not 1 <= count <= 1000 or
                           (count > 1 and not 5 * MB <= chunk <= 64 * MB) or
                           (count == 1 and size > 64 * MB) or last > 128 * MB)
            if bad:
                self.send(400, envelope(code="invalid_params",
                                        message="chunk_size/total_chunk_count break the rules"))
                return
            pid = "v_pub_file~v2-1." + secrets.token_hex(8)
            with LOCK:
                S["publishes"][pid] = {"size": size, "chunk": chunk, "count": count,
                                       "received": 0, "status": "PROCESSING_UPLOAD",
                                       "polls": 0, "post_info": pi,
                                       "file": os.path.join(ARGS.dir, pid.replace("~", "_"))}
            self.send(200, envelope({"publish_id": pid,
                                     "upload_url": "http://%s:%d/upload/%s" % (
                                         self.server.server_address[0],
                                         self.server.server_address[1], pid)}))
            return
        if u.path == "/v2/video/query/":
            tok = self.token()
            if not tok:
                self.send(401, envelope(code="access_token_invalid", message="bad token"))
                return
            fields = dict(urllib.parse.parse_qsl(u.query)).get("fields", "id").split(",")
            ids = (doc.get("filters") or {}).get("video_ids") or []
            vids = []
            with LOCK:
                for post in S["posts"]:
                    if post["id"] in ids:
                        f = S.get("figures", {}).get(post["sha256"], {})
                        full = {"id": post["id"], "view_count": f.get("views", 0),
                                "like_count": f.get("likes", 0),
                                "comment_count": f.get("comments", 0),
                                "share_count": f.get("shares", 0)}
                        vids.append({k: full[k] for k in fields if k in full})
            self.send(200, envelope({"videos": vids, "cursor": 0, "has_more": False}))
            return
        if u.path == "/v2/post/publish/status/fetch/":
            with LOCK:
                S["requests"]["status"] = S["requests"].get("status", 0) + 1
                p = S["publishes"].get(doc.get("publish_id"))
                if not p:
                    self.send(400, envelope(code="invalid_publish_id", message="unknown"))
                    return
                data = {"status": p["status"], "uploaded_bytes": p["received"]}
                if p["status"] == "PROCESSING_DOWNLOAD":
                    p["polls"] += 1
                    if p["polls"] >= S["processing_polls"]:
                        p["status"] = "PUBLISH_COMPLETE"
                        with open(p["file"], "rb") as fh:
                            sha = hashlib.sha256(fh.read()).hexdigest()
                        p["post_id"] = 7000000000000000000 + len(S["posts"])
                        S["posts"].append({"id": str(p["post_id"]), "sha256": sha,
                                           "publish_id": doc["publish_id"],
                                           "privacy_level": p["post_info"].get("privacy_level"),
                                           "title": p["post_info"].get("title")})
                        data["status"] = "PUBLISH_COMPLETE"
                if p["status"] == "PUBLISH_COMPLETE":
                    data["publicaly_available_post_id"] = [p["post_id"]]
            self.send(200, envelope(data))
            return
        self.send(404, envelope(code="not_found", message=u.path))

    def do_PUT(self):
        u = urllib.parse.urlsplit(self.path)
        pid = urllib.parse.unquote(u.path[len("/upload/"):]) if u.path.startswith("/upload/") else ""
        with LOCK:
            p = S["publishes"].get(pid)
        n = int(self.headers.get("Content-Length") or 0)
        if not p:
            self.rfile.read(n)
            self.send(404, envelope(code="not_found", message="upload url"))
            return
        cr = self.headers.get("Content-Range", "")
        try:
            rng, total = cr[len("bytes "):].split("/")
            a, b = (int(x) for x in rng.split("-"))
            total = int(total)
        except ValueError:
            self.rfile.read(n)
            self.send(400, envelope(code="invalid_params", message="bad Content-Range"))
            return
        idx = a // p["chunk"] if p["chunk"] else 0
        exp_len = p["size"] - a if idx == p["count"] - 1 else p["chunk"]
        if total != p["size"] or a != p["received"] or b - a + 1 != exp_len or n != exp_len:
            self.rfile.read(n)
            self.send(416, envelope(code="invalid_params", message="range not satisfiable"))
            return
        got = bytearray()
        while len(got) < n:
            part = self.rfile.read(min(65536, n - len(got)))
            if not part:
                return  # the client died: the chunk is not taken
            got += part
            if S["slow"]:
                time.sleep(len(part) / S["slow"])
        with LOCK:
            with open(p["file"], "r+b" if a else "wb") as fh:
                fh.seek(a)
                fh.write(got)
            p["received"] = b + 1
            done = p["received"] == p["size"]
            if done:
                p["status"] = "PROCESSING_DOWNLOAD"
        self.send(201 if done else 206, None)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ARGS = ap.parse_args()
    os.makedirs(ARGS.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
