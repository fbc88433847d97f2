import { type Counter, counter, type Gauge, gauge, type Registry } from '@weft/telemetry';

/** The CA server's metrics, with istiod's (citadel_server_*) names. */
export interface CaMetrics {
  csrCount: Counter<never>;
  issued: Counter<never>;
  authnFailures: Counter<never>;
  csrParseErrors: Counter<never>;
  refusals: Counter<'code'>;
  rootExpiry: Gauge<never>;
}

export function caMetrics(registry: Registry): CaMetrics {
  return {
    csrCount: counter(registry, 'citadel_server_csr_count', 'The number of CSRs received by the CA.', []),
    issued: counter(
      registry,
      'citadel_server_success_cert_issuance_count',
      'The number of certificates issued.',
      [],
    ),
    authnFailures: counter(
      registry,
      'citadel_server_authentication_failure_count',
      'The number of callers that failed authentication.',
      [],
    ),
    csrParseErrors: counter(
      registry,
      'citadel_server_csr_parsing_err_count',
      'The number of CSRs that could not be parsed.',
      [],
    ),
    refusals: counter(registry, 'weft_ca_refusals_total', 'CSRs refused, by Weft error code.', ['code']),
    rootExpiry: gauge(
      registry,
      'citadel_server_root_cert_expiry_timestamp',
      'When the issuing root expires (Unix seconds).',
      [],
    ),
  };
}
