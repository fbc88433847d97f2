# syntax=docker/dockerfile:1.7
# Weft: one image with every component. The container's first argument picks it:
#   weft-pilot | weft-node | weft-waypoint | weft-cni (install/uninstall, the DaemonSet's init container) | weftctl
# Compiled JavaScript only (tsc -b, then each app `pnpm deploy --prod`ed with its packages' publishConfig
# exports applied); weft-cni's CNI plugin is a single executable for the node, which has no Node.js.
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
RUN npm install -g pnpm@12.21.0
WORKDIR /src
COPY . .
RUN pnpm install --frozen-lockfile
# Only the apps and the libraries they reference (tests and benchmarks are not part of the image).
RUN pnpm exec tsc -b packages/pilot packages/node-agent packages/waypoint packages/cni packages/cli
RUN node packages/cni/scripts/build-sea.mjs /out/cni-plugin/weft-cni
RUN for app in pilot node-agent waypoint cni cli; do \
      pnpm --filter "@weft/$app" deploy --prod "/out/$app" || exit 1; \
    done
# pnpm deploy keeps the development exports (./src/*.ts): point every @weft package at its compiled
# dist/ (its publishConfig.exports) and drop the TypeScript sources.
COPY <<'EOF' /src/publish-exports.mjs
import { lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
let changed = 0;
function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.isSymbolicLink()) continue;
    const path = join(dir, entry.name);
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(path, 'package.json'), 'utf8'));
    } catch {
      pkg = undefined;
    }
    if (pkg?.name?.startsWith('@weft/') && pkg.publishConfig?.exports !== undefined) {
      pkg.exports = pkg.publishConfig.exports;
      writeFileSync(join(path, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
      for (const dev of ['src', 'tsconfig.json', 'scripts']) rmSync(join(path, dev), { recursive: true, force: true });
      changed++;
    }
    walk(path);
  }
}
const root = process.argv[2];
if (!lstatSync(root).isDirectory()) throw new Error(`${root} is not a directory`);
walk(root);
if (changed === 0) throw new Error(`no @weft package found under ${root}`);
console.log(`publish-exports: ${changed} packages now export dist/`);
EOF
RUN node /src/publish-exports.mjs /out

FROM ${NODE_IMAGE}
# weft-node programs each pod's capture rules with iptables/ip inside the pod's netns (nsenter: util-linux).
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/pilot /opt/weft/pilot
COPY --from=build /out/node-agent /opt/weft/node-agent
COPY --from=build /out/waypoint /opt/weft/waypoint
COPY --from=build /out/cni /opt/weft/cni-installer
COPY --from=build /out/cni-plugin/weft-cni /opt/weft/cni/weft-cni
COPY --from=build /out/cli /opt/weft/cli
RUN ln -s /opt/weft/pilot/bin/weft-pilot.mjs /usr/local/bin/weft-pilot \
 && ln -s /opt/weft/node-agent/bin/weft-node.mjs /usr/local/bin/weft-node \
 && ln -s /opt/weft/waypoint/bin/weft-waypoint.mjs /usr/local/bin/weft-waypoint \
 && ln -s /opt/weft/cni-installer/bin/weft-cni.mjs /usr/local/bin/weft-cni \
 && ln -s /opt/weft/cli/bin/weftctl.mjs /usr/local/bin/weftctl \
 && chmod 0755 /opt/weft/*/bin/*.mjs /opt/weft/cni/weft-cni
# Non-root by default (pilot, waypoint, weftctl). weft-node and the weft-cni install step run as root
# (securityContext.runAsUser: 0): weft-node with only NET_ADMIN, SYS_ADMIN and NET_RAW.
USER 1337:1337
# node's docker-entrypoint.sh execs the first argument when it is a command on PATH.
CMD ["weftctl", "help"]
