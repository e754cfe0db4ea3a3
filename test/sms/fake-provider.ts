// A local HTTP server standing in for a provider: it records each request and answers
// with whatever the test's handler says. Signature checks live in the tests, written
// from the providers' docs independently of src/sms.
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface FakeAnswer {
  readonly status?: number;
  readonly body?: unknown;
  /** Never answer (for timeout tests). */
  readonly hang?: boolean;
}

export interface FakeProvider {
  readonly url: string;
  readonly requests: RecordedRequest[];
  handler: (request: RecordedRequest) => FakeAnswer;
  close(): Promise<void>;
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const requests: RecordedRequest[] = [];
  const hanging = new Set<() => void>();
  const fake: FakeProvider = {
    url: '',
    requests,
    handler: () => ({ status: 200, body: {} }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const release of hanging) release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const answer = fake.handler(recorded);
      if (answer.hang) {
        hanging.add(() => res.destroy());
        return;
      }
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(fake, { url: `http://127.0.0.1:${port}/` });
  return fake;
}

// ---- Alibaba Cloud RPC signature, as its "Signature mechanism" page defines it ----

/** RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay as they are. */
export function rfc3986(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Recompute the signature of received form parameters with `secret`. */
export function expectedAliyunSignature(
  method: string,
  params: Map<string, string>,
  secret: string,
): string {
  const names = [...params.keys()].filter((k) => k !== 'Signature').sort();
  const canonical = names.map((k) => `${rfc3986(k)}=${rfc3986(params.get(k) as string)}`).join('&');
  const stringToSign = `${method}&${rfc3986('/')}&${rfc3986(canonical)}`;
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}

/** Form body -> parameters (values percent-decoded; `+` is not a space in Aliyun's encoding). */
export function parseForm(body: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const pair of body.split('&')) {
    const [k, v = ''] = pair.split('=') as [string, string?];
    params.set(decodeURIComponent(k), decodeURIComponent(v));
  }
  return params;
}

// ---- Tencent Cloud TC3-HMAC-SHA256, as its "Signature v3" page defines it ----

const hmac256 = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data).digest();
const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');

/** Check a received request's Authorization header; returns the problem or undefined. */
export function checkTc3(
  request: RecordedRequest,
  secretId: string,
  secretKey: string,
): string | undefined {
  const auth = String(request.headers.authorization ?? '');
  const match =
    /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([a-z]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (match === null) return `malformed authorization: ${auth}`;
  const [, id, date, service, signedHeaders, signature] = match as unknown as string[];
  if (id !== secretId) return 'wrong SecretId';
  const timestamp = Number(request.headers['x-tc-timestamp']);
  if (new Date(timestamp * 1000).toISOString().slice(0, 10) !== date)
    return 'date does not match timestamp';
  const names = (signedHeaders as string).split(';');
  if (!names.includes('content-type') || !names.includes('host'))
    return 'content-type and host must be signed';
  const canonicalHeaders = names
    .map(
      (n) =>
        `${n}:${String(request.headers[n] ?? '')
          .trim()
          .toLowerCase()}\n`,
    )
    .join('');
  const [path, query = ''] = request.url.split('?') as [string, string?];
  const canonicalRequest = [
    request.method,
    path,
    query,
    canonicalHeaders,
    signedHeaders,
    sha256(request.body),
  ].join('\n');
  const stringToSign = [
    'TC3-HMAC-SHA256',
    String(timestamp),
    `${date}/${service}/tc3_request`,
    sha256(canonicalRequest),
  ].join('\n');
  const key = hmac256(
    hmac256(hmac256(`TC3${secretKey}`, date as string), service as string),
    'tc3_request',
  );
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === signature ? undefined : 'signature mismatch';
}
