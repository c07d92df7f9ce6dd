// Output: changed prefixes out to the sessions as packed UPDATEs. A changed
// prefix is recomputed for every synced session at once, only the exceptions
// one by one (processEntryAll); per-session work (dumps, route refresh,
// back-pressure leftovers, reachability changes) one session at a time
// (pumpSession). Buckets are encoded once per output group (packer.ts).

import { performance } from 'node:perf_hooks';
import type { Nlri } from '../bgp/types.ts';
import type { EntryId, FamilyState, Group, OutRef, Session } from './model.ts';
import { OutBatch } from './packer.ts';
import type { CoreState } from './state.ts';
import { NONE } from './store.ts';

type DumpState = Extract<FamilyState, { kind: 'dump' }>;

/** What a pump's dump walks add to: the batch, the entries visited, the families finished per session. */
interface DumpWork {
  batch: OutBatch;
  done: EntryId[];
  after: { s: Session; fam: string; refresh: boolean }[];
  deadline: number;
  /** Work done in this pump (entries, skipped ids a little), against batchSize. */
  n: number;
}

interface Change {
  group: Group;
  out: OutRef | null;
  pathId: number;
  delta: number;
  members: Session[];
}

/**
 * Whether `s` is past `e`: its family is synced, refreshing (everything was
 * sent once), or its initial dump has visited `e`. The Adj-RIB-Out columns
 * say what `s` holds for `e` only then; before, it holds nothing for `e`.
 */
export function reached(st: CoreState, s: Session, e: EntryId): boolean {
  const f = s.up?.fam.get(st.entries.fam(e));
  if (f === undefined) return false;
  if (f.kind === 'synced' || f.refresh) return true;
  // A dump visits (start, limit), then, if it joined a shared walk under way, laps to [0, cursor] (model.ts).
  return f.lapped ? e > f.start || e <= f.cursor : e > f.start && e <= f.cursor;
}

export class Output {
  private readonly s: CoreState;

  stamp = 0;

  /** processEntryAll's scratch (see there). */
  readonly px = {
    stamp: 0,
    fam: '',
    n: 0,
    specials: [] as Session[],
    /** Adds `s` to the specials once per entry, when it has the family up. */
    mark: (s: Session): void => {
      const px = this.px;
      if (s.mark === px.stamp) return;
      s.mark = px.stamp;
      if (s.up?.fam.has(px.fam)) px.specials[px.n++] = s;
    },
    ss: [] as Session[],
    st: [] as (OutRef | null)[],
    excl: [] as Session[],
    changes: new Map<string, Change>(),
  };

  visited(s: Session, e: EntryId): boolean {
    return reached(this.s, s, e);
  }

  /**
   * Recomputes a changed prefix for every synced session, sharing the bytes
   * within groups. Only the exceptions are looked at one by one: sessions that
   * were sent something other than the shared answer, the winner's own client,
   * clients its export policy treats differently, clients with NHIB reports,
   * blocked, dumping and ADD-PATH sessions. Everyone else goes from the old
   * shared answer to the new one together.
   */
  processEntryAll(e: EntryId, batch: OutBatch): void {
    const E = this.s.entries;
    const fi = this.s.famInfos[E.famOf(e)]!;
    const fam = E.famNames[fi.slot]!;
    const dec = this.s.decision;
    const w = E.head[e]!;
    const newDefault = w === NONE ? null : dec.outRef(w, 1);
    const oldDefault = this.s.adjOut.outDefault(e);
    // The sessions to evaluate one by one ("specials"), gathered in scratch
    // arrays reused for every entry: this runs once per changed prefix, and
    // fresh arrays and closures here were half of all the garbage of a
    // full-table load (bench/lib/memprobe.js IXRS_BENCH_ALLOCPROF).
    const px = this.px;
    this.markDiffering(e, w, fi.afi, fam);
    // forEach, and only when not empty: an iterator object per prefix otherwise.
    if (this.s.blockedSet.size > 0) this.s.blockedSet.forEach(px.mark);
    if (this.s.dumping.size > 0) this.s.dumping.forEach(px.mark);
    if (this.s.apSessions.size > 0) this.s.apSessions.forEach(px.mark);

    const specials = px.specials;
    const nSpecials = px.n;
    const ss = px.ss;
    const st = px.st;
    let nss = 0;
    const regDelta = oldDefault === null ? 1 : newDefault === null ? -1 : 0;
    if (px.changes.size > 0) px.changes.clear(); // clear() allocates a new table
    for (let i = 0; i < nSpecials; i++) {
      const s = specials[i]!;
      const up = s.up!;
      if (!this.visited(s, e)) continue;
      if (up.addPathTx.has(fam)) {
        if (up.blocked) {
          up.dirty.add(e);
          continue;
        }
        this.apDiff(e, s, up.apOut.get(e), dec.desiredAll(e, s), false, (tx, o, d) =>
          this.addChange(s, o, tx, d),
        );
        continue;
      }
      const old = this.s.adjOut.sentTo(e, s);
      if (up.blocked) {
        ss[nss] = s;
        st[nss++] = old;
        up.dirty.add(e);
        continue;
      }
      const d = dec.desired(e, s);
      ss[nss] = s;
      st[nss++] = d;
      if (d === old) continue;
      const delta = old === null ? 1 : d === null ? -1 : 0;
      if (d === newDefault && oldDefault !== newDefault) {
        // Same bytes as everyone else gets: share their UPDATE, fix the held
        // count here. Marked as joined (-stamp: marking is over for this entry).
        s.mark = -px.stamp;
        up.held += delta - regDelta;
        continue;
      }
      this.addChange(s, d, 0, delta);
    }
    this.s.adjOut.setOutDefault(e, newDefault);
    this.s.adjOut.clear(e);
    for (let i = 0; i < nss; i++) if (st[i] !== newDefault) this.s.adjOut.set(e, ss[i]!, st[i]!);
    st.fill(null, 0, nss);
    const prefix = E.prefix(e);
    const nlri0: Nlri = { prefix };
    for (const ch of px.changes.values()) {
      let mk = '';
      for (const m of ch.members) mk += `${m.slot},`;
      const nlri = ch.pathId === 0 ? nlri0 : { prefix, pathId: ch.pathId };
      batch.add(ch.group, mk, ch.members, fi, ch.out, nlri, ch.delta);
    }
    if (oldDefault !== newDefault && this.s.active.get(fam)?.length) {
      // Everyone else: old shared answer -> new shared answer.
      const excl = px.excl;
      let nExcl = 0;
      for (let i = 0; i < nSpecials; i++) {
        const s = specials[i]!;
        if (s.mark !== -px.stamp) excl[nExcl++] = s;
      }
      for (const g of this.s.groupList)
        batch.addAllBut(g, excl, nExcl, fam, fi, newDefault, nlri0, regDelta);
    }
  }

  /**
   * Marks (px.mark: Session.mark = px.stamp, listed in px.specials) the
   * sessions whose answer for `e` may differ from the shared one
   * (outRef(w, 1)): those holding an exception, the winner's own client,
   * clients its export policy treats differently, clients without extended
   * next hop for an IPv6 next hop, clients that cannot reach the next hop.
   */
  markDiffering(e: EntryId, w: number, afi: number, fam: string): void {
    const px = this.px;
    px.stamp = ++this.stamp;
    px.fam = fam;
    px.n = 0;
    this.s.adjOut.forEach(e, px.mark);
    if (w === NONE) return;
    const dec = this.s.decision;
    dec.client(w).sessions.forEach(px.mark);
    for (const c of dec.exportExceptions(w, this.s.clientList)) c.sessions.forEach(px.mark);
    const g = this.s.nhs.globalOf(this.s.paths.nh[w]!);
    if (afi === 1 && g.v6) {
      // RFC 8950: sessions without extended next hop cannot take this winner.
      for (const s of this.s.active.get(fam) ?? []) if (!s.up!.extendedNextHop.has(fam)) px.mark(s);
    }
    // Reachability (rs-bfd-profile §5): only clients that cannot reach the winner's next hop differ.
    const down = g.downList;
    for (let i = 0; i < down.length; i++) this.s.clientList[down[i]!]!.sessions.forEach(px.mark);
  }

  addChange(s: Session, o: OutRef | null, tx: number, delta: number): void {
    const changes = this.px.changes;
    const k = `${s.up!.group.id}|${o === null ? 0 : o.id}|${tx}|${delta}`;
    const ch = changes.get(k);
    if (ch === undefined)
      changes.set(k, { group: s.up!.group, out: o, pathId: tx, delta, members: [s] });
    else ch.members.push(s);
  }

  /** ADD-PATH (RFC 7911): diff the paths sent for `e` to `s` against the eligible ones. */
  apDiff(
    e: EntryId,
    s: Session,
    sent: Map<number, OutRef> | undefined,
    want: Map<number, OutRef>,
    resend: boolean,
    add: (tx: number, o: OutRef | null, delta: number) => void,
  ): void {
    const up = s.up!;
    for (const [tx, o] of want) {
      const prev = sent?.get(tx);
      if (prev !== o || resend) add(tx, o, prev === undefined ? 1 : 0);
    }
    if (sent !== undefined) {
      for (const tx of sent.keys()) if (!want.has(tx)) add(tx, null, -1);
    }
    if (want.size > 0) {
      if (sent === undefined) this.s.entries.addApRef(e, 1);
      up.apOut.set(e, want);
    } else if (sent !== undefined) {
      up.apOut.delete(e);
      this.s.entries.addApRef(e, -1);
    }
  }

  /** Recomputes `e` for one session. mode 'dump': nothing sent before; 'refresh': re-send. */
  processEntryOne(
    e: EntryId,
    s: Session,
    batch: OutBatch,
    mode: 'normal' | 'dump' | 'refresh',
  ): void {
    const up = s.up!;
    const one = [s];
    const mk = `${s.slot}`;
    const E = this.s.entries;
    const fi = this.s.famInfos[E.famOf(e)]!;
    if (up.addPathTx.has(E.famNames[fi.slot]!)) {
      const sent = mode === 'dump' ? undefined : up.apOut.get(e);
      if (mode === 'dump' && up.apOut.has(e)) {
        up.apOut.delete(e);
        E.addApRef(e, -1);
      }
      const want = this.s.decision.desiredAll(e, s);
      const prefix = E.prefix(e);
      this.apDiff(e, s, sent, want, mode === 'refresh', (tx, o, d) =>
        batch.add(up.group, mk, one, fi, o, { prefix, pathId: tx }, d),
      );
      return;
    }
    const old = mode === 'dump' ? null : this.s.adjOut.sentTo(e, s);
    const d = this.s.decision.desired(e, s);
    this.s.adjOut.set(e, s, d);
    if (d !== old || (mode === 'refresh' && d !== null)) {
      const delta = old === null ? (d === null ? 0 : 1) : d === null ? -1 : 0;
      batch.add(up.group, mk, one, fi, d, { prefix: E.prefix(e) }, delta);
    }
  }

  readonly writeOut = (s: Session, msgs: Uint8Array[], nlri: number, held: number): void => {
    const up = s.up;
    if (up === null) return;
    const st = s.client.stats;
    st.sentUpdates += msgs.length;
    st.sentNlri += nlri;
    up.held += held;
    for (const m of msgs) if (!up.sink.write(m)) this.block(s);
  };

  readonly tooBig = (group: Group, out: OutRef, nlri: number): void => {
    this.s.log.warn(
      { group: group.key, nextHop: out.nextHop.global, nlri, attrBytes: out.attrs.wire.length },
      'path attributes do not fit in an UPDATE for this group: routes withdrawn (RFC 8654 §4)',
    );
  };

  block(s: Session): void {
    if (s.up === null || s.up.blocked) return;
    s.up.blocked = true;
    this.s.blockedSet.add(s);
  }

  writeRaw(s: Session, bytes: Uint8Array): void {
    const up = s.up;
    if (up === null) return;
    if (!up.sink.write(bytes)) this.block(s);
  }

  flushBatch(batch: OutBatch): void {
    batch.flush(this.s.encoder, this.writeOut, this.tooBig);
    this.s.encodes += batch.encodes;
    batch.encodes = 0;
  }

  processDirtyBatch(deadline: number): void {
    const batch = new OutBatch();
    const done: EntryId[] = [];
    for (let e = this.s.dirty.shift(); e !== NONE; e = this.s.dirty.shift()) {
      if (!this.s.entries.live(e)) continue;
      this.processEntryAll(e, batch);
      done.push(e);
      if (done.length >= this.s.batchSize) break;
      if ((done.length & 511) === 0 && performance.now() >= deadline) break;
    }
    this.flushBatch(batch);
    for (const e of done) this.s.entries.maybeDelete(e);
    for (const s of this.pumpQueueCandidates()) this.s.pumpQueue.add(s);
  }

  *pumpQueueCandidates(): Iterable<Session> {
    for (const list of this.s.active.values()) {
      for (const s of list) if (s.up !== null && !s.up.blocked && s.up.dirty.size > 0) yield s;
    }
  }

  /** Per-session work: leftovers (back-pressure, NHIB), then dumps. Returns true if more remains. */
  pumpSession(s: Session, deadline: number): boolean {
    const up = s.up;
    if (up === null || up.blocked) return false;
    const E = this.s.entries;
    const batch = new OutBatch();
    const done: EntryId[] = [];
    let n = 0;
    for (let e = up.dirty.shift(); e !== NONE; e = up.dirty.shift()) {
      if (!E.live(e) || !this.visited(s, e)) continue;
      this.processEntryOne(e, s, batch, 'normal');
      done.push(e);
      if (++n >= this.s.batchSize) break;
      if ((n & 511) === 0 && performance.now() >= deadline) {
        n = this.s.batchSize;
        break;
      }
    }
    const after: DumpWork['after'] = [];
    if (n < this.s.batchSize) {
      const w: DumpWork = { batch, done, after, deadline, n };
      for (const [fam, st] of up.fam) {
        if (st.kind !== 'dump') continue;
        if (st.refresh || up.addPathTx.has(fam)) this.dumpAlone(s, fam, st, w);
        else this.dumpShared(s, fam, st, w);
        if (w.n >= this.s.batchSize) break;
      }
    }
    this.flushBatch(batch);
    for (const { s: m, fam, refresh } of after) {
      const mu = m.up;
      if (mu === null) continue;
      const [afi, safi] = fam.split('/').map(Number) as [number, number];
      if (!refresh) {
        // RFC 4724 §2: End-of-RIB after the initial update.
        this.writeRaw(m, this.s.encoder.encodeEndOfRib(afi, safi, mu.codec));
      } else if (mu.enhancedRefresh) {
        // RFC 7313 §4: EoRR ends the re-advertisement.
        this.writeRaw(m, this.s.encoder.encodeRouteRefresh(afi, safi, 2, mu.codec));
      }
    }
    for (const e of done) E.maybeDelete(e);
    for (const { s: m } of after) if (m !== s) this.endDumping(m);
    if (s.up !== up) return false;
    this.endDumping(s);
    if (up.dirty.size > 0) return true;
    for (const st of up.fam.values()) if (st.kind === 'dump') return true;
    return false;
  }

  /** Takes `s` out of the dumping set once no initial dump of it is left. */
  private endDumping(s: Session): void {
    const up = s.up;
    if (up === null || !this.s.dumping.has(s)) return;
    for (const st of up.fam.values()) if (st.kind === 'dump' && !st.refresh) return;
    this.s.dumping.delete(s);
  }

  /**
   * The next entries of a dump of `s` alone (route refresh, ADD-PATH) in id
   * order; adds to the work count `w.n`.
   */
  private dumpAlone(s: Session, fam: string, st: DumpState, w: DumpWork): void {
    const { batch, done, after, deadline } = w;
    let n = w.n;
    const E = this.s.entries;
    const slot = E.famSlotIfKnown(fam);
    while (n < this.s.batchSize) {
      // The next entry of the family in id order.
      const limit = E.limit;
      let e = st.cursor + 1;
      while (e < limit && (!E.live(e) || E.famOf(e) !== slot)) e++;
      if (e >= limit) {
        s.up!.fam.set(fam, { kind: 'synced' });
        after.push({ s, fam, refresh: st.refresh });
        break;
      }
      n += (e - st.cursor) >> 6; // skipped ids count a little
      st.cursor = e;
      this.processEntryOne(e, s, batch, st.refresh ? 'refresh' : 'dump');
      done.push(e);
      if ((++n & 511) === 0 && performance.now() >= deadline) n = this.s.batchSize;
    }
    w.n = n;
  }

  /**
   * The next entries of an initial dump, walked once for every session of
   * the output group whose initial dump of `fam` is at the same point (the
   * cohort): each entry's shared answer goes into one bucket for all of them,
   * encoded once (packer.ts); only the sessions whose answer may differ
   * (markDiffering) are evaluated one by one. A dump that has not begun joins
   * the walk of a dump under way at its cursor, walks to the end of the table
   * with it, then laps to walk [0, start] (FamilyState). Blocked sessions are
   * left out of the cohort and go on alone (at their own cursor) once
   * drained. Adds to the work count `w.n` (per entry, not per session).
   */
  private dumpShared(s: Session, fam: string, st: DumpState, w: DumpWork): void {
    const { batch, done, after, deadline } = w;
    let n = w.n;
    const E = this.s.entries;
    const g = s.up!.group;
    const dumpOf = (m: Session): DumpState | null => {
      const mu = m.up;
      if (mu === null || mu.group !== g || mu.addPathTx.has(fam)) return null;
      const mt = mu.fam.get(fam);
      return mt !== undefined && mt.kind === 'dump' && !mt.refresh ? mt : null;
    };
    if (st.cursor === -1 && st.start === -1 && !st.lapped) {
      for (const m of g.members) {
        const mt = m === s ? null : dumpOf(m);
        if (mt !== null && !mt.lapped && mt.cursor > -1) {
          st.start = mt.cursor;
          st.cursor = mt.cursor;
          break;
        }
      }
    }
    let cohort: Session[] = [];
    let states: DumpState[] = [];
    /** In the lap: the lowest start of the cohort (its first member to finish). */
    let end = Number.POSITIVE_INFINITY;
    for (const m of g.members) {
      if (m !== s && m.up?.blocked) continue;
      const mt = dumpOf(m);
      if (mt === null || mt.cursor !== st.cursor || mt.lapped !== st.lapped) continue;
      cohort.push(m);
      states.push(mt);
      if (mt.lapped && mt.start < end) end = mt.start;
    }
    const slot = E.famSlotIfKnown(fam);
    const fi = this.s.famInfos[slot]!;
    const dec = this.s.decision;
    const adj = this.s.adjOut;
    const px = this.px;
    /** Bucket members by the slots of the cohort members left out (ek below). */
    const shared = new Map<string, Session[]>();
    // Per member (by cohort index), made once per call: its own bucket's key and
    // members, and the shared bucket's key when it is the one left out (the
    // usual case: the winner's own client). No string or array per entry.
    let ones: { key: string; members: Session[]; ek: string }[] = [];
    let ek0 = '';
    const keys = (): void => {
      // The cohort only shrinks (lapped members leave): its size tells its
      // member sets apart in the batch.
      ek0 = `D${cohort.length}:`;
      ones = cohort.map((m) => ({ key: `${m.slot}`, members: [m], ek: `${ek0}${m.slot},` }));
    };
    keys();
    /** The shared bucket last added to, its key and NLRI list (consecutive entries mostly share it). */
    let lastOut: OutRef | null = null;
    let lastEk = '';
    let lastList: Nlri[] | null = null;
    let cursor = st.cursor;
    while (n < this.s.batchSize) {
      // The next entry of the family in id order (in the lap: up to the highest start).
      let e = cursor + 1;
      while (e < E.limit && (!E.live(e) || E.famOf(e) !== slot)) e++;
      if (e > end) {
        // Lapped members whose start is behind: done.
        const keep: Session[] = [];
        const keepSt: DumpState[] = [];
        end = Number.POSITIVE_INFINITY;
        for (let i = 0; i < cohort.length; i++) {
          const mt = states[i]!;
          if (mt.start < e) {
            cohort[i]!.up!.fam.set(fam, { kind: 'synced' });
            after.push({ s: cohort[i]!, fam, refresh: false });
            continue;
          }
          keep.push(cohort[i]!);
          keepSt.push(mt);
          if (mt.start < end) end = mt.start;
        }
        cohort = keep;
        states = keepSt;
        shared.clear();
        keys();
        lastList = null;
        if (cohort.length === 0) {
          w.n = n;
          return;
        }
      }
      if (e >= E.limit) {
        for (let i = 0; i < cohort.length; i++) {
          const mt = states[i]!;
          if (!mt.lapped && mt.start > -1) {
            mt.lapped = true;
            mt.cursor = -1;
          } else {
            cohort[i]!.up!.fam.set(fam, { kind: 'synced' });
            after.push({ s: cohort[i]!, fam, refresh: false });
          }
        }
        w.n = n;
        return;
      }
      n += (e - cursor) >> 6; // skipped ids count a little
      cursor = e;
      // A change not processed yet: processed now, so that the shared answer
      // the cohort is sent is what every synced session holds (no exception
      // per member); processed again later, with nothing left to send.
      if (this.s.dirty.has(e)) this.processEntryAll(e, batch);
      const win = E.head[e]!;
      const def = win === NONE ? null : dec.outRef(win, 1);
      const toAll = def !== adj.outDefault(e);
      this.markDiffering(e, win, fi.afi, fam);
      const nlri: Nlri = { prefix: E.prefix(e) };
      let ek = ek0;
      let nLeft = 0;
      for (let i = 0; i < cohort.length; i++) {
        const m = cohort[i]!;
        if (m.mark !== px.stamp) {
          // Holds no exception (it would be marked): one only if the shared answer is new.
          if (toAll) adj.set(e, m, def);
          continue;
        }
        const one = ones[i]!;
        ek = ++nLeft === 1 ? one.ek : `${ek}${m.slot},`;
        const d = dec.desired(e, m);
        adj.set(e, m, d);
        if (d !== null) batch.add(g, one.key, one.members, fi, d, nlri, 1);
      }
      if (def !== null && nLeft < cohort.length) {
        if (lastList !== null && def === lastOut && ek === lastEk) lastList.push(nlri);
        else {
          let members = shared.get(ek);
          if (members === undefined) {
            members = cohort.filter((m) => m.mark !== px.stamp);
            shared.set(ek, members);
          }
          lastList = batch.add(g, ek, members, fi, def, nlri, 1);
          lastOut = def;
          lastEk = ek;
        }
      }
      done.push(e);
      if ((++n & 511) === 0 && performance.now() >= deadline) n = this.s.batchSize;
    }
    for (const mt of states) mt.cursor = cursor;
    w.n = n;
  }

  constructor(s: CoreState) {
    this.s = s;
  }
}
