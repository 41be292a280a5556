#!/bin/bash
# dracut module: what Debian's generic Ignition module lacks to run a NestOS-like first boot here.

check() {
  return 0
}

depends() {
  echo ignition
}

installkernel() {
  # Ignition's qemu platform reads its config from fw_cfg; the disk and NIC are virtio.
  instmods qemu_fw_cfg virtio_blk virtio_pci virtio_net ext4
}

install() {
  # Ignition relabels files with setfiles after writing them; there is no SELinux policy here.
  inst_simple "$moddir/setfiles" /usr/sbin/setfiles
}
