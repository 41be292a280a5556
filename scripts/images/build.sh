#!/usr/bin/env bash
# `npm run images -- MIRROR`: builds, without the internet, the OCI images a cluster of the pinned
# Kubernetes version pulls, and pushes them to MIRROR (host:port[/path], e.g. 127.0.0.1:5000/k8s) under
# the names nkd and kubeadm use with `kubernetes.imageRepository: MIRROR` (see docs/air-gap.md):
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, etcd: the binaries
#     `npm run tools` builds (NKD_KUBE_BIN); kube-proxy with the build machine's iptables;
#   - pause: scripts/images/pause, a tiny static Go program;
#   - coredns: built from the Go module proxy at the tag kubeadm expects;
#   - nestos/nkd-housekeeper:v<nkd version>: this repository's dist/ with the build machine's Node.js;
#   - flannel/flannel and flannel/flannel-cni-plugin at the tags of nkd's default flannel manifest:
#     flanneld from the Go module proxy with the build machine's iptables, and nkd's own CNI plugin
#     (scripts/images/flannel-cni), each with the `cp` the manifest's init containers run.
#   - with NKD_IMAGES_TESTNODE=1 only (the e2e run): nestos/testnode:<Kubernetes version>, the stand-in
#     "OS image" (docs/testnode.md), one tiny layer naming the version; the node's rpm-ostree stand-in
#     rebases only onto an image the mirror has. Not in a user's mirror: it is no NestOS.
# The names and tags come from `kubeadm config images list` of that version and from nkd's own code
# (dist/: the flannel manifest's images through the mirror), never from a second list.
# More Kubernetes versions: NKD_IMAGES_KUBE_BINS, a colon-separated list of further bin directories
# (e.g. NKD_KUBE_PREV_BIN, `npm run tools -- kube-prev`), adds the images kubeadm of each lists (the
# version its kubeadm reports; etcd from NKD_KUBE_BIN unless the directory has one) and, with
# NKD_IMAGES_TESTNODE=1, its nestos/testnode image; an image two versions share is pushed once.
# Images are single-layer, linux/amd64, pushed with crane (NKD_CRANE_BIN); MIRROR may be plain HTTP.
# Go builds (pause, coredns) are cached next to the tools: ${NKD_TOOLS_CACHE:-~/.cache/nkd-tools}.
# Prints one pushed reference per line on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=../tools/versions.env
source "$repo/scripts/tools/versions.env"
cache=${NKD_TOOLS_CACHE:-$HOME/.cache/nkd-tools}

say() { printf 'images: %s\n' "$*" >&2; }
fail() {
  printf 'images: error: %s\n' "$*" >&2
  exit 1
}

usage="usage: scripts/images/build.sh MIRROR   (e.g. 127.0.0.1:5000/k8s)  |  scripts/images/build.sh --build-only"
# --build-only: only the Go programs the images carry, into the cache; nothing is pushed. For a caller
# whose push runs where the Go module proxy cannot be reached (the e2e run's network namespace).
build_only=false
if [ "${1:-}" = --build-only ]; then
  [ $# -eq 1 ] || fail "--build-only takes no other argument ($usage)"
  build_only=true
  set -- build-only.invalid/k8s
fi
[ $# -eq 1 ] || fail "$usage"
mirror=$1
[[ $mirror =~ ^[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9._-]+)*$ ]] || fail "'$mirror' is not host[:port][/path]"

# The tools: from the environment, else from the export lines `npm run tools` keeps.
if [ -f "$cache/env.sh" ]; then
  # shellcheck disable=SC1091
  source <(grep -E '^export (NKD_KUBE_BIN|NKD_CRANE_BIN)=' "$cache/env.sh" | sed 's/^export /: "${/; s/=/:=/; s/$/}"/')
fi
kube_bin=${NKD_KUBE_BIN:-}
crane=${NKD_CRANE_BIN:-}
[ -n "$kube_bin" ] && [ -x "$kube_bin/kubeadm" ] || fail "NKD_KUBE_BIN is not set or has no kubeadm: run \`npm run tools -- kube etcd\`"
$build_only || { [ -n "$crane" ] && [ -x "$crane" ]; } || fail "NKD_CRANE_BIN is not set: run \`npm run tools -- crane\`"
command -v go >/dev/null 2>&1 || fail "the Go toolchain is missing"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Copies a dynamically linked program of this machine into ROOT with the shared libraries it loads.
add_program() {
  install -D -m 0755 "$(readlink -f "$2")" "$1$2"
  add_libs "$1" "$2"
}
# The shared libraries the program BIN loads (none for a static one), copied into ROOT at their paths.
add_libs() {
  local root=$1 bin=$2 lib
  for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
    [ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

# Packs ROOT as one layer and pushes it as REF with an entrypoint (none if ''), linux/amd64, a PATH.
push_image() {
  local ref=$1 root=$2 entrypoint=$3
  local layer="$work/layer.tar"
  local settings=(--set-platform linux/amd64 --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
  [ -z "$entrypoint" ] || settings+=(--entrypoint "$entrypoint")
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -cf "$layer" .
  # crane's progress lines are kept out of the output unless it fails.
  "$crane" append --insecure --oci-empty-base -f "$layer" -t "$ref" >/dev/null 2>"$work/crane.log" &&
    "$crane" mutate --insecure "$ref" "${settings[@]}" -t "$ref" >/dev/null 2>>"$work/crane.log" ||
    { cat "$work/crane.log" >&2; fail "could not push $ref"; }
  rm -f "$layer"
  say "pushed $ref"
  echo "$ref"
}

# A Go program built once per version into the cache. Args: name version dir-or-module
go_cached() {
  local name=$1 version=$2 out="$cache/images-$1-$2"
  if [ ! -f "$out/.complete" ]; then
    say "building $name $version"
    rm -rf "$out" && mkdir -p "$out/bin"
    # Explicit: errexit does not reach into the command substitutions this is called from, and a failed
    # build must never be stamped complete (the next run would take the empty directory as built).
    "build_$name" "$out/bin" "$version" || fail "could not build $name $version"
    [ -n "$(ls -A "$out/bin")" ] || fail "building $name $version left nothing in $out/bin"
    touch "$out/.complete"
  fi
  echo "$out/bin"
}
# The cache key of a Go program of this repository (scripts/images/DIR): its source, so a fix reaches the image.
source_key() { cat "$here/$1"/*.go "$here/$1/go.mod" | sha256sum | cut -c1-12; }
build_pause() { (cd "$here/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1/pause" .); }
# nkd's own CNI plugin (docs/air-gap.md): its source decides the cache key, not the upstream tag.
build_flannelcni() { (cd "$here/flannel-cni" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$1/flannel" .); }
# flanneld's UDP backend is C (cgo): a dynamically linked binary, shipped with its libraries.
build_flanneld() {
  GOBIN=$1 GOFLAGS=-mod=mod CGO_ENABLED=1 go install -trimpath \
    -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$2" "github.com/flannel-io/flannel@$2"
  mv "$1/flannel" "$1/flanneld"
}
build_coredns() {
  GOBIN=$1 GOFLAGS=-mod=mod CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$2"
}

# kube-proxy and flanneld program the node through iptables (or nft): the image carries the build
# machine's, with the match and target extensions (comment, conntrack, MASQUERADE, ...) it loads at run time.
add_iptables() {
  local root=$1 who=$2 tool xt cmd so
  for tool in /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft; do
    if [ -x "$tool" ]; then add_program "$root" "$tool"; fi
  done
  [ -x "$root/usr/sbin/xtables-nft-multi" ] || fail "$who needs iptables on this machine (apt-get install iptables)"
  xt=$(readlink -f "$(dirname "$(ldd /usr/sbin/xtables-nft-multi | grep -oE '/[^ ]+/libxtables\.so[^ ]*')")/xtables")
  [ -d "$xt" ] || fail "no iptables extensions directory at $xt"
  mkdir -p "$root$xt" && cp -a "$xt/." "$root$xt/"
  # The extensions' own libraries too: kube-proxy's `statistic` match (a Service with several endpoints)
  # needs libm, and one extension that fails to load fails the whole iptables-restore (seen on a real node).
  for so in "$xt"/*.so; do add_libs "$root" "$so"; done
  for cmd in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -s xtables-nft-multi "$root/usr/sbin/$cmd"
  done
}

fresh_root() {
  rm -rf "$work/root" && mkdir -p "$work/root/tmp" && chmod 1777 "$work/root/tmp"
  echo "$work/root"
}

# Every image `kubeadm config images list` names for Kubernetes VERSION, from the binaries in BIN (etcd
# from NKD_KUBE_BIN when BIN has none); one already pushed (by another version) is skipped.
declare -A pushed=()
push_kube_images() {
  local bin=$1 version=$2 ref refs name tag root have etcd
  etcd=$bin/etcd
  [ -x "$etcd" ] || etcd=$kube_bin/etcd
  refs=$("$bin/kubeadm" config images list --kubernetes-version "$version" --image-repository "$mirror")
  for ref in $refs; do
    [ -z "${pushed[$ref]:-}" ] || continue
    pushed[$ref]=1
    name=${ref#"$mirror"/}
    name=${name%%:*}
    tag=${ref##*:}
    root=$(fresh_root)
    case $name in
      etcd)
        # The tag is <etcd version>-<image revision>: the binary must be that version.
        have=$("$etcd" --version | sed -n 's/^etcd Version: //p')
        [ "$have" = "${tag%-*}" ] ||
          fail "kubeadm $version pulls etcd $tag but $etcd is etcd $have: set ETCD_VERSION=v${tag%-*} in scripts/tools/versions.env"
        install -D -m 0755 "$(readlink -f "$etcd")" "$root/usr/local/bin/etcd"
        mkdir -p "$root/var/lib/etcd"
        push_image "$ref" "$root" /usr/local/bin/etcd
        ;;
      kube-apiserver | kube-controller-manager | kube-scheduler)
        install -D -m 0755 "$(readlink -f "$bin/$name")" "$root/usr/local/bin/$name"
        push_image "$ref" "$root" "/usr/local/bin/$name"
        ;;
      kube-proxy)
        install -D -m 0755 "$(readlink -f "$bin/$name")" "$root/usr/local/bin/$name"
        add_iptables "$root" kube-proxy
        push_image "$ref" "$root" "/usr/local/bin/$name"
        ;;
      pause)
        install -D -m 0755 "$(go_cached pause "$(source_key pause)")/pause" "$root/pause"
        push_image "$ref" "$root" /pause
        ;;
      coredns)
        install -D -m 0755 "$(go_cached coredns "$tag")/coredns" "$root/coredns"
        push_image "$ref" "$root" /coredns
        ;;
      *) fail "kubeadm lists $ref, which this script does not know how to build" ;;
    esac
  done
}

# The stand-in's "OS image" of Kubernetes VERSION: what `nkd upgrade --os-image` names on the stand-in.
# Only its existence matters (the node carries the binaries); the file says which version it stands for.
push_testnode_image() {
  [ "${NKD_IMAGES_TESTNODE:-}" = 1 ] || return 0
  local version=$1 root ref=$mirror/nestos/testnode:$1
  [ -z "${pushed[$ref]:-}" ] || return 0
  pushed[$ref]=1
  root=$(fresh_root)
  mkdir -p "$root/usr/lib/nkd-testnode"
  printf 'NKD_TESTNODE_KUBERNETES_VERSION=%s\n' "$version" >"$root/usr/lib/nkd-testnode/os-release"
  push_image "$ref" "$root" ''
}

IFS=: read -r -a more_bins <<<"${NKD_IMAGES_KUBE_BINS:-}"

# The Go programs of the images that are not Kubernetes binaries (pause, CoreDNS, flanneld, nkd's CNI
# plugin), built into the cache for every version's list: what --build-only does.
build_programs() {
  local bin ref tag what version
  for bin in "$kube_bin" "${more_bins[@]}"; do
    [ -n "$bin" ] || continue
    for ref in $("$bin/kubeadm" config images list --kubernetes-version "$("$bin/kubeadm" version -o short)" --image-repository "$mirror" 2>/dev/null); do
      tag=${ref##*:}
      case $ref in
        */pause:*) go_cached pause "$(source_key pause)" >/dev/null ;;
        */coredns:*) go_cached coredns "$tag" >/dev/null ;;
      esac
    done
  done
  node "$here/addon-images.mjs" "$repo" "$mirror" | while read -r what ref version; do
    case $what in
      flannel) go_cached flanneld "$version" >/dev/null ;;
      flannel-cni-plugin)
        go_cached flannelcni "$(source_key flannel-cni)" >/dev/null
        ;;
    esac
  done
}
if $build_only; then
  build_programs
  say "the images' Go programs are in $cache"
  exit 0
fi

push_kube_images "$kube_bin" "$KUBE_VERSION"
push_testnode_image "$KUBE_VERSION"
for bin in "${more_bins[@]}"; do
  [ -n "$bin" ] || continue
  [ -x "$bin/kubeadm" ] || fail "NKD_IMAGES_KUBE_BINS names $bin, which has no kubeadm"
  more_version=$("$bin/kubeadm" version -o short)
  push_kube_images "$bin" "$more_version"
  push_testnode_image "$more_version"
done

# Housekeeper: nkd's own image of this version, at the path nkd derives from the mirror.
version=$(node -p "require('$repo/package.json').version")
[ -f "$repo/dist/src/housekeeper/main.js" ] || fail "dist/ is not built: run npm run build"
root=$(fresh_root)
# bin/housekeeper.js starts with `#!/usr/bin/env node`; the agent runs host commands with chroot.
add_program "$root" "$(command -v node)"
add_program "$root" /usr/bin/env
add_program "$root" "$(command -v chroot)"
mkdir -p "$root/app/bin" "$root/usr/local/bin"
cp "$repo/package.json" "$root/app/"
cp -r "$repo/dist" "$root/app/dist"
install -m 0755 "$repo/bin/housekeeper.js" "$root/app/bin/housekeeper.js"
# The production dependencies the housekeeper code imports, with theirs.
node "$here/deps.mjs" "$repo" execa | while read -r dep; do
  mkdir -p "$root/app/node_modules/$(dirname "$dep")"
  cp -r "$repo/node_modules/$dep" "$root/app/node_modules/$dep"
done
[ "$(head -c 2 "$root/app/bin/housekeeper.js")" = '#!' ] || fail "bin/housekeeper.js has no #! line"
ln -s /app/bin/housekeeper.js "$root/usr/local/bin/nkd-housekeeper"
push_image "$mirror/nestos/nkd-housekeeper:v$version" "$root" nkd-housekeeper

# The network plugin: the images nkd's default flannel manifest names under the mirror. Their init
# containers run `cp` (the CNI plugin binary and the conflist onto the host).
node "$here/addon-images.mjs" "$repo" "$mirror" >"$work/addons"
while read -r what ref version <&3; do
  root=$(fresh_root)
  add_program "$root" "$(command -v cp)"
  case $what in
    flannel)
      install -D -m 0755 "$(go_cached flanneld "$version")/flanneld" "$root/opt/bin/flanneld"
      add_libs "$root" "$root/opt/bin/flanneld"
      add_iptables "$root" flanneld
      push_image "$ref" "$root" /opt/bin/flanneld
      ;;
    flannel-cni-plugin)
      install -D -m 0755 "$(go_cached flannelcni "$(source_key flannel-cni)")/flannel" "$root/flannel"
      push_image "$ref" "$root" /flannel
      ;;
    *) fail "addon-images.mjs lists $what, which this script does not know how to build" ;;
  esac
done 3<"$work/addons"
