import { getConfig } from "../config";
import type { Problem } from "./types";

/** An API refusal (problem+json) or a failure to reach the API (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly problem: Problem;
  readonly retryAfter: number | null;

  constructor(status: number, problem: Problem, retryAfter: number | null = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = problem.code ?? (status === 0 ? "NETWORK_ERROR" : `HTTP_${status}`);
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  get detail(): string {
    return this.message;
  }
}

/** What to show a person for any error: the problem's `detail` when there is one. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

/** The bearer token for a request (it may have to be renewed first, hence the promise). */
type TokenSource = () => string | null | Promise<string | null>;
let tokenSource: TokenSource = () => null;
let unauthorizedHandler: () => void = () => {};

/** The auth module tells the client where the bearer token comes from. */
export function setTokenSource(source: TokenSource): void {
  tokenSource = source;
}

/** Called when a request that carried a token is answered 401. */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

export type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];

export function queryString(params: Record<string, QueryValue>): string {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) for (const v of value) qs.append(key, String(v));
    else qs.append(key, String(value));
  }
  const s = qs.toString();
  return s ? `?${s}` : "";
}

export type RequestOptions = {
  body?: unknown;
  auth?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

export async function apiRequest<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json, application/problem+json", ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const source = options.auth ? tokenSource() : null;
  // Only a renewal waits: a token at hand goes out in the same task.
  const token = source instanceof Promise ? await source : source;
  if (options.auth) {
    if (!token) {
      unauthorizedHandler();
      throw new ApiError(401, { code: "UNAUTHORIZED", title: "Unauthorized", detail: "Please sign in." });
    }
    headers.authorization = `Bearer ${token}`;
  }

  let res: Response;
  try {
    res = await fetch(`${getConfig().apiUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, {
      code: "NETWORK_ERROR",
      title: "Network error",
      detail: "Could not reach the shop. Check your connection and try again.",
    });
  }

  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const problem: Problem =
      data && typeof data === "object" ? (data as Problem) : { title: res.statusText, detail: `The shop answered ${res.status}.` };
    const retryAfterHeader = res.headers.get("retry-after");
    const retryAfter = retryAfterHeader && /^\d+$/.test(retryAfterHeader) ? Number(retryAfterHeader) : null;
    if (res.status === 401 && options.auth) unauthorizedHandler();
    throw new ApiError(res.status, { status: res.status, ...problem }, retryAfter);
  }
  return data as T;
}
