#!/usr/bin/env node
// The compiled build in the container image, the TypeScript source in the repository: see @weft/telemetry/launch.
import { launch } from '@weft/telemetry/launch';

await launch(import.meta.url);
