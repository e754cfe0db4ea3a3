// The shop's JSON API. Tokens live in localStorage; an expired access token is
// refreshed once with the refresh token, then the request is retried.

const KEY = 'shop.tokens';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `request failed (${status})`);
    this.status = status;
    this.code = body?.code;
    this.details = body?.details;
  }
}

export const tokens = {
  get: () => JSON.parse(localStorage.getItem(KEY) ?? 'null'),
  set: (pair) =>
    localStorage.setItem(
      KEY,
      JSON.stringify({ accessToken: pair.accessToken, refreshToken: pair.refreshToken }),
    ),
  clear: () => localStorage.removeItem(KEY),
};

async function send(method, path, body, accessToken) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : undefined;
  return { res, data };
}

let refreshing;
async function refresh() {
  const current = tokens.get();
  if (!current?.refreshToken) return false;
  refreshing ??= send('POST', '/api/users/refresh', { refreshToken: current.refreshToken })
    .then(({ res, data }) => {
      if (!res.ok) {
        tokens.clear();
        return false;
      }
      tokens.set(data);
      return true;
    })
    .finally(() => (refreshing = undefined));
  return refreshing;
}

export async function api(method, path, body) {
  let { res, data } = await send(method, path, body, tokens.get()?.accessToken);
  if (
    res.status === 401 &&
    tokens.get() &&
    !path.startsWith('/api/users/login') &&
    (await refresh())
  ) {
    ({ res, data } = await send(method, path, body, tokens.get()?.accessToken));
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const signedIn = () => tokens.get() !== null;
