// A diagnostic wiretap on a NATS store (BENCH_NATS_TAP=1): one extra connection subscribed to every subject
// (`>`) counts the messages SlimFaas exchanges with NATS, grouped by kind (JetStream API call, KV write by key
// family, acks by verb, queue publishes, notifications, replies). Divided by the requests of a run it gives the
// NATS round trips per request. The tap costs CPU itself (every message is copied to it): never use the
// throughput of a tapped run as a result, only its counts.
import { TextDecoder } from 'node:util';
import { connect } from '@nats-io/transport-node';

const decoder = new TextDecoder();

/** The group a subject (and, for acks, its payload) counts in. */
export function subjectKind(subject, data) {
  const t = subject.split('.');
  if (t[0] === '_INBOX') return 'reply (_INBOX)';
  if (t[0] === '$JS' && t[1] === 'API') {
    // $JS.API.STREAM.MSG.GET.<stream>, $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>, $JS.API.CONSUMER.INFO.<s>.<c>…
    const verb = t
      .slice(2)
      .filter((x) => /^[A-Z]+$/.test(x) && !x.startsWith('SLIMFAAS') && !x.startsWith('KV'));
    const stream = t.find((x) => x.startsWith('SLIMFAAS') || x.startsWith('KV_')) ?? '';
    return `$JS.API ${verb.join('.')} ${stream}`.trim();
  }
  if (t[0] === '$JS' && t[1] === 'ACK') return `ack ${decoder.decode(data).slice(0, 5) || '+ACK'}`;
  if (t[0] === '$KV') return `KV write ${t[1]} ${t[2]}`;
  if (t[0] === 'slimfaas' && t[1] === 'q') return 'queue publish (slimfaas.q)';
  if (t[0] === 'slimfaas' && t[1] === 'enqueued') return 'enqueue notification';
  return t.slice(0, 2).join('.');
}

/** Starts counting; `stop()` resolves with `{kind: count}` sorted by count. */
export async function startNatsTap(servers) {
  const nc = await connect({ servers, name: 'bench-tap' });
  const counts = new Map();
  nc.subscribe('>', {
    callback: (error, msg) => {
      if (error !== null) return;
      const kind = subjectKind(msg.subject, msg.data);
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    },
  });
  await nc.flush();
  return {
    async stop() {
      await nc.flush();
      await nc.close();
      return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
    },
  };
}
