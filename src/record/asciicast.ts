/**
 * A verified session as asciicast v2 (asciinema's format: a header line, then one JSON array
 * per event, [seconds, "o" | "i" | "m", text]), and as timed output for playback. Pure.
 */
import { decodeData, type Stream } from './wire';
import type { VerifiedSession } from './verify';

export interface TimedEvent { t: number; kind: 'o' | 'i' | 'm'; text: string }

/** Events in sequence order; bytes decoded as UTF-8 per stream, a sequence split over two records kept whole. */
export function sessionEvents(s: VerifiedSession): TimedEvent[] {
  const decoders: Record<Stream, InstanceType<typeof TextDecoder>> = { i: new TextDecoder('utf-8'), o: new TextDecoder('utf-8'), e: new TextDecoder('utf-8') };
  const out: TimedEvent[] = [];
  for (const r of s.records) {
    const t = r.t / 1000;
    if (r.k === 'gap') {
      out.push({ t, kind: 'm', text: `gap: ${r.lost.i + r.lost.o + r.lost.e} bytes not recorded` });
      continue;
    }
    const text = decoders[r.k].decode(decodeData(r), { stream: true });
    if (text === '') continue;
    // stderr of a command without a terminal is shown as output.
    out.push({ t, kind: r.k === 'i' ? 'i' : 'o', text });
  }
  return out;
}

export function asciicast(s: VerifiedSession, withInput = true): string {
  const start = s.start;
  const header: Record<string, unknown> = {
    version: 2,
    width: start?.cols ?? 80,
    height: start?.rows ?? 24,
    timestamp: Math.floor(s.realtimeUs / 1e6),
    title: start ? `${start.user}${start.iamUser ? ` (${start.iamUser})` : ''} ${start.cmd ?? 'login shell'} [${s.sid}]` : s.sid,
  };
  if (start?.term) header.env = { TERM: start.term };
  if (s.end) header.duration = s.end.t / 1000;
  const lines = [JSON.stringify(header)];
  for (const e of sessionEvents(s)) {
    if (e.kind === 'i' && !withInput) continue;
    lines.push(JSON.stringify([Number(e.t.toFixed(6)), e.kind, e.text]));
  }
  return lines.join('\n') + '\n';
}

/** Sleeps between output events for playback at `speed` times real time, each capped at `maxIdle` seconds. */
export function playbackDelays(events: TimedEvent[], speed: number, maxIdle: number): { delayMs: number; text: string }[] {
  const out: { delayMs: number; text: string }[] = [];
  let last = 0;
  for (const e of events) {
    if (e.kind !== 'o') continue;
    const idle = Math.min(Math.max(0, e.t - last), maxIdle);
    out.push({ delayMs: (idle * 1000) / speed, text: e.text });
    last = e.t;
  }
  return out;
}
