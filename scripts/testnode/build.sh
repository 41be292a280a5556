#!/usr/bin/env bash
# Builds the NestOS stand-in image (docs/testnode.md): a Debian bookworm qcow2 that boots from its own
# disk (GRUB, BIOS) and runs Debian's Ignition in its initramfs at first boot, config from QEMU fw_cfg.
#
# Usage: scripts/testnode/build.sh CACHE_DIR [KUBE_BIN_DIR CRICTL_BIN_DIR [UPGRADE_KUBE_BIN_DIR ...]]
#   Two stages, each cached in CACHE_DIR under the hash of its inputs:
#   - testnode-rootfs-<hash>/root: the Debian root (mmdebstrap, the files/ overlay, the initramfs, GRUB);
#   - testnode-<hash>/testnode.qcow2 (hash of the root's, build.sh, upgrade/ and the binaries): that root
#     plus kubeadm, kubelet, kubectl (KUBE_BIN_DIR) and crictl (CRICTL_BIN_DIR), as a partitioned disk.
#     Without the bin dirs only the first stage is built.
#   Each Kubernetes version sits in /usr/lib/nkd-testnode/<version>/; /usr/bin/{kubeadm,kubelet,kubectl}
#   link to KUBE_BIN_DIR's, the booted one. UPGRADE_KUBE_BIN_DIRs add versions the node can be upgraded
#   to with the rpm-ostree stand-in (upgrade/rpm-ostree and its boot unit, in every image).
#   Prints the qcow2's path (or the root's) on its last line; kubernetes-version beside the qcow2 names
#   the version of its booted kubeadm and kubelet, upgrade-version (with UPGRADE_KUBE_BIN_DIRs) the last
#   version it can be upgraded to.
# Needs root and the Debian packages mmdebstrap, e2fsprogs, qemu-utils.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: build.sh CACHE_DIR [KUBE_BIN_DIR CRICTL_BIN_DIR [UPGRADE_KUBE_BIN_DIR ...]]}
kube_bin=${2:-}
crictl_bin=${3:-}
upgrade_bins=("${@:4}")

say() { printf 'testnode: %s\n' "$*" >&2; }
fail() {
  printf 'testnode: error: %s\n' "$*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (mmdebstrap's root mode, chroot)"
for t in mmdebstrap mkfs.ext4 qemu-img sha256sum; do
  command -v "$t" >/dev/null 2>&1 || fail "$t is missing (Debian: mmdebstrap e2fsprogs qemu-utils)"
done

# Debian packages of the node: packages.txt without its comments.
mapfile -t PACKAGES < <(sed -e 's/#.*//' "$here/packages.txt" | tr -s ' \t' '\n' | sed '/^$/d')
# Room for the cluster's images (containerd keeps each compressed and unpacked) above the kubelet's
# eviction thresholds; fits the 10 GiB disks of the tests.
ROOT_SIZE=8G

rootfs_key=$( (
  cd "$here"
  find packages.txt customize.sh files -type f -print0 | sort -z | xargs -0 sha256sum
  find files -print0 | sort -z | xargs -0 stat -c '%n %a'
) | sha256sum | cut -c1-16)
rootfs_dir="$cache/testnode-rootfs-$rootfs_key"

build_rootfs() {
  [ -f "$rootfs_dir/.complete" ] && return
  say "building the Debian root (mmdebstrap, dracut; cold: about 10 minutes)"
  local t0
  t0=$(date +%s)
  rm -rf "$rootfs_dir" && mkdir -p "$rootfs_dir"
  local sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  local IFS=,
  mmdebstrap --mode=root --variant=minbase --include="${PACKAGES[*]}" \
    --customize-hook="$here/customize.sh" bookworm "$rootfs_dir/root" "$sources" </dev/null
  touch "$rootfs_dir/.complete"
  say "built the Debian root in $(($(date +%s) - t0)) s"
}

# One little-endian 32-bit number as printf escapes.
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }

# A raw disk: MBR with GRUB's boot.img and one bootable Linux partition at 1 MiB holding ROOT_IMG,
# GRUB's core.img in the gap before it (boot.img loads it from sector 1).
assemble_disk() {
  local root=$1 root_img=$2 disk=$3
  local start=2048 sectors
  sectors=$(($(stat -c %s "$root_img") / 512))
  truncate -s $(((start + sectors) * 512)) "$disk"
  dd if="$root/boot/grub/boot.img" of="$disk" bs=440 count=1 conv=notrunc status=none
  local core_size
  core_size=$(stat -c %s "$root/boot/grub/core.img")
  [ "$core_size" -lt $(((start - 1) * 512)) ] || fail "GRUB's core.img ($core_size bytes) does not fit before the partition"
  dd if="$root/boot/grub/core.img" of="$disk" bs=512 seek=1 conv=notrunc status=none
  # Partition entry 1: bootable, CHS unused (LBA only), type 0x83 (Linux); then the MBR signature.
  printf "\\x80\\xfe\\xff\\xff\\x83\\xfe\\xff\\xff$(le32 $start)$(le32 "$sectors")" |
    dd of="$disk" bs=1 seek=446 conv=notrunc status=none
  printf '\x55\xaa' | dd of="$disk" bs=1 seek=510 conv=notrunc status=none
  dd if="$root_img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
}

# Every Kubernetes version into ROOT/usr/lib/nkd-testnode/<version>/, the booted one linked from /usr/bin,
# and the rpm-ostree stand-in that switches those links (docs/testnode.md). Here, not in customize.sh:
# a change to the stand-in then costs this stage only, never the Debian root.
install_kubernetes() {
  local root=$1 dir version booted b
  booted=$("$kube_bin/kubeadm" version -o short)
  for dir in "$kube_bin" "${upgrade_bins[@]}"; do
    version=$("$dir/kubeadm" version -o short)
    [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]] || fail "$dir/kubeadm reports '$version', not a version"
    [ ! -e "$root/usr/lib/nkd-testnode/$version" ] || fail "Kubernetes $version is given twice"
    for b in kubeadm kubelet kubectl; do install -D -m 0755 "$dir/$b" "$root/usr/lib/nkd-testnode/$version/$b"; done
  done
  for b in kubeadm kubelet kubectl; do ln -sfn "../lib/nkd-testnode/$booted/$b" "$root/usr/bin/$b"; done
  install -m 0755 "$here/upgrade/rpm-ostree" "$root/usr/bin/rpm-ostree"
  mkdir -p "$root/usr/libexec"
  ln -sfn ../bin/rpm-ostree "$root/usr/libexec/nkd-testnode-finalize"
  install -m 0644 "$here/upgrade/nkd-testnode-finalize.service" "$root/usr/lib/systemd/system/"
  # Enabled as `systemctl enable` would (its [Install] section), without a chroot.
  mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
  ln -sfn /usr/lib/systemd/system/nkd-testnode-finalize.service \
    "$root/etc/systemd/system/sysinit.target.wants/nkd-testnode-finalize.service"
}

build_image() {
  local key out t0 work
  key=$( (
    echo "$rootfs_key"
    sha256sum "$here/build.sh" | cut -c1-64
    sha256sum "$here"/upgrade/* | cut -c1-64
    sha256sum "$kube_bin"/kubeadm "$kube_bin"/kubelet "$kube_bin"/kubectl "$crictl_bin"/crictl | cut -c1-64
    local dir
    for dir in "${upgrade_bins[@]}"; do sha256sum "$dir"/kubeadm "$dir"/kubelet "$dir"/kubectl | cut -c1-64; done
  ) | sha256sum | cut -c1-16)
  out="$cache/testnode-$key"
  if [ -f "$out/.complete" ]; then
    echo "$out/testnode.qcow2"
    return
  fi
  say "assembling the disk image"
  t0=$(date +%s)
  rm -rf "$out" && mkdir -p "$out"
  work=$(mktemp -d "$cache/testnode-work.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  cp -a "$rootfs_dir/root" "$work/root"
  install_kubernetes "$work/root"
  install -m 0755 "$crictl_bin/crictl" "$work/root/usr/bin/crictl"
  printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\n' >"$work/root/etc/crictl.yaml"
  # A fresh machine: "uninitialized" makes systemd treat the first boot as one (ConditionFirstBoot,
  # presets, so the units Ignition enables get enabled); an empty file, which mmdebstrap leaves after
  # its hooks, is not a first boot on systemd 252.
  echo uninitialized >"$work/root/etc/machine-id"
  # Nothing of the build host: mmdebstrap copies its resolv.conf and hostname into the root. The node's
  # resolv.conf is systemd-resolved's (customize.sh); replaced, never written through (a link's target
  # would be the build host's file). Ignition writes the hostname.
  rm -f "$work/root/etc/resolv.conf"
  ln -s ../run/systemd/resolve/stub-resolv.conf "$work/root/etc/resolv.conf"
  echo localhost >"$work/root/etc/hostname"
  mkfs.ext4 -q -L root -d "$work/root" "$work/root.img" "$ROOT_SIZE"
  assemble_disk "$work/root" "$work/root.img" "$work/disk.raw"
  # Compressed: half the size to copy into each storage pool; QEMU decompresses natively, even under TCG.
  qemu-img convert -c -f raw -O qcow2 "$work/disk.raw" "$out/testnode.qcow2"
  "$kube_bin/kubeadm" version -o short >"$out/kubernetes-version"
  if [ ${#upgrade_bins[@]} -gt 0 ]; then
    "${upgrade_bins[-1]}/kubeadm" version -o short >"$out/upgrade-version"
  fi
  rm -rf "$work"
  trap - EXIT
  touch "$out/.complete"
  say "assembled $(du -m "$out/testnode.qcow2" | cut -f1) MiB in $(($(date +%s) - t0)) s"
  echo "$out/testnode.qcow2"
}

mkdir -p "$cache"
build_rootfs
if [ -z "$kube_bin" ]; then
  echo "$rootfs_dir/root"
  exit 0
fi
for f in "$kube_bin/kubeadm" "$kube_bin/kubelet" "$kube_bin/kubectl" "$crictl_bin/crictl" \
  "${upgrade_bins[@]/%//kubeadm}" "${upgrade_bins[@]/%//kubelet}" "${upgrade_bins[@]/%//kubectl}"; do
  [ -x "$f" ] || fail "$f is missing (npm run tools -- kube crictl)"
done
build_image
