#!/usr/bin/env python3
"""instagram_double.py: a local stand-in for Instagram Login and the Instagram Graph API's
Reels publishing (developers.facebook.com/docs/instagram-platform), for tests only (nobody
can reach Meta from here). It speaks the documented protocol:

  GET  /oauth/authorize                 consent: auto-approves, 302 to redirect_uri?code&state
                                        (client_id, code_challenge S256 recorded)
  POST /oauth/access_token              authorization_code (PKCE verifier and redirect_uri
                                        checked): a short-lived token and user_id
  GET  /v21.0/access_token              grant_type=ig_exchange_token + client_secret: the
                                        60-day token
  GET  /v21.0/refresh_access_token      grant_type=ig_refresh_token: a new 60-day token
  GET  /v21.0/me?fields=user_id,username
  GET  /v21.0/{ig-user-id}/content_publishing_limit?fields=config,quota_usage
                                        {"data": [{"config": {"quota_total": 50,
                                        "quota_duration": 86400}, "quota_usage": N}]}, N =
                                        media published in the last 24 hours (+ a knob)
  POST /v21.0/{ig-user-id}/media        media_type=REELS&upload_type=resumable&caption=...:
                                        {"id": container, "uri": the rupload address};
                                        over the limit: code 9, subcode 2207042
  POST /ig-api-upload/v21.0/{container} the bytes, "Authorization: OAuth TOKEN", "offset: K",
                                        "file_size: N" (K <= what arrived; bytes from K
                                        replace what was there): {"success": true, ...}
  GET  /v21.0/{container}?fields=status_code,status
                                        IN_PROGRESS (for processing_polls polls) -> FINISHED,
                                        or ERROR / EXPIRED (knobs); PUBLISHED once published
  POST /v21.0/{ig-user-id}/media_publish creation_id=container: {"id": media}; a container
                                        is published once (again: code 9007 subcode 2207027)
  GET  /v21.0/{ig-user-id}/media?fields=id,caption,media_product_type&limit=N
  GET  /v21.0/{media-id}?fields=id,media_product_type,permalink
  GET  /v21.0/{media-id}/insights?metric=views,likes,comments,shares,ig_reels_video_view_total_time
  Errors: {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}; a bad or
  revoked token is 400 OAuthException code 190.

Test control: POST /_control {"quota_usage": N (added to the real count), "slow": bytes_per_s,
"upload_error": STATUS (the next upload answers it after half the bytes), "status_error":
"text" (the next container ends ERROR), "processing_polls": P, "revoke": true,
"clear_faults": true, "figures": {SHA256: {views, likes, comments, shares,
watch_time_ms}}}; GET /_state: media (id, sha256, caption, container), containers (id,
size, received, status), bytes_received, publishes. Prints "PORT <n>" once listening.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

V = "/v21.0"
LOCK = threading.RLock()
S = {"codes": {}, "tokens": {}, "containers": {}, "media": [], "quota_usage": 0,
     "quota_total": 50, "slow": 0, "upload_error": None, "status_error": None,
     "processing_polls": 1, "bytes_received": 0, "publishes": 0, "figures": {}}
USER_ID, USERNAME = "17841400000000001", "double.reels"
ARGS = None


def gerr(message, code, etype="OAuthException", sub=None):
    e = {"message": message, "type": etype, "code": code, "fbtrace_id": secrets.token_hex(8)}
    if sub is not None:
        e["error_subcode"] = sub
    return {"error": e}


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

    def form(self):
        return dict(urllib.parse.parse_qsl(self.body().decode()))

    def new_token(self, kind, life):
        t = ("IGAA" if kind == "long" else "IGQV") + secrets.token_urlsafe(24)
        with LOCK:
            S["tokens"][t] = {"kind": kind, "expires": time.time() + life, "revoked": False}
        return t

    def token_ok(self, t, kinds=("long",)):
        with LOCK:
            r = S["tokens"].get(t)
            return r is not None and not r["revoked"] and r["expires"] > time.time() and \
                r["kind"] in kinds

    def bearer(self, q):
        a = self.headers.get("Authorization", "")
        t = a[7:] if a.startswith("Bearer ") else a[6:] if a.startswith("OAuth ") else \
            q.get("access_token")
        if t and self.token_ok(t):
            return t
        self.send(400, gerr("Invalid OAuth access token - Cannot parse access token", 190))
        return None

    def published_24h(self):
        now = time.time()
        return sum(1 for m in S["media"] if m["at"] > now - 86400)

    # ---- GET ----
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        p = u.path
        if p == "/_state":
            with LOCK:
                cons = [{"id": k, "size": c["size"], "received": c["received"],
                         "status": c["status"]} for k, c in S["containers"].items()]
                return self.send(200, {"media": [dict(m) for m in S["media"]],
                                       "containers": cons, "bytes_received": S["bytes_received"],
                                       "publishes": S["publishes"]})
        if p == "/oauth/authorize":
            if q.get("client_id") != ARGS.client_id or q.get("code_challenge_method") != "S256":
                return self.send(400, gerr("Invalid platform app", 400, "OAuthException"))
            code = secrets.token_urlsafe(16)
            with LOCK:
                S["codes"][code] = (q.get("code_challenge"), q.get("redirect_uri"))
            loc = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"code": code, "state": q.get("state", "")})
            self.send_response(302)
            self.send_header("Location", loc)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if p == V + "/access_token":
            t = q.get("access_token", "")
            if q.get("grant_type") != "ig_exchange_token" or q.get("client_secret") != ARGS.client_secret \
                    or not self.token_ok(t, ("short",)):
                return self.send(400, gerr("Error validating access token", 190))
            return self.send(200, {"access_token": self.new_token("long", 5183944),
                                   "token_type": "bearer", "expires_in": 5183944})
        if p == V + "/refresh_access_token":
            t = q.get("access_token", "")
            if q.get("grant_type") != "ig_refresh_token" or not self.token_ok(t):
                return self.send(400, gerr("Error validating access token: the session has "
                                           "been invalidated", 190, sub=460))
            return self.send(200, {"access_token": self.new_token("long", 5183944),
                                   "token_type": "bearer", "expires_in": 5183944})
        if not p.startswith(V + "/"):
            return self.send(404, gerr("Unknown path components: " + p, 2500))
        if not self.bearer(q):
            return
        parts = p[len(V) + 1:].split("/")
        if parts == ["me"]:
            return self.send(200, {"user_id": USER_ID, "username": USERNAME, "id": USER_ID})
        if len(parts) == 2 and parts[0] == USER_ID and parts[1] == "content_publishing_limit":
            with LOCK:
                used = self.published_24h() + S["quota_usage"]
                return self.send(200, {"data": [{"config": {"quota_total": S["quota_total"],
                                                            "quota_duration": 86400},
                                                 "quota_usage": used}]})
        if len(parts) == 2 and parts[0] == USER_ID and parts[1] == "media":
            n = int(q.get("limit", "25"))
            with LOCK:
                items = [{"id": m["id"], "caption": m["caption"], "media_product_type": "REELS"}
                         for m in reversed(S["media"])][:n]
            return self.send(200, {"data": items})
        if len(parts) == 2 and parts[1] == "insights":
            with LOCK:
                m = next((m for m in S["media"] if m["id"] == parts[0]), None)
                f = S["figures"].get(m["sha256"], {}) if m else None
            if m is None:
                return self.send(400, gerr("Unsupported get request. Object with ID '%s' does "
                                           "not exist" % parts[0], 100, "GraphMethodException", 33))
            names = {"views": "views", "likes": "likes", "comments": "comments",
                     "shares": "shares", "ig_reels_video_view_total_time": "watch_time_ms"}
            data = []
            for metric in q.get("metric", "").split(","):
                if metric not in names:
                    return self.send(400, gerr("(#100) metric[0] must be one of the following "
                                               "values: " + ", ".join(names), 100))
                data.append({"name": metric, "period": "lifetime",
                             "values": [{"value": f.get(names[metric], 0)}],
                             "title": metric, "id": "%s/insights/%s/lifetime" % (m["id"], metric)})
            return self.send(200, {"data": data})
        if len(parts) == 1:
            oid = parts[0]
            with LOCK:
                c = S["containers"].get(oid)
                m = next((m for m in S["media"] if m["id"] == oid), None)
                if c:
                    if c["status"] == "IN_PROGRESS" and c["received"] == c["size"]:
                        c["polls"] += 1
                        if c["polls"] >= S["processing_polls"]:
                            c["status"] = "ERROR" if c["error"] else "FINISHED"
                    text = {"IN_PROGRESS": "In Progress: Media is still being processed.",
                            "FINISHED": "Finished: Media has been uploaded and it is complete.",
                            "PUBLISHED": "Published: Media has been published.",
                            "ERROR": "Error: " + (c["error"] or "processing failed"),
                            "EXPIRED": "Expired: the container was not published within 24 "
                                       "hours."}[c["status"]]
                    return self.send(200, {"status_code": c["status"], "status": text,
                                           "id": oid})
                if m:
                    return self.send(200, {"id": m["id"], "media_product_type": "REELS",
                                           "permalink": "https://www.instagram.com/reel/%s/" %
                                                        m["shortcode"]})
            return self.send(400, gerr("Unsupported get request. Object with ID '%s' does not "
                                       "exist" % oid, 100, "GraphMethodException", 33))
        self.send(404, gerr("Unknown path components: " + p, 2500))

    # ---- POST ----
    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        p = u.path
        if p == "/_control":
            c = json.loads(self.body() or b"{}")
            with LOCK:
                if c.get("clear_faults"):
                    S.update({"slow": 0, "upload_error": None, "status_error": None,
                              "quota_usage": 0})
                for k in ("quota_usage", "slow", "upload_error", "status_error",
                          "processing_polls"):
                    if k in c:
                        S[k] = c[k]
                S["figures"].update(c.get("figures", {}))
                if c.get("revoke"):
                    for t in S["tokens"].values():
                        t["revoked"] = True
            return self.send(200, {"ok": True})
        if p == "/oauth/access_token":
            f = self.form()
            with LOCK:
                ch = S["codes"].pop(f.get("code", ""), None)
            ver = f.get("code_verifier", "")
            want = base64.urlsafe_b64encode(hashlib.sha256(ver.encode()).digest()).rstrip(b"=")
            if f.get("grant_type") != "authorization_code" or not ch or \
                    f.get("client_id") != ARGS.client_id or \
                    f.get("client_secret") != ARGS.client_secret or \
                    f.get("redirect_uri") != ch[1] or want.decode() != ch[0]:
                return self.send(400, {"error_type": "OAuthException", "code": 400,
                                       "error_message": "Invalid authorization code"})
            return self.send(200, {"access_token": self.new_token("short", 3600),
                                   "user_id": int(USER_ID),
                                   "permissions": ["instagram_business_basic",
                                                   "instagram_business_content_publish"]})
        if p.startswith("/ig-api-upload" + V + "/"):
            return self.upload(p.rsplit("/", 1)[1])
        if not p.startswith(V + "/"):
            self.body()
            return self.send(404, gerr("Unknown path components: " + p, 2500))
        f = self.form()
        q.update(f)
        if not self.bearer(q):
            return
        parts = p[len(V) + 1:].split("/")
        if parts == [USER_ID, "media"]:
            if q.get("media_type") != "REELS" or q.get("upload_type") != "resumable":
                return self.send(400, gerr("The parameter media_type=REELS with "
                                           "upload_type=resumable is required", 100))
            if len(q.get("caption", "")) > 2200:
                return self.send(400, gerr("The caption is too long", 100, sub=2207010))
            with LOCK:
                if self.published_24h() + S["quota_usage"] >= S["quota_total"]:
                    return self.send(400, gerr("Application request limit reached", 9,
                                               sub=2207042))
                cid = str(17900000000000000 + len(S["containers"]) + 1)
                path = os.path.join(ARGS.dir, cid + ".bin")
                open(path, "wb").close()
                S["containers"][cid] = {"size": None, "received": 0, "status": "IN_PROGRESS",
                                        "polls": 0, "caption": q.get("caption", ""),
                                        "path": path, "error": S["status_error"],
                                        "media": None}
                S["status_error"] = None
            return self.send(200, {"id": cid, "uri": "http://127.0.0.1:%d/ig-api-upload%s/%s" %
                                   (self.server.server_address[1], V, cid)})
        if parts == [USER_ID, "media_publish"]:
            cid = q.get("creation_id", "")
            with LOCK:
                c = S["containers"].get(cid)
                if not c:
                    return self.send(400, gerr("Media ID is not available", 9007, sub=2207027))
                if c["status"] == "PUBLISHED":
                    return self.send(400, gerr("The media has already been published", 9007,
                                               sub=2207027))
                if c["status"] != "FINISHED":
                    return self.send(400, gerr("Media ID is not available: the media is not "
                                               "ready for publishing, please wait", 9007,
                                               sub=2207027))
                if self.published_24h() + S["quota_usage"] >= S["quota_total"]:
                    return self.send(400, gerr("Application request limit reached", 9,
                                               sub=2207042))
                h = hashlib.sha256()
                with open(c["path"], "rb") as fh:
                    for blk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(blk)
                mid = str(17950000000000000 + len(S["media"]) + 1)
                S["media"].append({"id": mid, "sha256": h.hexdigest(), "caption": c["caption"],
                                   "container": cid, "at": time.time(),
                                   "shortcode": secrets.token_urlsafe(8)})
                c["status"] = "PUBLISHED"
                c["media"] = mid
                S["publishes"] += 1
            return self.send(200, {"id": mid})
        self.send(404, gerr("Unknown path components: " + p, 2500))

    def upload(self, cid):
        n = int(self.headers.get("Content-Length") or 0)
        a = self.headers.get("Authorization", "")
        with LOCK:
            c = S["containers"].get(cid)
        if not a.startswith("OAuth ") or not self.token_ok(a[6:]):
            self.rfile.read(n)
            return self.send(400, gerr("Invalid OAuth access token", 190))
        if not c:
            self.rfile.read(n)
            return self.send(400, gerr("Invalid upload session", 100))
        try:
            off, size = int(self.headers.get("offset", "")), int(self.headers.get("file_size", ""))
        except ValueError:
            self.rfile.read(n)
            return self.send(400, gerr("offset and file_size headers are required", 100))
        if off > c["received"] or off + n != size or (c["size"] not in (None, size)):
            self.rfile.read(n)
            return self.send(400, gerr("Partial request (did not match length of file)", 100))
        with LOCK:
            fail = S["upload_error"]
            S["upload_error"] = None
            slow = S["slow"]
        c["size"] = size
        keep = n // 2 if fail else n
        got = 0
        with open(c["path"], "r+b") as fh:
            fh.seek(off)
            while got < n:
                blk = self.rfile.read(min(1 << 16, n - got))
                if not blk:
                    return  # the client went away: what arrived stays
                if got < keep:
                    part = blk[:keep - got]
                    fh.write(part)
                    with LOCK:
                        S["bytes_received"] += len(part)
                        c["received"] = max(c["received"], off + got + len(part))
                got += len(blk)
                if slow:
                    time.sleep(len(blk) / float(slow))
            fh.truncate(c["received"])
        if fail:
            return self.send(int(fail), gerr("An unexpected error has occurred. Please retry "
                                             "your request later.", 2, "OAuthException"))
        self.send(200, {"success": True, "message": "Upload successful."})


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--client-id", default="test-ig-app")
    ap.add_argument("--client-secret", default="test-ig-secret")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.dir, exist_ok=True)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
