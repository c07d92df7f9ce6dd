// The real routers as route-server clients, as IXP members configure them: a
// route server does not put its AS in the AS path, so first-AS / neighbor-AS
// enforcement is off, and a member exports only its own routes. Used by the
// route-server interop tests (test/interop/lib/rs.ts) and by
// `ixrs scenario run --mode netns` (src/scenario/netns/world.ts).

import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import {
  createDaemon,
  DAEMON_CLASSES,
  type Daemon,
  type DaemonSpec,
  ExaBgp,
  type ExaMessage,
  Frr,
  OpenBgpd,
} from './daemons.ts';
import { type Lan, waitFor } from './netns.ts';

/**
 * FRR 8.4: a route server client must not insist on the neighbour AS first in
 * the path, and (like any IXP member) exports only its own routes: FRR would
 * otherwise send what it learnt from the route server back to it.
 */
class RsFrr extends Frr {
  override config(): string {
    return super
      .config()
      .replace(
        /^ neighbor (\S+) remote-as (\d+)$/gm,
        (line, addr: string) => `${line}\n no neighbor ${addr} enforce-first-as`,
      )
      .replace(
        /^ {2}neighbor (\S+) activate$/gm,
        (line, addr: string) => `${line}\n  neighbor ${addr} filter-list RS-OWN out`,
      )
      .replace(
        /^!\n/m,
        `!\nbgp as-path access-list RS-OWN seq 5 permit ^$\nbgp as-path access-list RS-OWN seq 10 permit ^${this.spec.as}(_${this.spec.as})*$\n!\n`,
      );
  }

  protected override pidFiles(): string[] {
    return [`${this.dir}/bgpd.pid`, `${this.dir}/zebra.pid`];
  }

  /**
   * With zebra this time: bgpd without zebra (-Z) knows no interface and so
   * withdraws every IPv6 route whose next hop carries a link-local address
   * ("sent a v6 LL next-hop and there's no peer interface information"), which
   * a route server passes on unchanged from BIRD and FRR clients.
   */
  override async start(): Promise<void> {
    writeFileSync(`${this.dir}/bgpd.conf`, this.config());
    writeFileSync(`${this.dir}/zebra.conf`, `hostname ${this.spec.name}-zebra\n`);
    const zserv = `${this.dir}/zserv.api`;
    // zebra insists on its vty group (frrvty), which root is not in: it runs as frr.
    chmodSync(this.dir, 0o777);
    this.lan.spawnIn(
      this.ns,
      '/usr/lib/frr/zebra',
      [
        '-f',
        `${this.dir}/zebra.conf`,
        '-i',
        `${this.dir}/zebra.pid`,
        '--vty_socket',
        this.dir,
        '-z',
        zserv,
        '-u',
        'frr',
        '-g',
        'frr',
        '-P',
        '0',
        '--log',
        `file:${this.dir}/zebra.log`,
      ],
      `${this.name}-zebra`,
    );
    await waitFor(`${this.name}: zebra socket`, () => existsSync(zserv), 20_000, 100);
    await this.startBgpd([]);
  }
}

/** OpenBGPD: `enforce neighbor-as` is on for eBGP by default; off for the route server. */
class RsOpenBgpd extends OpenBgpd {
  override config(): string {
    return super
      .config()
      .replace(/^ {2}remote-as (\d+)$/gm, (line) => `${line}\n  enforce neighbor-as no`);
  }
}

/**
 * ExaBGP 4.2 prints a 32-octet IPv6 next hop (global + link-local, RFC 2545
 * §3) as two next hops each announcing the NLRI; daemons.ts would keep the
 * last one (the link-local). The global one is the next hop of the route.
 */
class RsExaBgp extends ExaBgp {
  override messages(): ExaMessage[] {
    const out = super.messages();
    for (const m of out) {
      const ann = m.neighbor?.message?.update?.announce;
      if (ann === undefined) continue;
      for (const byNh of Object.values(ann)) {
        const nhs = Object.keys(byNh);
        if (nhs.length < 2) continue;
        for (const nh of nhs) if (/^fe80:/i.test(nh)) delete byNh[nh];
      }
    }
    return out;
  }
}

/** BIRD 2 (`enforce first as` is off by default) and GoBGP need nothing. */
export function createRsClient(lan: Lan, spec: DaemonSpec): Daemon {
  return createDaemon(lan, spec, {
    ...DAEMON_CLASSES,
    frr: RsFrr,
    openbgpd: RsOpenBgpd,
    exabgp: RsExaBgp,
  });
}
