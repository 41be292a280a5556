#!/usr/bin/env bash
# mmdebstrap customize hook (runs after every package is installed): turns the Debian root in "$1"
# into a NestOS stand-in. See docs/testnode.md for why each step is there.
set -euo pipefail
root=$1
here=$(cd "$(dirname "$0")" && pwd)

cp -a "$here/files/." "$root/"
chmod 0440 "$root/etc/sudoers.d/wheel"
# NestOS has the wheel group nkd puts its admin user in; Debian does not.
chroot "$root" groupadd -f -r wheel

# The Kubernetes binaries come later (scripts/testnode/build.sh); containerd looks for CNI plugins in
# /opt/cni/bin, where Debian's containernetworking-plugins are not.
mkdir -p "$root/opt/cni"
ln -sfn /usr/lib/cni "$root/opt/cni/bin"

chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service \
  testnode-firstboot-done.service testnode-ssh-keygen.service
# Names resolve through systemd-resolved, which networkd gives the DHCP server's DNS (libvirt's dnsmasq).
# kubeadm sees systemd-resolved running and points the kubelet, hence CoreDNS's upstream, at
# /run/systemd/resolve/resolv.conf (the real servers, not the 127.0.0.53 stub). Relative, so nothing
# on the build host is ever written through it.
ln -sfn ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# systemd-resolved's postinst kept the build host's resolv.conf (mmdebstrap's copy) as a backup.
rm -f "$root/etc/.resolv.conf.systemd-resolved.bak"
# Not part of NestOS's first boot: systemd-firstboot would prompt on the console for a locale.
chroot "$root" systemctl mask systemd-firstboot.service
# kubelet and containerd start only when nkd's Ignition enables them, as on NestOS.
chroot "$root" systemctl disable containerd.service
rm -f "$root"/etc/ssh/ssh_host_*

# /etc/machine-id is set to "uninitialized" by build.sh: mmdebstrap empties it after this hook.
rm -f "$root/var/lib/dbus/machine-id"

# Drivers a virtual node never needs: a smaller image and initramfs, which boot faster under TCG.
kver=$(basename "$(ls -d "$root"/lib/modules/*)")
for d in drivers/gpu drivers/media drivers/infiniband drivers/net/wireless drivers/staging drivers/iio \
  drivers/bluetooth drivers/isdn drivers/hid drivers/input/joystick drivers/input/touchscreen \
  sound net/wireless net/mac80211 net/bluetooth; do
  rm -rf "$root/lib/modules/$kver/kernel/$d"
done
chroot "$root" depmod "$kver"

# The initramfs again, now with the ignition module (configured only here: when the kernel's postinst
# ran dracut, dracut-network was not configured yet).
chroot "$root" dracut --force --kver "$kver" "/boot/initrd.img-$kver"

# GRUB for BIOS boot from the disk's MBR; the disk assembly writes boot.img and core.img.
mkdir -p "$root/boot/grub/i386-pc"
cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst "$root/boot/grub/i386-pc/"
cp "$root/usr/lib/grub/i386-pc/boot.img" "$root/boot/grub/boot.img"
chroot "$root" grub-mkimage -O i386-pc -o /boot/grub/core.img -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 normal linux test configfile echo
cat >"$root/boot/grub/grub.cfg" <<CFG
# Ignition runs on the first boot only: while /boot/ignition.firstboot exists (testnode-firstboot-done
# removes it once the machine is up), as CoreOS's boot loader does.
set timeout=0
set firstboot=""
if [ -f /boot/ignition.firstboot ]; then
  set firstboot="ignition.firstboot"
fi
linux /boot/vmlinuz-$kver root=LABEL=root rw console=ttyS0,115200 ignition.platform.id=qemu systemd.firstboot=off \$firstboot
initrd /boot/initrd.img-$kver
boot
CFG
touch "$root/boot/ignition.firstboot"
# Package caches and lists are not part of a node.
rm -rf "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* "$root"/var/log/*.log
