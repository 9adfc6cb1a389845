// One fetch wrapper: same-origin cookies, the CSRF header on every change, errors as ApiError.

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly field: string | null

  constructor(status: number, code: string, message: string, field: string | null = null) {
    super(message)
    this.status = status
    this.code = code
    this.field = field
  }
}

type Query = Record<string, string | number | boolean | (string | number)[] | null | undefined>

let csrfToken = ''
let onUnauthorized: (error: ApiError) => void = () => {}

/** The token the session response gave; sent as X-CSRF-Token on every non-GET. */
export function setCsrfToken(token: string): void {
  csrfToken = token
}

/** What to do when any request comes back 401 (the router sends the user to sign-in). */
export function setUnauthorizedHandler(handler: (error: ApiError) => void): void {
  onUnauthorized = handler
}

/** A query string from filters: empty values left out, arrays repeated (?status=a&status=b). */
export function toSearch(query: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === '') continue
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)))
    else params.append(key, String(value))
  }
  const text = params.toString()
  return text ? `?${text}` : ''
}

/** The Chinese message an error body carries; pydantic's 422 lists become one line. */
function messageOf(status: number, body: unknown): { code: string; detail: string; field: string | null } {
  const fallback = status >= 500 ? '服务器出错，请稍后重试或联系管理员' : `请求失败（${status}）`
  if (!body || typeof body !== 'object') return { code: 'http_' + status, detail: fallback, field: null }
  const b = body as { detail?: unknown; code?: unknown; field?: unknown }
  const code = typeof b.code === 'string' ? b.code : 'http_' + status
  const field = typeof b.field === 'string' ? b.field : null
  if (typeof b.detail === 'string') return { code, detail: b.detail, field }
  if (Array.isArray(b.detail)) {
    const parts = b.detail.map((e: { loc?: unknown[]; msg?: string }) => {
      const where = (e.loc ?? []).filter((p) => p !== 'body').join('.')
      return where ? `${where}：${e.msg ?? ''}` : String(e.msg ?? '')
    })
    return { code, detail: `填写有误：${parts.join('；')}`, field }
  }
  return { code, detail: fallback, field }
}

export async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; quiet401?: boolean } = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken
  let response: Response
  try {
    response = await fetch(`/api/v1${path}${options.query ? toSearch(options.query) : ''}`, {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    })
  } catch {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试')
  }
  if (response.status === 204) return undefined as T
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    body = null
  }
  if (!response.ok) {
    const { code, detail, field } = messageOf(response.status, body)
    const error = new ApiError(response.status, code, detail, field)
    if (response.status === 401 && !options.quiet401) onUnauthorized(error)
    throw error
  }
  return body as T
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', path, { query }),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, { body }),
  del: <T>(path: string) => request<T>('DELETE', path),
  put: <T>(path: string, body: unknown = {}) => request<T>('PUT', path, { body }),
  patch: <T>(path: string, body: unknown = {}) => request<T>('PATCH', path, { body }),
}
