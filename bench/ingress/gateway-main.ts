// weft-waypoint's own entry point (the process the bench measures), run from source.
import { main } from '@weft/waypoint';

await main(process.argv.slice(2));
