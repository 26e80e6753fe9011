/**
 * What a failed server command means for the user. deepseek-lsp answers failures with JSON-RPC
 * errors: RequestCancelled (-32800) for a cancelled or superseded answer (`data.kind`
 * "cancelled" / "superseded"), RequestFailed (-32803) for API failures with an actionable
 * message, InvalidParams (-32602) for bad arguments. Pure, so it is unit-tested.
 */

export const REQUEST_CANCELLED = -32800;

export interface CommandFailure {
  /** Cancelled and superseded answers are not errors: no error notification for them. */
  cancelled: boolean;
  /** One line for the user, without a duplicated "DeepSeek:" prefix. */
  message: string;
}

export function describeFailure(error: unknown): CommandFailure {
  let message = 'unknown error';
  let code: unknown;
  let kind: unknown;
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; code?: unknown; data?: unknown };
    if (typeof e.message === 'string' && e.message.trim()) {
      message = e.message.trim();
    }
    code = e.code;
    if (e.data && typeof e.data === 'object') {
      kind = (e.data as { kind?: unknown }).kind;
    }
  } else if (typeof error === 'string' && error.trim()) {
    message = error.trim();
  }
  message = message.replace(/^DeepSeek:\s*/i, '').replace(/\.$/, '');
  const cancelled = code === REQUEST_CANCELLED || kind === 'cancelled' || kind === 'superseded';
  return { cancelled, message };
}
