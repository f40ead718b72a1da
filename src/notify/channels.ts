/**
 * Delivery of a login notification: a webhook POST and local mail through sendmail. Each
 * resolves on delivery and rejects with a reason; the caller's AbortSignal ends either at
 * the deadline. (The journald record is the third channel; see notify-login.)
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SYSTEM_PATH } from '../platform/os';

/** exec.ts's fixed PATH, repeated so that this login-path module does not load execa. */

/** POSTs a JSON body; 2xx is success. Redirects are not followed (the URL is the one configured). */
export function postWebhook(url: string, body: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(u, {
      method: 'POST',
      signal,
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'User-Agent': 'iam-ssh' },
    }, (res) => {
      res.resume(); // the answer's body is not needed
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(status);
        else reject(new Error(`HTTP ${status}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Hands a complete message to the local MTA: `sendmail -oi -- recipients...`, message on
 * stdin. Program and recipients come from the validated config; no shell is involved (the
 * plain spawn keeps this path, which runs in every login, free of larger modules).
 */
export function sendMail(program: string, recipients: readonly string[], message: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['-oi', '--', ...recipients], {
      stdio: ['pipe', 'ignore', 'pipe'], shell: false, signal, env: { PATH: SYSTEM_PATH, LC_ALL: 'C' },
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-500)));
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(new Error(`${program} ${sig ? `killed by ${sig}` : `exited ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
    child.stdin!.on('error', () => {}); // an MTA that exits without reading
    child.stdin!.end(message);
  });
}
