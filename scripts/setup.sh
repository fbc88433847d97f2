#!/usr/bin/env bash
# Idempotent setup for the demo and the tests: pnpm, the workspace dependencies, and (as root) the
# Debian packages the e2e tests, interop peers, benchmarks and the demo use. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

# System packages: command or file that proves each is present -> Debian package.
declare -A NEED=(
  [ip]=iproute2 [iptables]=iptables [nft]=nftables [openssl]=openssl [curl]=curl
  [/usr/lib/python3/dist-packages/h2]=python3-h2 [/usr/lib/python3/dist-packages/httpbin]=python3-httpbin
  [/usr/lib/python3/dist-packages/grpc]=python3-grpcio [/usr/lib/python3/dist-packages/jwt]=python3-jwt
  [/usr/lib/python3/dist-packages/grpc_tools]=python3-grpc-tools
  [nghttpx]=nghttp2-proxy [nghttp]=nghttp2-client [h2load]=nghttp2-client [stunnel4]=stunnel4 [haproxy]=haproxy
  [protoc]=protobuf-compiler [iperf3]=iperf3 [tshark]=tshark [tcpdump]=tcpdump [go]=golang-go [/usr/lib/cni/bridge]=containernetworking-plugins
  [/usr/share/gocode/src/github.com/Masterminds/sprig]=golang-github-masterminds-sprig-dev
)
missing=()
for probe in "${!NEED[@]}"; do
  if [[ $probe == /* ]]; then [[ -e $probe ]] || missing+=("${NEED[$probe]}")
  else command -v "$probe" >/dev/null 2>&1 || missing+=("${NEED[$probe]}"); fi
done
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    say "not root (or no apt-get): missing ${missing[*]}"
    say "tests that need them, or need root for network namespaces, will be skipped and say why."
  fi
fi

if ! command -v pnpm >/dev/null 2>&1; then
  say "installing pnpm"
  npm install -g pnpm@12.21.0 >/dev/null 2>&1 || {
    say "npm install -g failed (not root?); using npx pnpm"
  }
fi
PNPM=pnpm
command -v pnpm >/dev/null 2>&1 || PNPM="npx -y pnpm@12.21.0"
$PNPM install --frozen-lockfile --prefer-offline >/dev/null 2>&1 || $PNPM install
say "ready"
