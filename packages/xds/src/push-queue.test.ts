import { describe, expect, it } from 'vitest';
import { PushQueue } from './push-queue.js';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('PushQueue', () => {
  it('sends one connection per event-loop turn, in order, merging names queued before the turn', async () => {
    const sent: string[] = [];
    let drains = 0;
    const q = new PushQueue<string>(
      (c, typeUrl, names) => sent.push(`${c}:${typeUrl}:${names.join(',')}`),
      () => drains++,
      () => {},
    );
    q.add('a', 'T1', ['x', 'y']);
    q.add('b', 'T1', ['x', 'y']);
    q.add('a', 'T2', ['p']);
    q.add('a', 'T1', ['y', 'z']);
    expect(sent).toEqual([]); // nothing in the caller's turn
    expect(q.size).toBe(2);
    await turn();
    expect(sent).toEqual(['a:T1:x,y,z', 'a:T2:p']);
    await turn();
    expect(sent).toEqual(['a:T1:x,y,z', 'a:T2:p', 'b:T1:x,y']);
    expect(q.size).toBe(0);
    expect(drains).toBe(2);
  });

  it('forgets closed connections and everything on clear', async () => {
    const sent: string[] = [];
    const q = new PushQueue<string>(
      (c) => sent.push(c),
      () => {},
      () => {},
    );
    q.add('a', 'T', ['x']);
    q.add('b', 'T', ['x']);
    q.delete('a');
    await turn();
    expect(sent).toEqual(['b']);
    q.add('c', 'T', ['x']);
    q.clear();
    await turn();
    await turn();
    expect(sent).toEqual(['b']);
  });

  it('reports a send that throws and keeps going', async () => {
    const sent: string[] = [];
    const failed: string[] = [];
    const q = new PushQueue<string>(
      (c) => {
        if (c === 'bad') throw new Error('boom');
        sent.push(c);
      },
      () => {},
      (c, err) => failed.push(`${c}: ${(err as Error).message}`),
    );
    q.add('bad', 'T', ['x']);
    q.add('good', 'T', ['x']);
    await turn();
    await turn();
    expect(failed).toEqual(['bad: boom']);
    expect(sent).toEqual(['good']);
  });

  it('tells when everything queued has been sent', async () => {
    const sent: string[] = [];
    const q = new PushQueue<string>(
      (c) => sent.push(c),
      () => {},
      () => {},
    );
    await q.whenSent(); // nothing queued: resolves at once
    q.add('a', 'T', ['x']);
    q.add('b', 'T', ['x']);
    await q.whenSent();
    expect(sent).toEqual(['a', 'b']);
  });
});
