#!/usr/bin/env bash
# `npm run tools`: builds the real external tools the tests and the e2e run use, from the Go module
# proxy, into a cache outside the checkout, keyed by tool and version:
#   ${NKD_TOOLS_CACHE:-~/.cache/nkd-tools}/<tool>-<version>/bin/...
# A tool whose directory holds a `.complete` stamp is reused, so a warm run takes seconds.
# The last lines printed are `export` lines naming what was built; the same lines are kept in
# <cache>/env.sh, which the test helpers read when the variables are not set.
#
# Usage: scripts/tools/build.sh [TOOL ...]   (tools: pulumi openstack kube kube-prev etcd kwok crictl registry
#        crane testnode testnode-upgrade; default: all but kube-prev, testnode and testnode-upgrade)
# kube-prev is Kubernetes KUBE_PREVIOUS_VERSION (versions.env), which the end-to-end run upgrades from.
# testnode (the NestOS stand-in image, docs/testnode.md) needs root, mmdebstrap, e2fsprogs and qemu-utils;
# so does testnode-upgrade, the stand-in booting KUBE_PREVIOUS_VERSION that can be upgraded to KUBE_VERSION.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${NKD_TOOLS_CACHE:-$HOME/.cache/nkd-tools}
mkdir -p "$cache"

say() { printf 'tools: %s\n' "$*" >&2; }
fail() {
  printf 'tools: error: %s\n' "$*" >&2
  exit 1
}

command -v go >/dev/null 2>&1 || fail "the Go toolchain is missing: install Go ${GO_MIN} or newer (go on PATH)"
command -v node >/dev/null 2>&1 || fail "node is missing"

# Versions that must match the npm packages come from package-lock.json, never from a second pin.
lock_version() {
  node -e 'const l=require(process.argv[1]);const p=l.packages["node_modules/"+process.argv[2]];if(!p){process.exit(3)}console.log(p.version)' \
    "$repo/package-lock.json" "$1" || fail "package-lock.json has no $1: run npm ci first"
}
PULUMI_VERSION=$(lock_version @pulumi/pulumi)
OPENSTACK_VERSION=$(lock_version @pulumi/openstack)

probe_proxy() {
  local probe
  probe=$(mktemp -d)
  if ! (cd "$probe" && GOFLAGS=-mod=mod timeout 120 go list -m -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null 2>&1); then
    rm -rf "$probe"
    fail "the Go module proxy ($(go env GOPROXY)) does not answer: cannot download modules"
  fi
  rm -rf "$probe"
}

# A wrapper module that requires MODULE@VERSION, pins each local replace of its go.mod to the same
# published release (PINNED_VERSION_OF <path>), and copies each non-local replace. `go install` refuses
# modules with replaces; this is the standard way around it.
# Args: workdir module version pin_fn
make_wrapper() {
  local dir=$1 module=$2 version=$3 pin_fn=$4
  local gomod
  gomod=$(cd "$dir" && go mod download -json "$module@$version" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')
  [ -f "$gomod" ] || fail "could not download $module@$version"
  {
    echo "module nkdtools/wrapper"
    echo
    grep -E '^go [0-9.]+' "$gomod" | head -n 1
    echo
    echo "require $module $version"
  } >"$dir/go.mod"
  # replace lines, in both the single-line and the block form.
  node "$here/replaces.js" "$gomod" | while IFS=$'\t' read -r old target tver required; do
    if [[ $target == ./* || $target == ../* ]]; then
      [ "$required" = 1 ] || continue
      local pinned
      pinned=$($pin_fn "$old")
      echo "replace $old => $old $pinned" >>"$dir/go.mod"
      echo "require $old $pinned" >>"$dir/go.mod"
    else
      echo "replace $old => $target $tver" >>"$dir/go.mod"
    fi
  done
}

finish() {
  local out=$1
  touch "$out/.complete"
  say "built $(basename "$out") in $(($(date +%s) - $2)) s"
}

build_pulumi() {
  local out="$cache/pulumi-$PULUMI_VERSION"
  if [ -f "$out/.complete" ]; then return; fi
  say "building the Pulumi CLI v$PULUMI_VERSION (cold: several minutes)"
  local t0 w
  t0=$(date +%s)
  w=$(mktemp -d)
  pin_pulumi() { echo "v$PULUMI_VERSION"; }
  make_wrapper "$w" github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION" pin_pulumi
  (cd "$w" && go mod tidy -e >/dev/null 2>&1 || true)
  (cd "$w" && go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" >/dev/null)
  rm -rf "$out" && mkdir -p "$out/bin"
  (cd "$w" && CGO_ENABLED=0 go build -trimpath -o "$out/bin/pulumi" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
  # The dynamic-provider host must sit next to the CLI, or the CLI tries to download it. It is a small
  # script that resolves @pulumi/pulumi from the program's directory, so one copy serves any checkout.
  install -m 0755 "$repo/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$out/bin/"
  "$out/bin/pulumi" version | grep -qx "v$PULUMI_VERSION" || fail "the built pulumi does not report v$PULUMI_VERSION"
  rm -rf "$w"
  finish "$out" "$t0"
}

source "$here/build-openstack.sh"
source "$here/build-kube.sh"
source "$here/build-images.sh"

# The NestOS stand-in image (scripts/testnode/build.sh), with this Kubernetes version's kubeadm, kubelet,
# kubectl and crictl; its path is kept in <cache>/testnode.path for the export line.
build_testnode() {
  build_kube
  build_crictl
  local t0 image
  t0=$(date +%s)
  image=$(bash "$repo/scripts/testnode/build.sh" "$cache" "$cache/kubernetes-$KUBE_VERSION/bin" "$cache/crictl-$CRICTL_VERSION/bin" | tail -n 1)
  [ -f "$image" ] || fail "the testnode build named no image"
  echo "$image" >"$cache/testnode.path"
  say "testnode image $image ($(($(date +%s) - t0)) s)"
}

# The stand-in image the end-to-end upgrade starts from: boots KUBE_PREVIOUS_VERSION and carries
# KUBE_VERSION for the rpm-ostree stand-in to rebase onto; its path is kept in <cache>/testnode-upgrade.path.
build_testnode_upgrade() {
  build_kube
  build_kube_prev
  build_crictl
  local t0 image
  t0=$(date +%s)
  image=$(bash "$repo/scripts/testnode/build.sh" "$cache" "$cache/kubernetes-$KUBE_PREVIOUS_VERSION/bin" \
    "$cache/crictl-$CRICTL_VERSION/bin" "$cache/kubernetes-$KUBE_VERSION/bin" | tail -n 1)
  [ -f "$image" ] || fail "the testnode build named no image"
  echo "$image" >"$cache/testnode-upgrade.path"
  say "testnode-upgrade image $image ($(($(date +%s) - t0)) s)"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(pulumi openstack kube etcd kwok crictl registry crane)
need_build=0
for t in "${want[@]}"; do
  case $t in
    pulumi) [ -f "$cache/pulumi-$PULUMI_VERSION/.complete" ] || need_build=1 ;;
    openstack) [ -f "$cache/pulumi-resource-openstack-$OPENSTACK_VERSION/.complete" ] || need_build=1 ;;
    kube) [ -f "$cache/kubernetes-$KUBE_VERSION/.complete" ] || need_build=1 ;;
    kube-prev) [ -f "$cache/kubernetes-$KUBE_PREVIOUS_VERSION/.complete" ] || need_build=1 ;;
    etcd) [ -f "$cache/etcd-$ETCD_VERSION/.complete" ] || need_build=1 ;;
    kwok) [ -f "$cache/kwok-$KWOK_VERSION/.complete" ] || need_build=1 ;;
    crictl) [ -f "$cache/crictl-$CRICTL_VERSION/.complete" ] || need_build=1 ;;
    testnode) [ -f "$cache/kubernetes-$KUBE_VERSION/.complete" ] && [ -f "$cache/crictl-$CRICTL_VERSION/.complete" ] || need_build=1 ;;
    testnode-upgrade)
      for v in "$KUBE_VERSION" "$KUBE_PREVIOUS_VERSION"; do [ -f "$cache/kubernetes-$v/.complete" ] || need_build=1; done
      [ -f "$cache/crictl-$CRICTL_VERSION/.complete" ] || need_build=1
      ;;
    registry) [ -f "$cache/registry-$REGISTRY_VERSION/.complete" ] || need_build=1 ;;
    crane) [ -f "$cache/crane-$CRANE_VERSION/.complete" ] || need_build=1 ;;
    *) fail "unknown tool '$t' (known: pulumi openstack kube kube-prev etcd kwok crictl registry crane testnode testnode-upgrade)" ;;
  esac
done
[ $need_build -eq 0 ] || probe_proxy

# A tool's function is build_<name> with its dashes as underscores (kube-prev: build_kube_prev).
for t in "${want[@]}"; do "build_${t//-/_}"; done

# The environment, kept for the test helpers and printed last: one line per tool that is built.
link_kube_bin
kube_bin="$cache/kube-bin-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
env_file="$cache/env.sh"
{
  [ -f "$cache/pulumi-$PULUMI_VERSION/.complete" ] && echo "export NKD_PULUMI_ROOT=$cache/pulumi-$PULUMI_VERSION"
  [ -f "$cache/pulumi-resource-openstack-$OPENSTACK_VERSION/.complete" ] &&
    echo "export NKD_PULUMI_PLUGINS=$cache/pulumi-resource-openstack-$OPENSTACK_VERSION/bin"
  [ -f "$cache/kubernetes-$KUBE_VERSION/.complete" ] && echo "export NKD_KUBE_BIN=$kube_bin"
  [ -f "$cache/kubernetes-$KUBE_PREVIOUS_VERSION/.complete" ] &&
    echo "export NKD_KUBE_PREV_BIN=$cache/kubernetes-$KUBE_PREVIOUS_VERSION/bin"
  [ -f "$cache/testnode.path" ] && [ -f "$(cat "$cache/testnode.path")" ] && echo "export NKD_TESTNODE_IMAGE=$(cat "$cache/testnode.path")"
  [ -f "$cache/testnode-upgrade.path" ] && [ -f "$(cat "$cache/testnode-upgrade.path")" ] &&
    echo "export NKD_TESTNODE_UPGRADE_IMAGE=$(cat "$cache/testnode-upgrade.path")"
  [ -f "$cache/registry-$REGISTRY_VERSION/.complete" ] && echo "export NKD_REGISTRY_BIN=$cache/registry-$REGISTRY_VERSION/bin/registry"
  [ -f "$cache/crane-$CRANE_VERSION/.complete" ] && echo "export NKD_CRANE_BIN=$cache/crane-$CRANE_VERSION/bin/crane"
  true
} >"$env_file.tmp"
mv "$env_file.tmp" "$env_file"
cat "$env_file"
