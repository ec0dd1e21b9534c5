#!/bin/sh
# Guest image recipe for the hosts tests: a bootable Debian disk made from
# Debian's packages only, with no loop device and no mount.
#   mkimage.sh RELEASE MIRROR OUTDIR PUBKEYFILE PACKAGES
# Writes OUTDIR/disk.raw (ext4, no partition table), OUTDIR/vmlinuz and
# OUTDIR/initrd.img. The caller keys the cache on this file's bytes, so any
# change here rebuilds the images.
set -eu
release=$1 mirror=$2 out=$3 pubkey=$4 packages=$5
root=$out/root
rm -rf "$root"
mkdir -p "$root"
trap 'rm -rf "$root"' EXIT

# The initramfs needs only what finds an ext4 root on virtio-blk: 6 MB
# instead of 36 MB, and no udev probing of hardware QEMU does not have.
# shellcheck disable=SC2016 # the hooks expand $1 inside mmdebstrap
mmdebstrap --variant=minbase --mode=root --format=directory \
  --include="$packages" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
  --setup-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/debforge-vm.conf"' \
  --setup-hook='printf "virtio_pci\nvirtio_blk\next4\ncrc32c_generic\n" > "$1/usr/share/initramfs-tools/modules.d/debforge-vm"' \
  "$release" "$root" "$mirror"

echo debforge-guest > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 debforge-guest\n' > "$root/etc/hosts"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' > "$root/etc/fstab"
# QEMU user networking: DHCP from 10.0.2.2's slirp, DNS at 10.0.2.3.
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' > "$root/etc/systemd/network/10-qemu.network"
rm -f "$root/etc/resolv.conf"
echo 'nameserver 10.0.2.3' > "$root/etc/resolv.conf"
echo "deb $mirror $release main" > "$root/etc/apt/sources.list"
rm -f "$root/etc/apt/sources.list.d/"*.sources 2>/dev/null || true
chroot "$root" systemctl enable systemd-networkd.service
# Waiting for "online" and periodic jobs only slow boots and steal the one CPU.
for u in systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
  fstrim.timer e2scrub_all.timer e2scrub_reap.service man-db.timer dpkg-db-backup.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done

# root (the admin) and alice (a user) log in with the test's key only.
chroot "$root" useradd --create-home --shell /bin/bash alice
for home in /root /home/alice; do
  install -d -m 0700 "$root$home/.ssh"
  install -m 0600 "$pubkey" "$root$home/.ssh/authorized_keys"
done
chroot "$root" chown -R alice:alice /home/alice/.ssh
printf 'PasswordAuthentication no\nUseDNS no\n' > "$root/etc/ssh/sshd_config.d/debforge-vm.conf"

cp "$root"/boot/vmlinuz-* "$out/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/initrd.img"
rm -f "$out/disk.raw"
mkfs.ext4 -q -L debforge-root -d "$root" "$out/disk.raw" 3G
