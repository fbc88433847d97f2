import {
  type Counter,
  counter,
  type Gauge,
  gauge,
  type Histogram,
  histogram,
  type Registry,
} from '@weft/telemetry';

/** The certificate client's metrics. */
export interface CertMetrics {
  expiry: Gauge<'identity'>;
  rotations: Counter<'identity'>;
  caErrors: Counter<'code'>;
  csrDuration: Histogram<'outcome'>;
}

export function certMetrics(registry: Registry): CertMetrics {
  return {
    expiry: gauge(
      registry,
      'weft_cert_expiry_timestamp_seconds',
      'When the current certificate of each identity expires (Unix seconds).',
      ['identity'],
    ),
    rotations: counter(
      registry,
      'weft_cert_rotations_total',
      'Certificates replaced by a newer one, per identity.',
      ['identity'],
    ),
    caErrors: counter(
      registry,
      'weft_ca_client_errors_total',
      'Failed certificate requests or rejected chains, by Weft error code.',
      ['code'],
    ),
    csrDuration: histogram(
      registry,
      'weft_csr_duration_seconds',
      'Time from key generation to a validated certificate chain.',
      ['outcome'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    ),
  };
}
