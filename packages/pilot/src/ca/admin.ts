import type { ServerResponse } from 'node:http';
import { type AdminHandler, errorCode, errorMessage, isWeftError } from '@weft/telemetry';
import type { CertificateAuthority } from './authority.js';
import type { RotationStage } from './rotation.js';

function json(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(statusCode, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const STAGES: readonly RotationStage[] = ['add', 'switch', 'retire'];

/**
 * Routes for pilot's admin server (15000, loopback only), passed as `adminRoutes` to startAdminServers:
 *   GET  /ca/status                                   the roots, the rotation phase, when retiring is safe
 *   POST /ca/rotate?stage=add|switch|retire[&force=true]  run one stage of a staged root rotation
 * Errors answer 409 (wrong stage / too early) or 400 with `{ code, message }`.
 */
export function caAdminRoutes(ca: CertificateAuthority): Record<string, AdminHandler> {
  return {
    '/ca/status': (_req, res) => json(res, 200, ca.status()),
    '/ca/rotate': async (req, res, url) => {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        json(res, 405, {
          code: 'METHOD_NOT_ALLOWED',
          message: 'use POST /ca/rotate?stage=add|switch|retire',
        });
        return;
      }
      const stage = url.searchParams.get('stage') ?? '';
      if (!STAGES.includes(stage as RotationStage)) {
        json(res, 400, {
          code: 'WEFT_CA_ROTATION_STAGE',
          message: `stage must be one of ${STAGES.join(', ')}`,
        });
        return;
      }
      const force = url.searchParams.get('force') === 'true';
      try {
        json(res, 200, await ca.rotate(stage as RotationStage, { force }));
      } catch (err) {
        if (!isWeftError(err)) throw err;
        json(res, err.code === 'WEFT_CA_PLUGIN_ROTATION' ? 400 : 409, {
          code: errorCode(err),
          message: errorMessage(err),
          ...(err.details === undefined ? {} : { details: err.details }),
        });
      }
    },
  };
}
