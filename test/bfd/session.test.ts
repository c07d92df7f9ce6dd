import { describe, expect, it } from 'vitest';
import { controlPacket, Diag, State } from '../../src/bfd/codec.ts';
import { BfdSession, type SessionConfig } from '../../src/bfd/session.ts';
import { Sim } from './sim.ts';

function mk(disc: number, o: Partial<SessionConfig> = {}): BfdSession {
  let seed = disc * 7919;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return new BfdSession({
    localDiscriminator: disc,
    desiredMinTx: 100_000,
    requiredMinRx: 100_000,
    detectMult: 3,
    random,
    ...o,
  });
}

function up(sim: Sim, until = 5000): void {
  sim.start();
  sim.run(until);
  expect(sim.a.state).toBe(State.Up);
  expect(sim.b.state).toBe(State.Up);
}

describe('BFD session state machine (RFC 5880 §6.2, §6.8.6)', () => {
  it('RFC 5880 §6.2: three-way handshake Down -> Init -> Up on both sides', () => {
    const sim = new Sim(mk(1), mk(2));
    sim.start();
    sim.run(100);
    const seq = (side: 'a' | 'b') => sim.events.filter((e) => e.side === side).map((e) => e.state);
    expect(seq('a')).toEqual([State.Init, State.Up]);
    expect(seq('b')).toEqual([State.Init, State.Up]);
    expect(sim.a.remoteDiscriminator).toBe(2);
    expect(sim.b.remoteDiscriminator).toBe(1);
  });

  it('RFC 5880 §6.8.6: Down receiving Init goes straight Up', () => {
    const b = mk(2, { passive: true });
    const sim = new Sim(mk(1), b);
    sim.start();
    sim.run(100);
    expect(sim.events.filter((e) => e.side === 'a').map((e) => e.state)).toEqual([State.Up]);
    expect(sim.events.filter((e) => e.side === 'b').map((e) => e.state)).toEqual([
      State.Init,
      State.Up,
    ]);
  });

  it('RFC 5880 §6.8.3: packets go at least 1 s apart while not Up', () => {
    const a = mk(1);
    const sim = new Sim(a, mk(2));
    sim.cut.a = true;
    sim.cut.b = true; // nobody hears anybody: stays Down
    sim.start();
    sim.run(10_000);
    const times = sim.sent.filter((s) => s.from === 'a').map((s) => s.at);
    expect(times.length).toBeGreaterThan(8);
    for (let i = 1; i < times.length; i++)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(750);
    expect(sim.sent.every((s) => s.packet.desiredMinTx >= 1_000_000)).toBe(true);
  });

  it('RFC 5880 §6.8.4: detection time is remote Detect Mult x max(local RequiredMinRx, remote DesiredMinTx)', () => {
    const sim = new Sim(
      mk(1, { requiredMinRx: 50_000 }),
      mk(2, { desiredMinTx: 200_000, detectMult: 5 }),
    );
    up(sim);
    // a: remote mult 5 x max(50 ms, 200 ms) = 1000 ms
    expect(sim.a.detectionTimeMs()).toBe(1000);
    // b: remote mult 3 x max(100 ms, 100 ms) = 300 ms
    expect(sim.b.detectionTimeMs()).toBe(300);
  });

  it('RFC 5880 §6.8.4: silence for the detection time takes the session Down with diag 1', () => {
    const sim = new Sim(mk(1), mk(2));
    up(sim);
    const t0 = sim.now;
    sim.cut.b = true;
    sim.run(t0 + 2000);
    const down = sim.events.find((e) => e.side === 'a' && e.state === State.Down)!;
    expect(down.diag).toBe(Diag.ControlDetectionTimeExpired);
    expect(down.at - t0).toBeLessThanOrEqual(300 + 100);
    expect(sim.a.remoteDiscriminator).toBe(0); // §6.8.1
    // b hears a's Down and follows with diag 3 (neighbor signalled)
    const bDown = sim.events.find((e) => e.side === 'b' && e.state === State.Down)!;
    expect(bDown.diag).toBe(Diag.NeighborSignaledSessionDown);
  });

  it('RFC 5880 §6.8.6: a neighbour signalling Down takes an Up session Down with diag 3', () => {
    const a = mk(1);
    const sim = new Sim(a, mk(2));
    up(sim);
    const acts = a.receive(
      controlPacket({ state: State.Down, myDiscriminator: 2, yourDiscriminator: 1, diag: 1 }),
      sim.now,
    );
    const st = acts.find((x) => x.type === 'state');
    expect(st).toMatchObject({ state: State.Down, previous: State.Up, diag: 3, remoteDiag: 1 });
    // and tells the peer at once
    expect(acts.some((x) => x.type === 'send' && x.packet.state === State.Down)).toBe(true);
  });

  it('RFC 5880 §6.8.16: local AdminDown; the peer goes Down with diag 3 and stays Down', () => {
    const sim = new Sim(mk(1), mk(2));
    up(sim);
    sim.handle('a', sim.a.adminDown(sim.now));
    sim.run(sim.now + 3000);
    expect(sim.a.state).toBe(State.AdminDown);
    expect(sim.a.diag).toBe(Diag.AdministrativelyDown);
    expect(sim.b.state).toBe(State.Down);
    expect(sim.b.remoteState).toBe(State.AdminDown);
    const bDown = sim.events.find((e) => e.side === 'b' && e.state === State.Down)!;
    expect(bDown.diag).toBe(Diag.NeighborSignaledSessionDown);
    expect(bDown.remoteDiag).toBe(Diag.AdministrativelyDown);
    // admin up again: back to Up
    sim.handle('a', sim.a.adminUp(sim.now));
    sim.run(sim.now + 5000);
    expect(sim.a.state).toBe(State.Up);
    expect(sim.b.state).toBe(State.Up);
  });

  it('RFC 5880 §6.8.6: an AdminDown session ignores the peer; the peer going AdminDown is seen', () => {
    const sim = new Sim(mk(1), mk(2));
    up(sim);
    sim.handle('b', sim.b.adminDown(sim.now));
    sim.run(sim.now + 2000);
    expect(sim.a.state).toBe(State.Down);
    expect(sim.a.remoteState).toBe(State.AdminDown);
    // b in AdminDown does not come back up on its own
    sim.run(sim.now + 5000);
    expect(sim.b.state).toBe(State.AdminDown);
    expect(sim.a.state).toBe(State.Down);
  });

  it('RFC 5880 §6.8.3: coming Up starts a Poll; fast timers apply after the Final', () => {
    const sim = new Sim(mk(1), mk(2));
    sim.start();
    sim.run(100);
    // going Up switched the advertised TX from 1 s to 100 ms with P set
    const polls = sim.sent.filter((s) => s.packet.poll);
    expect(polls.length).toBeGreaterThan(0);
    expect(polls[0]!.packet.desiredMinTx).toBe(100_000);
    const finals = sim.sent.filter((s) => s.packet.final);
    expect(finals.length).toBeGreaterThan(0);
    expect(sim.sent.some((s) => s.packet.poll && s.packet.final)).toBe(false);
    expect(sim.a.polling).toBe(false);
    expect(sim.b.polling).toBe(false);
    expect(sim.a.transmitIntervalMs()).toBe(100);
  });

  it('RFC 5880 §6.8.3: a timer change while Up runs a Poll/Final sequence; slower TX waits for the Final', () => {
    const sim = new Sim(mk(1), mk(2), 20);
    up(sim);
    const before = sim.sent.length;
    sim.handle('a', sim.a.setTimers(sim.now, { desiredMinTx: 300_000 }));
    // the Poll is sent at once, with the new value, and the old interval stays in use
    const poll = sim.sent[before]!;
    expect(poll.from).toBe('a');
    expect(poll.packet.poll).toBe(true);
    expect(poll.packet.desiredMinTx).toBe(300_000);
    expect(sim.a.polling).toBe(true);
    expect(sim.a.usedMinTx).toBe(100_000);
    // b answers with a Final immediately (§6.5)
    sim.run(sim.now + 20);
    const fin = sim.sent.slice(before).find((s) => s.from === 'b' && s.packet.final)!;
    expect(fin.at - poll.at).toBe(20);
    sim.run(sim.now + 20);
    expect(sim.a.polling).toBe(false);
    expect(sim.a.usedMinTx).toBe(300_000);
    expect(sim.b.detectionTimeMs()).toBe(900);
    sim.run(sim.now + 5000);
    expect(sim.events.filter((e) => e.state === State.Down)).toEqual([]);
  });

  it('RFC 5880 §6.8.3: a Required Min RX change polls and the peer slows down', () => {
    const sim = new Sim(mk(1), mk(2));
    up(sim);
    sim.handle('a', sim.a.setTimers(sim.now, { requiredMinRx: 500_000 }));
    sim.run(sim.now + 3000);
    expect(sim.b.transmitIntervalMs()).toBe(500);
    expect(sim.a.detectionTimeMs()).toBe(1500);
    const t = sim.now;
    sim.run(t + 3000);
    const fromB = sim.sent.filter((s) => s.from === 'b' && s.at > t && !s.packet.final);
    expect(fromB.length).toBeLessThanOrEqual(7);
    expect(sim.events.filter((e) => e.state === State.Down)).toEqual([]);
  });

  it('RFC 5880 §6.8.7: jitter reduces the interval by 0-25%', () => {
    const s = mk(1);
    const sim = new Sim(s, mk(2));
    up(sim);
    const xs = Array.from({ length: 2000 }, () => s.jittered(100));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(75);
    expect(Math.max(...xs)).toBeLessThanOrEqual(100);
    expect(Math.min(...xs)).toBeLessThan(77);
    expect(Math.max(...xs)).toBeGreaterThan(98);
    // and periodic packets respect it
    const t = sim.now;
    sim.run(t + 5000);
    const times = sim.sent
      .filter((x) => x.from === 'a' && x.at > t && !x.packet.final)
      .map((x) => x.at);
    for (let i = 1; i < times.length; i++) {
      const d = times[i]! - times[i - 1]!;
      expect(d).toBeGreaterThanOrEqual(75);
      expect(d).toBeLessThanOrEqual(100);
    }
  });

  it('RFC 5880 §6.8.7: with Detect Mult 1 the reduction is 10-25%', () => {
    const s = mk(1, { detectMult: 1 });
    const xs = Array.from({ length: 2000 }, () => s.jittered(100));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(75);
    expect(Math.max(...xs)).toBeLessThanOrEqual(90);
  });

  it('RFC 5880 §6.8.7: a passive session sends nothing until it hears the peer', () => {
    const p = mk(1, { passive: true });
    expect(p.start(0)).toEqual([]);
    expect(p.nextDeadline()).toBe(Number.POSITIVE_INFINITY);
    const sim = new Sim(p, mk(2));
    sim.start();
    sim.run(3000);
    expect(p.state).toBe(State.Up);
  });

  it('RFC 5880 §6.8.7: no periodic packets when the peer asks for Required Min RX 0', () => {
    const a = mk(1);
    a.start(0);
    a.receive(controlPacket({ myDiscriminator: 2, requiredMinRx: 0 }), 1);
    expect(a.txAt).toBe(Number.POSITIVE_INFINITY);
  });

  it('RFC 5880 §6.5: a Poll is answered at once with Final, and no P with F', () => {
    const a = mk(1);
    a.start(0);
    const acts = a.receive(controlPacket({ myDiscriminator: 2, poll: true }), 5);
    const fin = acts.filter((x) => x.type === 'send' && x.packet.final);
    expect(fin.length).toBe(1);
    expect(fin[0]!.type === 'send' && fin[0]!.packet.poll).toBe(false);
  });

  it('RFC 5880 §6.8.6: a packet for another discriminator is rejected (no session)', () => {
    const a = mk(1);
    const acts = a.receive(controlPacket({ myDiscriminator: 2, yourDiscriminator: 99 }), 0);
    expect(acts).toEqual([expect.objectContaining({ type: 'reject', check: 'no-session' })]);
  });

  it('RFC 5880 §6.8.6: authentication present-mismatch and failure are rejected', () => {
    const auth = { type: 4 as const, keyId: 1, secret: new TextEncoder().encode('s') };
    const a = mk(1, { auth });
    const acts = a.receive(controlPacket({ myDiscriminator: 2 }), 0);
    expect(acts[0]).toMatchObject({ type: 'reject', check: 'auth-mismatch' });
    const sim = new Sim(
      mk(3, { auth }),
      mk(4, { auth: { ...auth, secret: new TextEncoder().encode('t') } }),
    );
    sim.start();
    sim.run(3000);
    expect(sim.a.state).toBe(State.Down);
    expect(sim.a.rejectCount).toBeGreaterThan(0);
  });

  it('RFC 5880 §6.7: sessions with matching meticulous SHA1 come Up and stay Up', () => {
    const auth = { type: 5 as const, keyId: 3, secret: new TextEncoder().encode('secret') };
    const sim = new Sim(mk(1, { auth }), mk(2, { auth }));
    up(sim);
    sim.run(sim.now + 5000);
    expect(sim.events.filter((e) => e.state === State.Down)).toEqual([]);
    expect(sim.a.rejectCount + sim.b.rejectCount).toBe(0);
  });
});

describe('BFD session: driver hooks and auth sequence memory', () => {
  it('RFC 5880 §6.7.1: bfd.AuthSeqKnown is forgotten after two detection times of silence', () => {
    const auth = { type: 3 as const, keyId: 1, secret: new TextEncoder().encode('k') };
    const sim = new Sim(mk(1, { auth }), mk(2, { auth }));
    up(sim);
    expect(sim.a.authState.seqKnown).toBe(true);
    // b restarts with a sequence far behind: accepted only after the silence
    sim.cut.b = true;
    sim.run(sim.now + 2000);
    sim.b.authState.xmitSeq = (sim.a.authState.rcvSeq - 1000) >>> 0;
    sim.cut.b = false;
    sim.run(sim.now + 5000);
    expect(sim.a.state).toBe(State.Up);
  });

  it('holdDetection postpones a due detection timeout but never brings it earlier', () => {
    const sim = new Sim(mk(1), mk(2));
    up(sim);
    const at = sim.a.detectAt;
    sim.a.holdDetection(at - 50);
    expect(sim.a.detectAt).toBe(at);
    sim.a.holdDetection(at + 100);
    expect(sim.a.detectAt).toBe(at + 100);
  });
});

describe('BFD session: Demand mode of the peer', () => {
  it('RFC 5880 §6.6, §6.8.7: periodic packets stop while the peer asks for Demand and both are Up', () => {
    const a = mk(1);
    const sim = new Sim(a, mk(2));
    up(sim);
    const acts = a.receive(
      controlPacket({ state: State.Up, myDiscriminator: 2, yourDiscriminator: 1, demand: true }),
      sim.now,
    );
    expect(acts.filter((x) => x.type === 'send')).toEqual([]);
    expect(a.txAt).toBe(Number.POSITIVE_INFINITY);
    // a Poll is still answered with a Final (§6.6)
    const fin = a.receive(
      controlPacket({
        state: State.Up,
        myDiscriminator: 2,
        yourDiscriminator: 1,
        demand: true,
        poll: true,
      }),
      sim.now,
    );
    expect(fin.some((x) => x.type === 'send' && x.packet.final)).toBe(true);
    // the peer leaves Demand mode: periodic sending resumes
    a.receive(
      controlPacket({ state: State.Up, myDiscriminator: 2, yourDiscriminator: 1 }),
      sim.now,
    );
    expect(a.txAt).toBeLessThan(Number.POSITIVE_INFINITY);
  });
});
