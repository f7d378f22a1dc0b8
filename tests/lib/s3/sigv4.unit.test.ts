import { describe, expect, it } from 'vitest';

import { canonicalQuery, EMPTY_SHA256, encodeS3Path, signRequest, uriEncode } from '../../../lib/s3/sigv4.ts';

const EXAMPLE = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'us-east-1' };

describe('SigV4 signing', () => {
  it("gives AWS's published signature for its GET Object example (a Range header, an empty payload)", () => {
    const signed = signRequest(
      {
        method: 'GET',
        path: '/test.txt',
        query: {},
        headers: { Range: 'bytes=0-9' },
        host: 'examplebucket.s3.amazonaws.com',
        payloadSha256: EMPTY_SHA256,
      },
      EXAMPLE,
      new Date('2013-05-24T00:00:00Z'),
    );
    expect(signed).toEqual({
      'x-amz-date': '20130524T000000Z',
      'x-amz-content-sha256': EMPTY_SHA256,
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    });
  });

  it('encodes paths once with slashes kept, and queries sorted with every reserved byte escaped', () => {
    expect(encodeS3Path('/bucket/a b/ü+x~y.csv')).toBe('/bucket/a%20b/%C3%BC%2Bx~y.csv');
    expect(uriEncode('a/b=c&d')).toBe('a%2Fb%3Dc%26d');
    expect(canonicalQuery({ prefix: 'in/2026 ', 'list-type': '2', 'continuation-token': 'x+/=' })).toBe(
      'continuation-token=x%2B%2F%3D&list-type=2&prefix=in%2F2026%20',
    );
  });
});
