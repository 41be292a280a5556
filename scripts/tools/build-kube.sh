# Sourced by build.sh: Kubernetes binaries, etcd and kwok, and the directory that holds them together.
# shellcheck shell=bash

KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubeadm kubelet kubectl)

# Args: [VERSION] (default KUBE_VERSION); builds into <cache>/kubernetes-VERSION/bin.
build_kube() {
  local kube_version=${1:-$KUBE_VERSION}
  local out="$cache/kubernetes-$kube_version"
  if [ -f "$out/.complete" ]; then return; fi
  say "building Kubernetes $kube_version: ${KUBE_BINARIES[*]} (cold: 10-20 minutes)"
  local t0 w minor
  t0=$(date +%s)
  w=$(mktemp -d)
  # Every staging module (k8s.io/api, k8s.io/client-go, ...) is published as v0.<minor>.<patch>.
  pin_staging() { echo "v0${kube_version#v1}"; }
  make_wrapper "$w" k8s.io/kubernetes "$kube_version" pin_staging
  local pkgs=()
  for b in "${KUBE_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  # No `go mod tidy` here: the wrapper has no Go files, so tidy would drop every requirement and the
  # build would then resolve the newest k8s.io/kubernetes instead of this version.
  (cd "$w" && GOFLAGS=-mod=mod go get "${pkgs[@]/%/@$kube_version}" >"$w/get.log" 2>&1) ||
    fail "go get of Kubernetes $kube_version failed: $(tail -n 3 "$w/get.log")"
  local resolved
  resolved=$(cd "$w" && GOFLAGS=-mod=mod go list -m -f '{{.Version}}' k8s.io/kubernetes)
  [ "$resolved" = "$kube_version" ] || fail "the wrapper resolved k8s.io/kubernetes $resolved, not $kube_version"
  minor=${kube_version#v1.}
  minor=${minor%%.*}
  local commit=0000000000000000000000000000000000000000
  local date=2026-01-01T00:00:00Z
  local ld=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$kube_version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitCommit=$commit -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  rm -rf "$out" && mkdir -p "$out/bin"
  for b in "${KUBE_BINARIES[@]}"; do
    say "  go build $b"
    (cd "$w" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$out/bin/$b" -ldflags "-s -w$ld" "k8s.io/kubernetes/cmd/$b")
  done
  "$out/bin/kube-apiserver" --version | grep -qx "Kubernetes $kube_version" || fail "kube-apiserver does not report $kube_version"
  rm -rf "$w"
  finish "$out" "$t0"
}

# The previous patch (KUBE_PREVIOUS_VERSION), which the end-to-end run deploys and upgrades from.
build_kube_prev() { build_kube "$KUBE_PREVIOUS_VERSION"; }

build_etcd() {
  local out="$cache/etcd-$ETCD_VERSION"
  if [ -f "$out/.complete" ]; then return; fi
  say "building etcd $ETCD_VERSION (cold: 2-4 minutes)"
  local t0 w
  t0=$(date +%s)
  w=$(mktemp -d)
  # etcd's replaces are all local siblings, each tagged with the same version.
  pin_etcd() { echo "$ETCD_VERSION"; }
  make_wrapper "$w" go.etcd.io/etcd/server/v3 "$ETCD_VERSION" pin_etcd
  (cd "$w" && GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 || true)
  rm -rf "$out" && mkdir -p "$out/bin"
  (cd "$w" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -o "$out/bin/etcd" -ldflags "-s -w" go.etcd.io/etcd/server/v3)
  "$out/bin/etcd" --version | grep -q "etcd Version: ${ETCD_VERSION#v}" || fail "etcd does not report $ETCD_VERSION"
  rm -rf "$w"
  finish "$out" "$t0"
}

build_kwok() {
  local out="$cache/kwok-$KWOK_VERSION"
  if [ -f "$out/.complete" ]; then return; fi
  say "building kwok $KWOK_VERSION (cold: 2-4 minutes)"
  local t0
  t0=$(date +%s)
  rm -rf "$out" && mkdir -p "$out/bin"
  GOBIN="$out/bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  "$out/bin/kwok" --version >/dev/null 2>&1 || fail "the built kwok does not run"
  finish "$out" "$t0"
}

build_crictl() {
  local out="$cache/crictl-$CRICTL_VERSION"
  if [ -f "$out/.complete" ]; then return; fi
  say "building crictl $CRICTL_VERSION (cold: 1-3 minutes)"
  local t0
  t0=$(date +%s)
  rm -rf "$out" && mkdir -p "$out/bin"
  GOBIN="$out/bin" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION"
  "$out/bin/crictl" --version | grep -q "${CRICTL_VERSION#v}" || fail "crictl does not report $CRICTL_VERSION"
  finish "$out" "$t0"
}

# One directory holding etcd, kwok and the Kubernetes binaries (symlinks), exported as NKD_KUBE_BIN.
link_kube_bin() {
  local dir="$cache/kube-bin-$KUBE_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
  local src
  mkdir -p "$dir"
  for src in "$cache/kubernetes-$KUBE_VERSION/bin" "$cache/etcd-$ETCD_VERSION/bin" "$cache/kwok-$KWOK_VERSION/bin" "$cache/crictl-$CRICTL_VERSION/bin"; do
    [ -d "$src" ] || continue
    for f in "$src"/*; do ln -sfn "$f" "$dir/$(basename "$f")"; done
  done
}
