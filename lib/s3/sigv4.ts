/**
 * AWS Signature Version 4 for S3 requests (header-based, the payload's SHA-256 or
 * UNSIGNED-PAYLOAD in x-amz-content-sha256). Small on purpose: the file ingestor needs three
 * calls (list, get, put for its tests) against any S3 API (AWS, S3Proxy, R2, MinIO), and the
 * official SDK is a large tree of packages for that. Verified against AWS's published example
 * (tests/lib/s3/sigv4.unit.test.ts) and against S3Proxy, which checks every signature.
 */
import { createHash, createHmac } from 'node:crypto';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface RequestToSign {
  method: string;
  /** Already encoded as it goes on the wire: encodeS3Path() of the path, canonical query built from `query`. */
  path: string;
  query: Record<string, string>;
  /** Headers to sign besides host, x-amz-date and x-amz-content-sha256 (e.g. range); names any case. */
  headers: Record<string, string>;
  host: string;
  payloadSha256: string;
}

/** RFC 3986 encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - . _ ~ as %XX (upper case). */
export function uriEncode(text: string, keepSlash = false): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** An object path (`/bucket/key` or `/key`) encoded once, slashes kept: S3 does not double-encode. */
export function encodeS3Path(path: string): string {
  return uriEncode(path, true);
}

export function canonicalQuery(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** `YYYYMMDDTHHMMSSZ` */
export function amzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/**
 * The headers that make `request` signed at `at`: x-amz-date, x-amz-content-sha256 and
 * Authorization (host is the caller's to send; it is signed).
 */
export function signRequest(request: RequestToSign, credentials: Credentials, at: Date): Record<string, string> {
  const date = amzDate(at);
  const day = date.slice(0, 8);
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) headers.set(name.toLowerCase(), value.trim().replace(/\s+/g, ' '));
  headers.set('host', request.host);
  headers.set('x-amz-date', date);
  headers.set('x-amz-content-sha256', request.payloadSha256);
  const names = [...headers.keys()].sort();
  const canonical = [
    request.method,
    request.path,
    canonicalQuery(request.query),
    ...names.map((n) => `${n}:${headers.get(n)}`),
    '',
    names.join(';'),
    request.payloadSha256,
  ].join('\n');
  const scope = `${day}/${credentials.region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), credentials.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    'x-amz-date': date,
    'x-amz-content-sha256': request.payloadSha256,
    authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope},SignedHeaders=${names.join(';')},Signature=${signature}`,
  };
}
