// server.js: the S3-protocol server the object-storage tests start on loopback.
//
//   node server.js DIR PORT BUCKET[,BUCKET...]   prints "READY <port>" when listening
//
// s3rver (npm) keeps the objects (in DIR) and answers the S3 API; this front, on PORT, does
// what s3rver leaves out and a real service does, so the tests exercise our client against
// the protocol's real rules:
//   - verifies every request's AWS Signature Version 4 (canonical request, credential
//     scope, signing key from the secret) and refuses a wrong one (403
//     SignatureDoesNotMatch);
//   - verifies x-amz-content-sha256 against the body received (400
//     XAmzContentSHA256Mismatch); UNSIGNED-PAYLOAD is refused (the tests want real hashes);
//   - forwards a request only once its whole body has arrived, so a client killed mid-PUT
//     leaves nothing (a real service discards an incomplete request);
//   - AbortMultipartUpload (DELETE ?uploadId=), which s3rver lacks: the parts are removed;
//   - fault knobs: POST /_fault?status=503&count=N[&op=PUT][&delay_ms=D][&drop=1] answers
//     the next N matching requests with that status (or drops the connection, or delays
//     them; status=0 with delay_ms only slows them, then answers them normally: a slowed
//     service, to kill a client mid-run; &abandon=1 with it: a request whose client went
//     away during the delay is dropped unanswered and undone, as if the client had been
//     killed before sending it); GET /_stats counts requests by operation; POST
//     /_reset clears both;
//   - POST /_age?bucket=B&key=K&hours=H (or &prefix=P: every object under it) sets the
//     objects' LastModified H hours back (s3rver reads it from the file's mtime), for
//     rules that go by an object's age.
// Credentials: s3rver's default account, access key S3RVER, secret S3RVER.
// Run it with `node --openssl-legacy-provider` (the harness does): s3rver encrypts its
// ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only has in that provider.
'use strict';

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const S3rver = require('s3rver');

const [dir, portArg, bucketsArg] = process.argv.slice(2);
if (!dir || !portArg || !bucketsArg) {
  console.error('usage: node server.js DIR PORT BUCKET[,BUCKET...]');
  process.exit(2);
}
const ACCESS = 'S3RVER';
const SECRET = 'S3RVER';
const BODY_CAP = 512 * 1024 * 1024;

const stats = {};
let faults = [];

function count(op) {
  stats[op] = (stats[op] || 0) + 1;
}

function opOf(req, url) {
  const q = url.searchParams;
  if (req.method === 'POST' && q.has('uploads')) return 'CreateMultipartUpload';
  if (req.method === 'PUT' && q.has('partNumber')) return 'UploadPart';
  if (req.method === 'POST' && q.has('uploadId')) return 'CompleteMultipartUpload';
  if (req.method === 'DELETE' && q.has('uploadId')) return 'AbortMultipartUpload';
  if (req.method === 'GET' && q.has('list-type')) return 'ListObjectsV2';
  return { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[
    req.method] || req.method;
}

function s3error(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>${message}</Message></Error>`);
}

// RFC 3986 encoding as SigV4 wants it (everything but unreserved characters).
function uriEncode(s, keepSlash) {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}

// Returns null when the signature holds, else [code, message].
function checkSigV4(req, rawPath, rawQuery, bodySha) {
  const auth = req.headers['authorization'] || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/
    .exec(auth);
  if (!m) return ['AccessDenied', 'a SigV4 Authorization header is required'];
  const [, credential, signedHeaders, signature] = m;
  const [ak, date, region, service, term] = credential.split('/');
  if (ak !== ACCESS) return ['InvalidAccessKeyId', 'unknown access key'];
  if (service !== 's3' || term !== 'aws4_request') return ['AccessDenied', 'bad credential scope'];
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate || !amzDate.startsWith(date)) return ['AccessDenied', 'x-amz-date does not match'];
  const names = signedHeaders.split(';');
  for (const need of ['host', 'x-amz-content-sha256', 'x-amz-date'])
    if (!names.includes(need)) return ['AccessDenied', `${need} must be signed`];
  const canonHeaders = names.map(n => {
    const v = req.headers[n];
    if (v === undefined) return null;
    return `${n}:${String(v).trim().replace(/\s+/g, ' ')}\n`;
  });
  if (canonHeaders.includes(null)) return ['AccessDenied', 'a signed header is missing'];
  // the canonical URI: each segment decoded then encoded once (S3 does not double-encode)
  const canonUri = rawPath.split('/').map(seg => uriEncode(decodeURIComponent(seg), false))
    .join('/');
  const canonQuery = (rawQuery ? rawQuery.split('&') : []).filter(p => p.length).map(p => {
    const i = p.indexOf('=');
    const k = decodeURIComponent(i < 0 ? p : p.slice(0, i));
    const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1).replace(/\+/g, '%20'));
    return [uriEncode(k, false), uriEncode(v, false)];
  }).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`).join('&');
  const canonical = [req.method, canonUri, canonQuery, canonHeaders.join(''), signedHeaders,
    bodySha].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope,
    crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
  let key = hmac('AWS4' + SECRET, date);
  key = hmac(key, region);
  key = hmac(key, 's3');
  key = hmac(key, 'aws4_request');
  const want = hmac(key, toSign).toString('hex');
  if (want !== signature)
    return ['SignatureDoesNotMatch', 'The request signature we calculated does not match'];
  return null;
}

async function main() {
  const buckets = bucketsArg.split(',');
  fs.mkdirSync(dir, { recursive: true });
  const backend = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map(name => ({ name })),
  });
  const info = await backend.run();
  const backPort = info.port;

  const front = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const q = req.url.indexOf('?');
    const rawPath = q < 0 ? req.url : req.url.slice(0, q);
    const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
    if (rawPath === '/_stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(stats));
    }
    if (rawPath === '/_reset') {
      for (const k of Object.keys(stats)) delete stats[k];
      faults = [];
      res.writeHead(204);
      return res.end();
    }
    if (rawPath === '/_fault') {
      const p = url.searchParams;
      faults.push({
        status: Number(p.get('status') || 503), count: Number(p.get('count') || 1),
        op: p.get('op') || '', delay: Number(p.get('delay_ms') || 0), drop: p.get('drop') === '1',
        abandon: p.get('abandon') === '1',
      });
      res.writeHead(204);
      return res.end();
    }
    if (rawPath === '/_age') {
      const p = url.searchParams;
      const bucket = p.get('bucket') || '';
      const when = new Date(Date.now() - Number(p.get('hours') || 0) * 3600 * 1000);
      let n = 0;
      const age = file => { fs.utimesSync(file, when, when); n++; };
      if (p.has('key')) {
        const file = backend.store.getResourcePath(bucket, p.get('key'), 'object');
        if (!fs.existsSync(file)) return s3error(res, 404, 'NoSuchKey', 'no such key');
        age(file);
      } else {
        const prefix = p.get('prefix') || '';
        const root = backend.store.getBucketPath(bucket);
        const walk = (dir, rel) => {
          for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, e.name);
            if (e.isDirectory()) walk(full, rel + e.name + '/');
            else if (e.name.endsWith('._S3rver_object')) {
              const key = rel + e.name.slice(0, -'._S3rver_object'.length);
              if (key.startsWith(prefix)) age(full);
            }
          }
        };
        if (fs.existsSync(root)) walk(root, '');
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ aged: n }));
    }
    const chunks = [];
    let size = 0, tooBig = false;
    req.on('data', c => {
      size += c.length;
      if (size > BODY_CAP) tooBig = true;
      else chunks.push(c);
    });
    req.on('aborted', () => { count('Aborted'); });
    req.on('end', async () => {
      if (req.aborted || req.destroyed && !req.complete) return; // nothing half-written
      const op = opOf(req, url);
      count(op);
      const body = Buffer.concat(chunks);
      const declared = req.headers['content-length'];
      if (tooBig) return s3error(res, 400, 'EntityTooLarge', 'body over the test cap');
      if (declared !== undefined && Number(declared) !== body.length)
        return s3error(res, 400, 'IncompleteBody', 'body shorter than Content-Length');
      const fault = faults.find(f => f.count > 0 && (!f.op || f.op === op));
      if (fault) {
        fault.count--;
        count('Fault');
        if (fault.delay) await new Promise(r => setTimeout(r, fault.delay));
        if (fault.abandon && (req.socket.destroyed || res.destroyed)) {
          count('Abandoned');
          return;
        }
        if (fault.drop) return req.socket.destroy();
        if (fault.status) return s3error(res, fault.status, 'InternalError', 'injected fault');
      }
      const claimed = req.headers['x-amz-content-sha256'];
      const have = crypto.createHash('sha256').update(body).digest('hex');
      if (!claimed || claimed === 'UNSIGNED-PAYLOAD' || claimed.startsWith('STREAMING-'))
        return s3error(res, 400, 'InvalidRequest', 'x-amz-content-sha256 must be the body hash');
      if (claimed !== have)
        return s3error(res, 400, 'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.");
      const bad = checkSigV4(req, rawPath, rawQuery, claimed);
      if (bad) return s3error(res, 403, bad[0], bad[1]);
      if (op === 'AbortMultipartUpload') {
        const bucket = decodeURIComponent(rawPath.split('/')[1] || '');
        const id = url.searchParams.get('uploadId');
        if (!/^[0-9a-f]+$/.test(id || ''))
          return s3error(res, 404, 'NoSuchUpload', 'no such upload');
        const uploads = backend.store.getResourcePath(bucket, undefined, 'uploads');
        fs.rmSync(path.join(uploads, id), { recursive: true, force: true });
        res.writeHead(204);
        return res.end();
      }
      const headers = Object.assign({}, req.headers);
      headers['content-length'] = String(body.length);
      delete headers['transfer-encoding'];
      const fwd = http.request({ host: '127.0.0.1', port: backPort, method: req.method,
        path: req.url, headers }, up => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      });
      fwd.on('error', e => s3error(res, 502, 'InternalError', String(e)));
      fwd.end(body);
    });
  });
  front.listen(Number(portArg), '127.0.0.1', () => {
    process.stdout.write(`READY ${front.address().port}\n`);
  });
  const stop = () => { front.close(); backend.close().finally(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch(e => { console.error(e); process.exit(1); });
