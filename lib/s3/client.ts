/**
 * A small S3 client over node:http(s) and our SigV4 signer (sigv4.ts): list a prefix
 * (ListObjectsV2, following continuation tokens), get an object as a stream (optionally only if
 * its ETag is still the one listed), put and delete (what tests and fixtures need). Any S3 API:
 * path-style addressing for S3Proxy and MinIO, virtual-hosted for AWS (S3_PATH_STYLE).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createHash } from 'node:crypto';

import type { Config } from '../config/index.ts';
import { ShopflowError } from '../errors.ts';
import { EMPTY_SHA256, encodeS3Path, canonicalQuery, signRequest, UNSIGNED_PAYLOAD, type Credentials } from './sigv4.ts';

export interface S3Settings extends Credentials {
  endpoint: string;
  pathStyle: boolean;
}

export function s3Settings(config: Config): S3Settings {
  return {
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    pathStyle: config.S3_PATH_STYLE,
  };
}

export interface S3Object {
  key: string;
  size: number;
  /** As S3 sends it, quotes removed: an MD5 of the bytes for a simple upload, not for a multipart one. */
  etag: string;
}

/** An S3 error answer: its HTTP status and S3 error code (NoSuchBucket, AccessDenied, PreconditionFailed, ...). */
export class S3RequestError extends ShopflowError {
  constructor(
    readonly status: number,
    readonly s3Code: string,
    message: string,
  ) {
    super('S3_REQUEST_FAILED', message, { canRetry: status >= 500 });
  }
}

const TIMEOUT_MS = 30_000;
const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function xmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_m, entity: string) =>
    entity.startsWith('#x')
      ? String.fromCodePoint(parseInt(entity.slice(2), 16))
      : entity.startsWith('#')
        ? String.fromCodePoint(Number(entity.slice(1)))
        : XML_ENTITIES[entity]!,
  );
}

const element = (xml: string, name: string) => {
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return match ? xmlText(match[1]!) : undefined;
};

export const stripQuotes = (etag: string) => etag.replace(/^"|"$/g, '');

export class S3Client {
  private readonly base: URL;

  constructor(private readonly settings: S3Settings) {
    this.base = new URL(settings.endpoint);
  }

  /** Every object whose key starts with `prefix`, in key order, fetched `pageSize` at a time (S3's default: 1000). */
  async *list(bucket: string, prefix: string, options: { pageSize?: number } = {}): AsyncGenerator<S3Object> {
    let token: string | undefined;
    do {
      const query: Record<string, string> = { 'list-type': '2', prefix };
      if (options.pageSize !== undefined) query['max-keys'] = String(options.pageSize);
      if (token !== undefined) query['continuation-token'] = token;
      const body = await this.text(await this.send('GET', bucket, '', query, {}), bucket, '');
      for (const match of body.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const xml = match[1]!;
        yield { key: element(xml, 'Key') ?? '', size: Number(element(xml, 'Size') ?? 0), etag: stripQuotes(element(xml, 'ETag') ?? '') };
      }
      token = element(body, 'IsTruncated') === 'true' ? element(body, 'NextContinuationToken') : undefined;
    } while (token !== undefined);
  }

  /** The object's bytes as a stream; with `ifMatch`, a PreconditionFailed (412) error if its ETag changed since. */
  async get(bucket: string, key: string, options: { ifMatch?: string } = {}): Promise<IncomingMessage> {
    const headers: Record<string, string> = {};
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    const response = await this.send('GET', bucket, key, {}, headers);
    if (response.statusCode !== 200) throw await this.failure(response, bucket, key);
    return response;
  }

  async put(bucket: string, key: string, body: Buffer): Promise<string> {
    const response = await this.send('PUT', bucket, key, {}, {}, body);
    if (response.statusCode !== 200) throw await this.failure(response, bucket, key);
    response.resume();
    return stripQuotes(String(response.headers.etag ?? ''));
  }

  async delete(bucket: string, key: string): Promise<void> {
    const response = await this.send('DELETE', bucket, key, {}, {});
    if (response.statusCode !== 204 && response.statusCode !== 200) throw await this.failure(response, bucket, key);
    response.resume();
  }

  private async text(response: IncomingMessage, bucket: string, key: string): Promise<string> {
    if (response.statusCode !== 200) throw await this.failure(response, bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  private async failure(response: IncomingMessage, bucket: string, key: string): Promise<S3RequestError> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      if (size < 65536) chunks.push(chunk);
      size += chunk.length;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const status = response.statusCode ?? 0;
    const code = element(body, 'Code') ?? (status === 412 ? 'PreconditionFailed' : status === 404 ? 'NotFound' : `HTTP${status}`);
    const message = element(body, 'Message') ?? '';
    return new S3RequestError(
      status,
      code,
      `S3 ${code} (HTTP ${status}) for s3://${bucket}/${key} at ${this.settings.endpoint}${message ? `: ${message}` : ''}`,
    );
  }

  private send(
    method: string,
    bucket: string,
    key: string,
    query: Record<string, string>,
    headers: Record<string, string>,
    body?: Buffer,
  ): Promise<IncomingMessage> {
    const host = this.settings.pathStyle ? this.base.host : `${bucket}.${this.base.host}`;
    const basePath = this.base.pathname.replace(/\/$/, '');
    const path = encodeS3Path(`${basePath}${this.settings.pathStyle ? `/${bucket}` : ''}/${key}`);
    const payloadSha256 = body ? createHash('sha256').update(body).digest('hex') : method === 'GET' ? UNSIGNED_PAYLOAD : EMPTY_SHA256;
    const signed = signRequest({ method, path, query, headers, host, payloadSha256 }, this.settings, new Date());
    const search = canonicalQuery(query);
    const send = this.base.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        {
          protocol: this.base.protocol,
          hostname: this.settings.pathStyle ? this.base.hostname : `${bucket}.${this.base.hostname}`,
          port: this.base.port || undefined,
          method,
          path: search ? `${path}?${search}` : path,
          headers: { ...headers, ...signed, host, ...(body ? { 'content-length': String(body.length) } : {}) },
          timeout: TIMEOUT_MS,
        },
        resolve,
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
      req.on('error', (error) =>
        reject(
          new ShopflowError(
            'S3_UNREACHABLE',
            `S3 endpoint ${this.settings.endpoint} did not answer ${method} s3://${bucket}/${key}: ${error.message}`,
            {
              cause: error,
              canRetry: true,
            },
          ),
        ),
      );
      req.end(body);
    });
  }
}
