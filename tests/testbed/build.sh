#!/usr/bin/env bash
# Builds the L1 guest of the real-KVM test bed (docs/paravirt.md "The real-KVM
# test bed") into build/testbed/: Debian's cloud kernel and busybox-static,
# fetched once with `apt-get download` into build/testbed/debs and unpacked
# with `dpkg-deb -x` into build/testbed/root (the host's /boot is never
# touched), and build/testbed/initramfs.cpio holding busybox, the kernel's
# irqbypass/kvm/kvm-amd modules (and tun, for vmm-harness's `--net tap=`),
# vmm-harness and its KVM test binary with their glibc libraries, idle-vm,
# exec-stamp and the static build/vmm-harness (for `testbed.bench=vmm`),
# Vireo's kernel.elf, initrd.cpio and disk.img (for `--disk`), and
# tests/testbed/init as /init. `make testbed` runs it (after `make all`).
#
# When the packages cannot be fetched (no network, no Debian package index),
# it writes the reason to build/testbed/unavailable and exits 0: the test then
# says so and skips rather than failing the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/testbed
here=tests/testbed
mkdir -p "$out/debs"
rm -f "$out/unavailable" "$out/initramfs.cpio"

unavailable() {
	echo "$*" >"$out/unavailable"
	echo "testbed: $*" >&2
	exit 0
}

for f in build/kernel.elf build/initrd.cpio build/disk.img build/vmm-harness target/release/mkinitrd; do
	[ -f "$f" ] || { echo "testbed: $f is missing: run \`make all\` first" >&2; exit 1; }
done

# vmm-harness and its tests/boot.rs test binary, built now so the
# binary is the one `cargo test` runs on the host too.
cargo build --release --quiet -p vmm-harness
json=$(cargo test --release --quiet --no-run -p vmm-harness --test boot --message-format=json)
harness_tests=$(grep '"kind":\["test"\]' <<<"$json" | grep -o '"executable":"[^"]*"' | cut -d'"' -f4 | tail -n1)
harness_bin=$(grep '"kind":\["bin"\]' <<<"$json" | grep '"name":"vmm-harness"' | grep -o '"executable":"[^"]*"' |
	cut -d'"' -f4 | tail -n1)
[ -x "$harness_tests" ] && [ -x "$harness_bin" ] || { echo "testbed: cannot find the vmm-harness binaries" >&2; exit 1; }

# The packages, once: the versioned image package behind linux-image-cloud-amd64.
if ! ls "$out"/debs/linux-image-*.deb >/dev/null 2>&1 || ! ls "$out"/debs/busybox-static_*.deb >/dev/null 2>&1; then
	image_package() {
		apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | head -n1 || true
	}
	image=$(image_package)
	# A fresh Debian container has no package index yet; root may fetch one.
	if [ -z "$image" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		apt-get update -qq >/dev/null 2>&1 || true
		image=$(image_package)
	fi
	[ -n "$image" ] || unavailable "apt-cache knows no linux-image-cloud-amd64 (not Debian, or no package index: apt-get update)"
	rm -f "$out"/debs/*.deb
	(cd "$out/debs" && apt-get download -q "$image" busybox-static >/dev/null 2>../download.log) ||
		unavailable "apt-get download $image busybox-static failed: $(tail -n1 "$out/download.log")"
	rm -rf "$out/root"
fi
if [ ! -x "$out/root/bin/busybox" ]; then
	rm -rf "$out/root"
	for d in "$out"/debs/*.deb; do dpkg-deb -x "$d" "$out/root"; done
fi

vmlinuz=$(ls "$out"/root/boot/vmlinuz-* | head -n1)
ver=${vmlinuz##*/vmlinuz-}
mods=$out/root/lib/modules/$ver/kernel
# The .deb has no modules.dep: the load order (kvm needs irqbypass, kvm-amd
# needs kvm) is in tests/testbed/init.
for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-amd.ko drivers/net/tun.ko; do
	[ -f "$mods/$m" ] || { echo "testbed: $mods/$m is missing (compressed modules? a newer kernel?)" >&2; exit 1; }
done
ln -sf "root/boot/vmlinuz-$ver" "$out/vmlinuz"

# idle-vm: static, so it needs no libraries.
if [ ! -x "$out/idle-vm" ] || [ "$here/idle-vm.c" -nt "$out/idle-vm" ]; then
	cc -O2 -static -Wall -o "$out/idle-vm" "$here/idle-vm.c"
fi
# exec-stamp: the same (`testbed.bench=vmm` times vmm-harness from exec).
if [ ! -x "$out/exec-stamp" ] || [ "$here/exec-stamp.c" -nt "$out/exec-stamp" ]; then
	cc -O2 -static -Wall -o "$out/exec-stamp" "$here/exec-stamp.c"
fi

# CARGO_BIN_EXE_vmm-harness, compiled into the test binary: init links it.
echo "$harness_bin" >"$out/harness-bin-path"

# The dynamic binaries' libraries (glibc and friends), at their own paths.
libs=()
for lib in $( (ldd "$harness_bin" && ldd "$harness_tests") | grep -o '/[^ ]*' | sort -u); do
	libs+=("${lib#/}=$lib")
done

target/release/mkinitrd -o "$out/initramfs.cpio" \
	init="$here/init" \
	bin/busybox="$out/root/bin/busybox" \
	lib/modules/irqbypass.ko="$mods/virt/lib/irqbypass.ko" \
	lib/modules/kvm.ko="$mods/arch/x86/kvm/kvm.ko" \
	lib/modules/kvm-amd.ko="$mods/arch/x86/kvm/kvm-amd.ko" \
	lib/modules/tun.ko="$mods/drivers/net/tun.ko" \
	testbed/idle-vm="$out/idle-vm" \
	testbed/exec-stamp="$out/exec-stamp" \
	testbed/vmm-harness-static=build/vmm-harness \
	testbed/vmm-harness="$harness_bin" \
	testbed/harness-tests="$harness_tests" \
	testbed/harness-bin-path="$out/harness-bin-path" \
	vireo/kernel.elf=build/kernel.elf \
	vireo/initrd.cpio=build/initrd.cpio \
	vireo/disk.img=build/disk.img \
	"${libs[@]}"
echo "testbed: $out/initramfs.cpio ($(($(stat -c %s "$out/initramfs.cpio") / 1024)) KiB, L1 kernel $ver)"
