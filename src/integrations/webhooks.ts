import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import {
  guardedLookup,
  OutboundRefused,
  outboundUrlProblem,
  type OutboundPolicy,
  type Resolver,
} from './outbound-guard.ts';

/** How long one delivery may take, connect to status line. */
export const DELIVERY_TIMEOUT_MS = 10_000;
const ERROR_MAX = 500;

/**
 * The Standard Webhooks headers for one message. Signed by the `standardwebhooks` package
 * (the spec's own reference library): HMAC-SHA256 over `id.timestamp.body` with the
 * base64 key of a `whsec_` secret, as `v1,<base64>`.
 */
export function signatureHeaders(
  secret: string,
  messageId: string,
  at: Date,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(messageId, at, body),
  };
}

export interface PostOutcome {
  /** delivered: a 2xx answer. failed: anything else, worth retrying. refused: the
   *  destination is not public (retrying will not change that). */
  outcome: 'delivered' | 'failed' | 'refused';
  responseStatus: number | null;
  error: string | null;
}

const cut = (text: string) =>
  text.length <= ERROR_MAX ? text : `${text.slice(0, ERROR_MAX - 1)}…`;

/**
 * POSTs one webhook body. Never inside a database transaction. Redirects are not followed
 * (a 3xx is a failure), the response body is not read, the whole call is bounded by
 * `timeoutMs`, and the destination must pass the outbound guard both as written and after
 * DNS resolution (the socket connects to the address that was checked). Resolves with the
 * outcome; never throws for the remote side's failures.
 */
export function postWebhook(req: {
  url: string;
  body: string;
  headers: Record<string, string>;
  policy: OutboundPolicy;
  timeoutMs?: number;
  /** Name resolution (node:dns by default). */
  resolve?: Resolver;
}): Promise<PostOutcome> {
  const problem = outboundUrlProblem(req.url, req.policy);
  if (problem !== null)
    return Promise.resolve({
      outcome: 'refused',
      responseStatus: null,
      error: `refused: the URL ${problem}`,
    });
  const url = new URL(req.url);
  const timeoutMs = req.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const call = send(
      url,
      {
        method: 'POST',
        // A fresh connection per delivery: no socket pooled across destinations or checks.
        agent: false,
        lookup: guardedLookup(req.policy, req.resolve),
        headers: {
          ...req.headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(req.body)),
          'user-agent': 'Gatehouse-Webhooks/1',
        },
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        // Only the status matters: drop the body and the connection.
        res.destroy();
        call.destroy();
        if (status >= 200 && status < 300) {
          finish({ outcome: 'delivered', responseStatus: status, error: null });
        } else {
          const why =
            status >= 300 && status < 400
              ? `answered ${status} (redirects are not followed)`
              : `answered ${status}`;
          finish({ outcome: 'failed', responseStatus: status, error: why });
        }
      },
    );
    const timer = setTimeout(() => {
      finish({
        outcome: 'failed',
        responseStatus: null,
        error: `no answer within ${timeoutMs / 1000} s`,
      });
      call.destroy();
    }, timeoutMs);
    call.on('error', (err: Error) => {
      if (err instanceof OutboundRefused)
        finish({ outcome: 'refused', responseStatus: null, error: cut(err.message) });
      else {
        const code = (err as NodeJS.ErrnoException).code;
        finish({
          outcome: 'failed',
          responseStatus: null,
          error: cut(code === undefined ? err.message : `${code}: ${err.message}`),
        });
      }
    });
    call.end(req.body);
  });
}
