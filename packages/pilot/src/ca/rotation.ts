import { WeftError } from '@weft/telemetry';

/** One root the CA owns, with its key. */
export interface StoredRoot {
  certPem: string;
  keyPem: string;
  /** When it was added to the trust bundle (ms since the epoch). */
  addedAt: number;
}

/** The CA's persisted state. `roots[issuing]` signs; every root is in the trust bundle. */
export interface CaState {
  /** Grows whenever the set of roots changes (the trust bundle version). */
  version: number;
  roots: StoredRoot[];
  issuing: number;
  /** When issuing last moved to another root (ms); retiring waits a full certificate lifetime after it. */
  switchedAt?: number;
}

export type RotationStage = 'add' | 'switch' | 'retire';
export type RotationPhase = 'steady' | 'added' | 'switched';

/** Where a staged rotation stands: steady (one root) → added (new root trusted) → switched (new root issues). */
export function phaseOf(state: CaState): RotationPhase {
  if (state.roots.length <= 1) return 'steady';
  return state.issuing === state.roots.length - 1 ? 'switched' : 'added';
}

function stageError(message: string): WeftError {
  return new WeftError('WEFT_CA_ROTATION_STAGE', message);
}

/** Stage 1: trust a new root (not yet issuing). */
export function addRoot(state: CaState, root: StoredRoot): CaState {
  if (state.roots.length > 1)
    throw stageError(
      `a rotation is already in progress (phase ${phaseOf(state)}); run switch or retire first`,
    );
  return { ...state, version: state.version + 1, roots: [...state.roots, root] };
}

/** Stage 2: issue from the newest root. */
export function switchRoot(state: CaState, now: number): CaState {
  if (state.roots.length < 2) throw stageError('no new root to switch to; run the add stage first');
  if (phaseOf(state) === 'switched') throw stageError('already issuing from the new root; run retire next');
  return { ...state, issuing: state.roots.length - 1, switchedAt: now };
}

/**
 * Stage 3: drop every root but the issuing one, once every certificate from the old roots has expired
 * (`maxLifetimeMs` after the switch). `force` skips the wait: peers with unexpired old certificates will
 * then fail handshakes.
 */
export function retireRoots(state: CaState, now: number, maxLifetimeMs: number, force = false): CaState {
  if (phaseOf(state) !== 'switched') throw stageError('nothing to retire: switch to the new root first');
  const safeAt = (state.switchedAt ?? 0) + maxLifetimeMs;
  if (now < safeAt && !force)
    throw new WeftError(
      'WEFT_CA_RETIRE_TOO_EARLY',
      `certificates from the old root may be valid until ${new Date(safeAt).toISOString()}; retire after that, or pass force=true to accept failing handshakes`,
      { details: { safeAt: new Date(safeAt).toISOString() } },
    );
  const issuing = state.roots[state.issuing];
  if (issuing === undefined) throw stageError('no issuing root');
  const { switchedAt: _drop, ...rest } = state;
  return { ...rest, version: state.version + 1, roots: [issuing], issuing: 0 };
}

/** When retiring becomes safe (ms), or undefined if not in the switched phase. */
export function retireSafeAt(state: CaState, maxLifetimeMs: number): number | undefined {
  return phaseOf(state) === 'switched' ? (state.switchedAt ?? 0) + maxLifetimeMs : undefined;
}
