// The signing code against the worked examples the providers publish.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aliyunCanonicalQuery,
  aliyunPercentEncode,
  aliyunSignature,
  aliyunStringToSign,
} from '../../src/sms/aliyun-sign.js';
import {
  tc3Authorization,
  tc3CanonicalRequest,
  tc3Signature,
  tc3StringToSign,
} from '../../src/sms/tencent-sign.js';
import { rfc3986 } from './fake-provider.js';

describe('Alibaba Cloud RPC signature', () => {
  // The DescribeRegions example of Alibaba Cloud's "Signature mechanism" page
  // (AccessKeySecret "testsecret", GET).
  const params = {
    AccessKeyId: 'testid',
    Action: 'DescribeRegions',
    Format: 'XML',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
    SignatureVersion: '1.0',
    Timestamp: '2016-02-23T12:46:24Z',
    Version: '2014-05-26',
  };

  it('matches the published string to sign and signature', () => {
    expect(aliyunStringToSign('GET', params)).toBe(
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML' +
        '%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf' +
        '%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26',
    );
    expect(aliyunSignature('GET', params, 'testsecret')).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });

  it('ignores a Signature parameter and sorts by name', () => {
    const shuffled = Object.fromEntries([...Object.entries(params).reverse(), ['Signature', 'x']]);
    expect(aliyunCanonicalQuery(shuffled)).toBe(aliyunCanonicalQuery(params));
  });

  it('percent-encodes exactly as RFC 3986 (space %20, * %2A, ~ kept)', () => {
    expect(aliyunPercentEncode('a b*c~d/é+')).toBe('a%20b%2Ac~d%2F%C3%A9%2B');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        expect(aliyunPercentEncode(s)).toBe(rfc3986(s));
      }),
    );
  });
});

describe('Tencent Cloud TC3-HMAC-SHA256', () => {
  // The DescribeInstances example of Tencent Cloud's "Signature v3" page: timestamp
  // 1551113065, service cvm, the published (masked) SecretKey, content-type;host signed.
  const payload = String.raw`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`;
  const request = {
    method: 'POST',
    uri: '/',
    query: '',
    headers: { 'Content-Type': 'application/json; charset=utf-8', Host: 'cvm.tencentcloudapi.com' },
    payload,
  };

  it('matches the published canonical request, string to sign and signature', () => {
    const { canonical, signedHeaders } = tc3CanonicalRequest(request);
    expect(signedHeaders).toBe('content-type;host');
    expect(canonical).toBe(
      'POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n' +
        'content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064',
    );
    const stringToSign = tc3StringToSign(canonical, 1551113065, 'cvm');
    expect(stringToSign).toBe(
      'TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n' +
        '5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031',
    );
    expect(tc3Signature('Gu5t9xGARNpq86cd98joQYCN3*******', stringToSign, 1551113065, 'cvm')).toBe(
      '2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c',
    );
    expect(
      tc3Authorization(
        request,
        {
          secretId: 'AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******',
          secretKey: 'Gu5t9xGARNpq86cd98joQYCN3*******',
        },
        1551113065,
        'cvm',
      ),
    ).toBe(
      'TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, ' +
        'SignedHeaders=content-type;host, Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c',
    );
  });
});
