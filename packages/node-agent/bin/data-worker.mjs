// Entry of weft-node's data-plane worker threads (same rule as bin/weft-node.mjs: see @weft/telemetry/launch).
import { load } from '@weft/telemetry/launch';

await load(import.meta.url, 'worker');
