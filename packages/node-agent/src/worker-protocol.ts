/** Messages between the control thread and the data-plane worker threads (structured clone). */
import type { Authorization, Service, Workload } from '@weft/config';
import type { CertificateMaterial } from './identity.js';
import type { PodInfo } from './lifecycle-protocol.js';

export interface WorkerInit {
  index: number;
  trustDomain: string;
  logLevel: string;
  connectTimeoutMs?: number;
}

export interface DiscoverySnapshot {
  workloads: Workload[];
  services: Service[];
  authorizations: [string, Authorization][];
}

export type ToWorker =
  | { t: 'state'; state: DiscoverySnapshot }
  | { t: 'cert'; material: CertificateMaterial }
  | { t: 'add'; id: number; pod: PodInfo; identity: string }
  | { t: 'del'; id: number; uid: string }
  | { t: 'stats'; id: number }
  | { t: 'metrics'; id: number }
  | { t: 'drain'; id: number; ms: number }
  | { t: 'gc'; id: number }
  | { t: 'connections'; id: number }
  | { t: 'memory'; id: number };

export type FromWorker =
  | { t: 'reply'; id: number; value?: unknown; error?: { code: string; message: string } }
  | { t: 'ready' };
