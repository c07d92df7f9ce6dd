// Flap damping of one (client, next hop) in the style of RFC 2439: a penalty
// added at every transition to unreachable, halved every half-life, a suppress
// threshold above which the next hop is held unreachable, a reuse threshold
// below which it is released, and a ceiling that bounds the hold-down after the
// last flap to max-suppress time (RFC 2439 §4.2).
//
// The penalty is kept in the log domain as one float per entry: L such that
// penalty(t) = 2^(L - t/H), t in ms since the NHIB's epoch, H the half-life.
// Decay then costs nothing until the penalty is read, and the time at which it
// falls to the reuse threshold is H·(L - log2(reuse)).

export interface DampingParams {
  enabled: boolean;
  /** Added at each transition to unreachable. */
  penalty: number;
  /** Suppressed once the penalty exceeds this. */
  suppressThreshold: number;
  /** Released once the penalty has decayed to this or below. */
  reuseThreshold: number;
  halfLifeMs: number;
  /** Longest hold-down after the last transition to unreachable. */
  maxSuppressMs: number;
}

/**
 * Defaults: a single Down (or two in a row) never suppresses, a third within
 * about a half-life does; released within max-suppress time of the last Down.
 * Damping never delays a Down: it only holds a next hop unreachable longer.
 */
export const DEFAULT_DAMPING: Readonly<DampingParams> = Object.freeze({
  enabled: true,
  penalty: 1000,
  suppressThreshold: 2000,
  reuseThreshold: 750,
  halfLifeMs: 15_000,
  maxSuppressMs: 60_000,
});

/** No penalty. */
export const NO_PENALTY = Number.NEGATIVE_INFINITY;

/** The penalty at `t` (ms since the epoch) of log-domain value `l`. */
export function penaltyAt(l: number, t: number, halfLifeMs: number): number {
  return l === NO_PENALTY ? 0 : 2 ** (l - t / halfLifeMs);
}

/** The log-domain value of penalty `p` at `t`. */
export function encodePenalty(p: number, t: number, halfLifeMs: number): number {
  return p <= 0 ? NO_PENALTY : Math.log2(p) + t / halfLifeMs;
}

/** The highest penalty kept: decays to reuse in exactly max-suppress time (RFC 2439 §4.2). */
export function penaltyCeiling(d: DampingParams): number {
  return d.reuseThreshold * 2 ** (d.maxSuppressMs / d.halfLifeMs);
}

/** One transition to unreachable at `t`: the new log-domain value (capped at the ceiling). */
export function addPenalty(l: number, t: number, d: DampingParams): number {
  const p = Math.min(penaltyAt(l, t, d.halfLifeMs) + d.penalty, penaltyCeiling(d));
  return encodePenalty(p, t, d.halfLifeMs);
}

/** When (ms since the epoch, rounded up) the penalty has decayed to the reuse threshold. */
export function reuseTime(l: number, d: DampingParams): number {
  if (l === NO_PENALTY) return Number.NEGATIVE_INFINITY;
  // Rounding noise of the log domain must not push a deadline one ms late.
  return Math.ceil(d.halfLifeMs * (l - Math.log2(d.reuseThreshold)) - 1e-6);
}

/** A problem with the parameters (for the configuration loader), or null. */
export function dampingProblem(d: DampingParams): { key: string; problem: string } | null {
  if (d.reuseThreshold >= d.suppressThreshold) {
    return {
      key: 'reuse_threshold',
      problem: `reuse_threshold (${d.reuseThreshold}) must be below suppress_threshold (${d.suppressThreshold})`,
    };
  }
  if (d.enabled && penaltyCeiling(d) <= d.suppressThreshold) {
    return {
      key: 'max_suppress_time',
      problem: `with half_life ${d.halfLifeMs / 1000} s and reuse_threshold ${d.reuseThreshold} the penalty is capped at ${Math.floor(penaltyCeiling(d))} (reuse_threshold · 2^(max_suppress_time/half_life), RFC 2439 §4.2), never above suppress_threshold ${d.suppressThreshold}: raise max_suppress_time`,
    };
  }
  return null;
}
