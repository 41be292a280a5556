#!/usr/bin/env bash
# `npm run bench:engine`: wall time of provisioning through the real Pulumi engine on a real libvirtd,
# for 1, 3 and 10 nodes (blank images, TCG guests), of a re-run with nothing to change, and of destroy.
# Needs root, libvirt/QEMU (Debian packages) and `npm run tools`. Everything runs in a network namespace
# of its own, with its own libvirtd; it is removed at the end. Sizes: NKD_BENCH_SIZES="1 3 10".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "bench-engine: needs root (libvirtd, network namespaces)" >&2; exit 2; }
[ -f "$HOME/.cache/nkd-tools/env.sh" ] && source "${NKD_TOOLS_CACHE:-$HOME/.cache/nkd-tools}/env.sh"
[ -n "${NKD_PULUMI_ROOT:-}" ] || { echo "bench-engine: run npm run tools first" >&2; exit 2; }
if pgrep -x libvirtd >/dev/null; then echo "bench-engine: a libvirtd is running; stop it first" >&2; exit 2; fi

work=$(mktemp -d /tmp/nkd-bench-engine-XXXXXX)
ns="nkd-bench-$$"
cleanup() {
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  sleep 1
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns delete "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p /var/log/libvirt /var/run/libvirt /var/lib/libvirt/qemu
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" /usr/sbin/virtlogd -d
ip netns exec "$ns" /usr/sbin/libvirtd -d
for _ in $(seq 60); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.5; done
qemu-img create -f qcow2 "$work/blank.qcow2" 1G >/dev/null

export PULUMI_HOME="$work/pulumi-home" NKD_STATE_DIR="$work/state" NODE_ENV=production
nkd() { ip netns exec "$ns" node "$repo/bin/run.js" "$@"; }
timed() {
  local label=$1 t0
  shift
  t0=$(date +%s.%N)
  "$@" >"$work/last.log" 2>&1 || true
  awk -v l="$label" -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%-34s %6.1f s\n", l, b - a }'
}

printf '%-34s %8s\n' "operation" "wall"
for n in ${NKD_BENCH_SIZES:-1 3 10}; do
  name="bench$n"
  cat >"$work/$name.yaml" <<EOF
apiVersion: nkd.nestos.io/v1alpha1
kind: Cluster
metadata: { name: $name }
spec:
  controlPlane: { count: 1, cpus: 2, memoryMiB: 1700, diskGiB: 10 }
  workers: { count: $((n - 1)), cpus: 1, memoryMiB: 512, diskGiB: 10 }
  access: { sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh1cR1G4dbgS0bY6tV1v7aZx2Ck3Jr0yGm9oN2kQ0sE bench@nkd"] }
  platform:
    libvirt:
      image: $work/blank.qcow2
      domainType: qemu
      poolPath: $work/pool-$name
      network: { cidr: 10.214.$n.0/24 }
EOF
  # The API never answers on blank images: --api-timeout 1s ends the deploy right after provisioning.
  timed "deploy, $n node(s)" nkd deploy -f "$work/$name.yaml" --yes --api-timeout 1s
  grep -q "provision: done" "$work/last.log" || { cat "$work/last.log"; exit 1; }
  timed "re-run, nothing to change, $n" nkd deploy -f "$work/$name.yaml" --yes --api-timeout 1s
  timed "destroy, $n node(s)" nkd destroy "$name" --yes
done
