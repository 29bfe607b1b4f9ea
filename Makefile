# Vireo: build, run, test and benchmark.
#
#   make run     boot Vireo in QEMU with the serial console on this terminal
#   make test    build everything and run every test (what CI runs)
#   make bench   boot-cost measurements, then bench-fs and bench-http (never fails on a number)
#   make bench-fs  file-system benchmark, Vireo against a Linux guest
#   make bench-http  HTTP benchmark (wrk), Vireo's httpd against a Linux guest
#   make bench-overcommit  PV on against nopv=all with more vCPUs than CPUs
#   make fuzz-parsers  fuzz the kernel's byte parsers (FUZZ_SECONDS each)
#   make lint    formatting (rustfmt) and lints (clippy) of every crate, host and guest
#   make deps    install what the build needs (a no-op when all is present)
#   make testbed build/testbed/: the L1 guest of the real-KVM test bed (make test runs it)
#   make disk    build/disk.img: an ext4 image of the system's programs
#   make runner  build/vireo-run: the cargo runner for x86_64-unknown-motor (docs/runtime.md)
#
# Guest code (guest-kernel, guest-userspace) needs a rustc with rust-src for
# -Zbuild-std. We use, in order of preference:
#   1. Debian's rustc-web/cargo-web/rust-web-src (1.96) with RUSTC_BOOTSTRAP=1,
#      the toolchain the project is pinned to (moto-rt ABI 16);
#   2. a rustup nightly that has the rust-src component.
# Host code (pv-abi, vmm-harness, tests) builds with the ordinary stable cargo.

SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD   := build
KERNEL  := $(BUILD)/kernel.elf
HARNESS := $(BUILD)/vmm-harness
# build/initrd.cpio: every program, the tests' and benchmarks' ones too (the
# tests boot it); build/system.cpio: the system initrd a machine boots with
# its root disk (init, the I/O server, the runtime, launch, hello, the shell).
INITRD  := $(BUILD)/initrd.cpio
SYSTEM_INITRD := $(BUILD)/system.cpio
# build/vmm-harness is linked statically (static-pie): no dynamic loader
# before main(), about 0.4 ms less from exec to the first KVM_RUN here
# (docs/benchmarks.md "VMM start"). --target keeps the flag off build
# scripts and proc macros, and this build in its own target directory.
HOST_TRIPLE := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
HARNESS_RUSTFLAGS := -C target-feature=+crt-static

# Kernel command line for `make run`: by default init runs the shell on the
# console; e.g. `make run CMDLINE=selftest`, `CMDLINE="-- /bin/hello"`.
CMDLINE ?= -- /bin/sh
# vCPUs and memory for `make run`.
CPUS ?= 1
MEM  ?= 256M

DEBIAN_RUSTC    := /usr/bin/rustc
DEBIAN_CARGO    := /usr/bin/cargo
DEBIAN_RUST_SRC := /usr/lib/rustlib/src/rust/library/core
DEBIAN_GUEST_PKGS := rustc-web cargo-web rust-web-src
DEBIAN_CLIPPY     := /usr/bin/cargo-clippy
DEBIAN_CLIPPY_PKG := rust-web-clippy

# Evaluated lazily (`=`), so a toolchain that `make deps` just installed is seen.
debian_guest_ok = $(and $(wildcard $(DEBIAN_RUST_SRC)),$(shell $(DEBIAN_RUSTC) --version 2>/dev/null | grep -qE '^rustc 1\.(9[6-9]|[1-9][0-9]{2})' && echo yes))
nightly_guest_ok = $(shell s=$$(rustup run nightly rustc --print sysroot 2>/dev/null) && [ -d "$$s/lib/rustlib/src/rust/library/core" ] && echo yes)
GUEST_CARGO = $(if $(debian_guest_ok),env RUSTC=$(DEBIAN_RUSTC) RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 $(DEBIAN_CARGO),$(if $(nightly_guest_ok),rustup run nightly cargo,$(error no guest toolchain: install Debian's '$(DEBIAN_GUEST_PKGS)' (make deps does) or 'rustup toolchain install nightly --component rust-src')))

# Clippy for the guest crates, with the same toolchain as their build
# (Debian's cargo-clippy is found first on PATH).
GUEST_CLIPPY = $(if $(debian_guest_ok),env RUSTC=$(DEBIAN_RUSTC) RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 PATH=/usr/bin:$$PATH $(DEBIAN_CARGO) clippy,rustup run nightly cargo clippy)

# KVM only when the host CPU virtualises in hardware; kvm-pvm hosts have
# neither vmx nor svm and must use TCG.
QEMU_ACCEL = $(shell if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then echo "-accel kvm -cpu host"; else echo "-accel tcg"; fi)

# isa-debug-exit makes QEMU exit with (code << 1) | 1: report the guest's code.
QEMU_STATUS = s=$$?; if [ $$((s & 1)) = 1 ]; then exit $$((s >> 1)); else exit $$s; fi

.PHONY: all deps kernel harness initrd disk runner run run-q35 test lint bench clean

all: kernel harness initrd disk runner

deps:
	@missing=""; \
	command -v qemu-system-x86_64 >/dev/null || missing="$$missing qemu-system-x86"; \
	command -v ld >/dev/null || missing="$$missing binutils"; \
	for t in mkfs.ext4 e2fsck debugfs; do \
		PATH=$$PATH:/usr/sbin:/sbin command -v $$t >/dev/null || { missing="$$missing e2fsprogs"; break; }; done; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	if ! command -v cc >/dev/null; then missing="$$missing gcc libc6-dev"; \
	elif [ "$$(cc -print-file-name=libc.a)" = libc.a ]; then missing="$$missing libc6-dev"; fi; \
	if [ -z "$(debian_guest_ok)" ] && [ -z "$(nightly_guest_ok)" ]; then missing="$$missing $(DEBIAN_GUEST_PKGS)"; fi; \
	if [ -z "$(nightly_guest_ok)" ] && [ ! -x $(DEBIAN_CLIPPY) ]; then missing="$$missing $(DEBIAN_CLIPPY_PKG)"; fi; \
	if ! command -v cargo >/dev/null; then \
		echo "make deps: no host cargo: install Rust stable (https://rustup.rs)"; exit 1; fi; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "make deps: installing$$missing"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq >/dev/null && \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
			{ echo "make deps: apt-get install$$missing failed"; exit 1; }; \
		else \
			echo "make deps: missing$$missing: install them (Debian: sudo apt-get install$$missing)"; exit 1; \
		fi; \
	fi

kernel: deps
	@mkdir -p $(BUILD)
	cd guest-kernel && $(GUEST_CARGO) build --release --quiet
	@cp guest-kernel/target/x86_64-unknown-none/release/vireo-kernel $(KERNEL)

harness: deps
	@mkdir -p $(BUILD)
	CARGO_TARGET_$(shell echo $(HOST_TRIPLE) | tr a-z- A-Z_)_RUSTFLAGS="$(HARNESS_RUSTFLAGS)" \
		cargo build --release --quiet -p vmm-harness --target $(HOST_TRIPLE)
	@cp target/$(HOST_TRIPLE)/release/vmm-harness $(HARNESS)

# The cargo runner for x86_64-unknown-motor (docs/runtime.md, "cargo run and
# cargo test"): `runner = "/path/to/build/vireo-run"` in a crate's
# .cargo/config.toml. It finds kernel.elf and system.cpio beside itself.
RUNNER := $(BUILD)/vireo-run
runner: deps
	@mkdir -p $(BUILD)
	cargo build --release --quiet -p vireo-run
	@cp target/release/vireo-run $(RUNNER)

# User space (guest-userspace/): the raw-ABI runtime and its programs, built
# as static-PIE executables (its own .cargo/config.toml, hence the cd) and
# checked to be what the kernel's loader accepts. USER_PROGRAMS lists them as
# DEST=SRC pairs for the initrd (DEST is the path inside it).
USERSPACE_OUT  := guest-userspace/target/x86_64-unknown-none/release
USERSPACE_BINS := init io-server hello spin crash alloc-bomb \
	test-spawn test-threads test-preempt test-faults test-syscalls test-devices test-blk test-oom test-vm test-elf test-ioring test-services test-io-dies bench-ipc \
	test-std motor-rt fuzz-syscalls fuzz-regress
USER_PROGRAMS += init=$(USERSPACE_OUT)/init
# The I/O server (guest-userspace/servers/io): init starts it first.
USER_PROGRAMS += sbin/io=$(USERSPACE_OUT)/io-server
# A stand-in server that dies after saying ready (init's supervision test).
USER_PROGRAMS += test/io-dies=$(USERSPACE_OUT)/test-io-dies
USER_PROGRAMS += $(foreach p,hello spin crash alloc-bomb,bin/$(p)=$(USERSPACE_OUT)/$(p))
USER_PROGRAMS += $(foreach p,spawn threads preempt faults syscalls devices blk oom vm,test/$(p)=$(USERSPACE_OUT)/test-$(p))
# test/elf/ holds the malformed-ELF fixtures that test-elf spawns.
USER_PROGRAMS += test/loader=$(USERSPACE_OUT)/test-elf
# The I/O channel between two processes (lib/io-channel).
USER_PROGRAMS += test/ioring=$(USERSPACE_OUT)/test-ioring
# Named services, InitrdMap and SpawnImage.
USER_PROGRAMS += test/services=$(USERSPACE_OUT)/test-services
USER_PROGRAMS += bench/ipc=$(USERSPACE_OUT)/bench-ipc
# The system-call fuzzer (docs/fuzzing.md).
USER_PROGRAMS += test/fuzz=$(USERSPACE_OUT)/fuzz-syscalls
USER_PROGRAMS += test/fuzz-regress=$(USERSPACE_OUT)/fuzz-regress
# Rust std for x86_64-unknown-motor (docs/runtime.md): the runtime the kernel
# maps into every motor-target process, the std programs, and their test.
USER_PROGRAMS += sys/motor-rt=$(USERSPACE_OUT)/motor-rt
USER_PROGRAMS += test/std=$(USERSPACE_OUT)/test-std
STD_PROGRAMS_OUT  := guest-userspace/std-programs/target/x86_64-unknown-motor/release
STD_PROGRAMS_BINS := hello-std
# std-suite: the std test suite; std-first-main: reads the TSC first thing in main.
STD_PROGRAMS_BINS += std-suite std-first-main
# command: std::process::Command (pipes, env, kill, 1,000 spawn/wait cycles).
STD_PROGRAMS_BINS += command
# std::fs (docs/storage.md): the suite, the concurrency stress, the crash-test writer.
STD_PROGRAMS_BINS += fs-suite fs-stress fs-crash
# fs-bench: the file-system benchmark of `make bench-fs`.
STD_PROGRAMS_BINS += fs-bench
# httpd: the static-file web server (docs/network.md "httpd"; serves /srv/www).
STD_PROGRAMS_BINS += httpd
# dns-lookup: names through std's ToSocketAddrs (the I/O server's resolver).
STD_PROGRAMS_BINS += dns-lookup
# net-suite: the std::net suite (tests/tests/net_std.rs, docs/network.md).
STD_PROGRAMS_BINS += net-suite
# bench-mark: runs the server of `make bench-http` and answers its `mark` lines.
STD_PROGRAMS_BINS += bench-mark
# overcommit: the user-space half of the overcommit benchmark (docs/paravirt.md).
STD_PROGRAMS_BINS += overcommit
# mem-release: touches then frees memory (the free-page reporting test).
STD_PROGRAMS_BINS += mem-release
# sh: the shell (docs/shell.md); coreutils: small tools, one multicall program.
STD_PROGRAMS_BINS += sh coreutils
USER_PROGRAMS += $(foreach p,$(STD_PROGRAMS_BINS),bin/$(p)=$(STD_PROGRAMS_OUT)/$(p))
# launch: how init runs a program that is not in the initrd (from the disk).
STD_PROGRAMS_BINS += launch
USER_PROGRAMS += sbin/launch=$(STD_PROGRAMS_OUT)/launch
# coreutils under each tool's name (it picks the tool by the name it runs as).
# In the initrd only what a disk-less boot's shell needs: each name is a
# whole 247 KB copy there (no links in cpio), and the kernel checks every
# initrd byte at boot (16 more tools cost 15 k instructions per boot). The
# rest are on the disk only (DISK_PROGRAMS).
COREUTILS_TOOLS := cat sleep
COREUTILS_DISK_TOOLS := cp date df echo env fetch grep head hexdump ip ls mkdir mv ping pwd rm rmdir tail touch wc ps top free uptime kill
USER_PROGRAMS += $(foreach t,$(COREUTILS_TOOLS),bin/$(t)=$(STD_PROGRAMS_OUT)/coreutils)
DISK_PROGRAMS := $(foreach t,$(COREUTILS_DISK_TOOLS),bin/$(t)=$(STD_PROGRAMS_OUT)/coreutils)
# Std programs only the disk has: edit, the full-screen editor (docs/shell.md).
STD_DISK_BINS := edit
DISK_PROGRAMS += $(foreach p,$(STD_DISK_BINS),bin/$(p)=$(STD_PROGRAMS_OUT)/$(p))
# hello-std asking for moto-rt ABI version 17 (the unsupported-version test):
# a copy whose `mov edi, 16` before the call to vdso_entry is patched on the
# host by motor-abi-patch (guest-userspace/host-tools/mkinitrd/src/motor_patch.rs).
HELLO_STD_V17 := $(BUILD)/hello-std-v17
USER_PROGRAMS += bin/hello-std-v17=$(HELLO_STD_V17)
# hello-std with no symbol table (what `strip = true` in a release profile
# gives): the kernel must still give it the runtime (docs/runtime.md).
HELLO_STD_STRIPPED := $(BUILD)/hello-std-stripped
USER_PROGRAMS += bin/hello-std-stripped=$(HELLO_STD_STRIPPED)

# smoltcp with Vireo's patch (guest-userspace/patches/, docs/network.md
# "smoltcp"): the exact published 0.14.0 (SHA-256 as in crates.io's index),
# unpacked and patched into build/crates/, where guest-userspace/Cargo.toml's
# [patch.crates-io] finds it. Every cargo run in guest-userspace/ needs it
# (cargo resolves the whole workspace, even for one host-target crate), so
# every target that runs one depends on `crates`. Made again only when the
# patch changes.
SMOLTCP_VERSION := 0.14.0
SMOLTCP_SHA256  := b6f8b28ad56c6e35524a37dd492af5d1a47e31e1a4d175cd12f89c075f01980f
SMOLTCP_PATCHES := guest-userspace/patches/smoltcp-$(SMOLTCP_VERSION)-min-rto.patch \
	guest-userspace/patches/smoltcp-$(SMOLTCP_VERSION)-take-buffers.patch \
	guest-userspace/patches/smoltcp-$(SMOLTCP_VERSION)-dup-fin-ack.patch
SMOLTCP_DIR     := $(BUILD)/crates/smoltcp-$(SMOLTCP_VERSION)
# rsext4 the same way (guest-userspace/patches/rsext4-*.patch, docs/storage.md):
# the journal's blocks from its extent runs at mount.
RSEXT4_VERSION := 0.9.2
RSEXT4_SHA256  := d10f5947a8d47b4cca4da1b2e394ebd46fec43e3dfca8622a14c416fefd0cf38
RSEXT4_PATCHES := guest-userspace/patches/rsext4-$(RSEXT4_VERSION)-journal-runs.patch
RSEXT4_DIR     := $(BUILD)/crates/rsext4-$(RSEXT4_VERSION)
# The patched smoltcp's own TCP tests (the patches add theirs there), on the
# host, in their own target directory. test_rtt_estimator is skipped: its
# table assumes the 1 s minimum RTO that the min-RTO patch lowers.
SMOLTCP_TCP_TEST = cd $(SMOLTCP_DIR) && CARGO_TARGET_DIR=$(CURDIR)/$(BUILD)/crates/target \
	cargo test --quiet --lib socket::tcp -- --skip test_rtt_estimator
# The patched rsext4's own unit tests (the patch adds one).
RSEXT4_TEST = cd $(RSEXT4_DIR) && CARGO_TARGET_DIR=$(CURDIR)/$(BUILD)/crates/target cargo test --quiet --lib
.PHONY: crates
crates: $(SMOLTCP_DIR)/.vireo-patched $(RSEXT4_DIR)/.vireo-patched
$(SMOLTCP_DIR)/.vireo-patched: $(SMOLTCP_PATCHES) guest-userspace/patches/patch-crate.sh
	guest-userspace/patches/patch-crate.sh smoltcp $(SMOLTCP_VERSION) $(SMOLTCP_SHA256) $(SMOLTCP_DIR) $(SMOLTCP_PATCHES)
$(RSEXT4_DIR)/.vireo-patched: $(RSEXT4_PATCHES) guest-userspace/patches/patch-crate.sh
	guest-userspace/patches/patch-crate.sh rsext4 $(RSEXT4_VERSION) $(RSEXT4_SHA256) $(RSEXT4_DIR) $(RSEXT4_PATCHES)

.PHONY: userspace
userspace: deps crates
	cd guest-userspace && $(GUEST_CARGO) build --release --quiet
	@guest-userspace/host-tools/check-elf.sh -q --raw $(addprefix $(USERSPACE_OUT)/,$(USERSPACE_BINS))

# Unmodified Rust std programs for the tier-3 target x86_64-unknown-motor
# (guest-userspace/std-programs: its own workspace and .cargo/config.toml,
# -Zbuild-std=std,panic_abort; linked by cc/GNU ld as static PIE).
.PHONY: std-programs
std-programs: deps
	cd guest-userspace/std-programs && $(GUEST_CARGO) build --release --quiet
	@guest-userspace/host-tools/check-elf.sh -q --std $(addprefix $(STD_PROGRAMS_OUT)/,$(STD_PROGRAMS_BINS) $(STD_DISK_BINS))

# The system initrd (build/system.cpio): only what boots the system before
# `/` is mounted, and the shell init starts; every other program comes from
# the root disk (which has all of them, USER_PROGRAMS included), so the boot
# image stays within the 2 MiB target with the kernel (docs/benchmarks.md).
# Symbol tables stripped (the unstripped programs stay in target/ for
# addr2line).
SYSTEM_PROGRAMS := init=$(USERSPACE_OUT)/init sbin/io=$(USERSPACE_OUT)/io-server \
	sys/motor-rt=$(USERSPACE_OUT)/motor-rt sbin/launch=$(STD_PROGRAMS_OUT)/launch \
	bin/hello=$(USERSPACE_OUT)/hello bin/sh=$(STD_PROGRAMS_OUT)/sh
SYSTEM_DESTS := $(foreach p,$(SYSTEM_PROGRAMS),$(firstword $(subst =, ,$(p))))
SYSTEM_STAGE := $(BUILD)/system
# The initrd (PVH module 0; QEMU -initrd): the USER_PROGRAMS (DEST=SRC
# pairs, above) plus the loader's malformed-ELF fixtures under test/elf/
# (guest-userspace/host-tools/mkinitrd/README.md). mkinitrd is a host tool.
initrd: userspace std-programs
	@mkdir -p $(BUILD)
	cargo build --release --quiet -p mkinitrd
	@target/release/motor-abi-patch $(STD_PROGRAMS_OUT)/hello-std $(HELLO_STD_V17) 17
	@strip -o $(HELLO_STD_STRIPPED) $(STD_PROGRAMS_OUT)/hello-std
	@guest-userspace/host-tools/check-elf.sh -q --std $(HELLO_STD_STRIPPED)
	target/release/mkinitrd -o $(INITRD) --fixtures $(USER_PROGRAMS)
	@rm -rf $(SYSTEM_STAGE) && mkdir -p $(SYSTEM_STAGE)
	@for pair in $(SYSTEM_PROGRAMS); do dest=$(SYSTEM_STAGE)/$${pair%%=*}; \
		mkdir -p "$$(dirname "$$dest")" && strip -o "$$dest" "$${pair#*=}" || exit 1; done
	target/release/mkinitrd -o $(SYSTEM_INITRD) $(foreach d,$(SYSTEM_DESTS),$(d)=$(SYSTEM_STAGE)/$(d))

# The disk (docs/storage.md): a 64 MiB sparse ext4 image holding the
# USER_PROGRAMS at the same paths as in the initrd, the DISK_PROGRAMS, and etc/motd, made by
# e2fsprogs' mkfs.ext4 -d from a staging tree. Debian's ext4 features (journal,
# extents, 64bit, metadata_csum, flex_bg, huge_file, dir_index) with 4 KiB
# blocks, as an ordinary host-made image has. Reproducible: fixed UUID and
# hash seed, every time stamp DISK_EPOCH (staged files are touched, mke2fs's
# and debugfs's own clocks are E2FSPROGS_FAKE_TIME, and the ctimes that -d
# copies from the staging tree are reset by debugfs), tables initialised now
# rather than lazily.
DISK       := $(BUILD)/disk.img
DISK_ROOT  := $(BUILD)/disk-root
DISK_SIZE  := 64M
DISK_UUID  := 5ee1ab1e-0000-4000-8000-000000000001
DISK_EPOCH := 1735689600
# What httpd serves by default (/srv/www): a page and a few sample files.
HTTPD_WWW  := guest-userspace/std-programs/httpd/www
E2FS_ENV   := PATH=$$PATH:/usr/sbin:/sbin E2FSPROGS_FAKE_TIME=$(DISK_EPOCH) SOURCE_DATE_EPOCH=$(DISK_EPOCH)
disk: initrd
	@rm -rf $(DISK_ROOT) $(DISK) && mkdir -p $(DISK_ROOT)/etc
	@for pair in $(USER_PROGRAMS) $(DISK_PROGRAMS); do \
		dest=$(DISK_ROOT)/$${pair%%=*}; mkdir -p "$$(dirname "$$dest")"; \
		install -m 0755 "$${pair#*=}" "$$dest" || exit 1; done
	@echo "Welcome to Vireo." > $(DISK_ROOT)/etc/motd
	@mkdir -p $(DISK_ROOT)/srv/www && install -m 0644 $(HTTPD_WWW)/* $(DISK_ROOT)/srv/www/
	@# Where the I/O server's made-up /sys/fs and /sys/net appear (docs/network.md "System files").
	@mkdir -p $(DISK_ROOT)/sys/fs $(DISK_ROOT)/sys/net
	@find $(DISK_ROOT) -exec touch -h -d @$(DISK_EPOCH) {} +
	@truncate -s $(DISK_SIZE) $(DISK)
	$(E2FS_ENV) mkfs.ext4 -q -F -t ext4 -b 4096 -I 256 -L vireo -U $(DISK_UUID) \
		-E root_owner=0:0,hash_seed=$(DISK_UUID),lazy_itable_init=0,lazy_journal_init=0,nodiscard \
		-d $(DISK_ROOT) $(DISK)
	@(cd $(DISK_ROOT) && find . | sed 's|^\.||; s|^$$|/|; s|.*|sif "&" ctime @$(DISK_EPOCH)|') > $(BUILD)/disk-ctime.debugfs
	@$(E2FS_ENV) debugfs -w -f $(BUILD)/disk-ctime.debugfs $(DISK) >/dev/null 2>&1
	@$(E2FS_ENV) e2fsck -fn $(DISK) >/dev/null || { echo "make disk: e2fsck finds $(DISK) inconsistent"; exit 1; }

# Your own std program: `make run-app APP=path/to/crate [CPUS=n] [ARGS="..."]`
# builds the crate for x86_64-unknown-motor with the flags of std-programs
# (build-std, panic=abort, opt-level s, LTO; target dir build/apps/) and runs
# it with the cargo runner (build/vireo-run): a copy of the system's initrd
# with the app at /app/NAME, QEMU microvm with the disk (`/` is
# build/disk.img, as for `make run`), the network and the balloon. The
# console shows the app's output (VERBOSE=1: the whole boot); make's status
# is the app's. If the crate has several binaries, BIN=name picks one.
# RUN_APP_DEPS= skips rebuilding the system (the tests do, after `make all`).
APP ?=
ARGS ?=
BIN ?=
VERBOSE ?=
APPS_DIR   := $(BUILD)/apps
RUN_APP_DEPS ?= kernel initrd runner
.PHONY: run-app
run-app: $(RUN_APP_DEPS)
	@if [ -z "$(APP)" ] || [ ! -f "$(APP)/Cargo.toml" ]; then \
		echo "make run-app: APP=path/to/crate (a directory with a Cargo.toml)"; exit 2; fi
	@mkdir -p $(APPS_DIR)
	@echo "make run-app: building $(APP) for x86_64-unknown-motor (the first build also builds std)"
	@cd "$(APP)" && $(GUEST_CARGO) build --release --quiet \
		--target x86_64-unknown-motor -Zbuild-std=std,panic_abort \
		--config 'profile.release.panic="abort"' --config 'profile.release.opt-level="s"' \
		--config 'profile.release.codegen-units=1' --config 'profile.release.lto=true' \
		--target-dir "$(abspath $(APPS_DIR))" $(if $(BIN),--bin $(BIN)) \
		--message-format=json-render-diagnostics > "$(abspath $(APPS_DIR))/build.json"
	@exe=$$(grep -o '"executable":"[^"]*"' $(APPS_DIR)/build.json | cut -d'"' -f4 | sort -u); \
	if [ $$(echo "$$exe" | grep -c .) != 1 ]; then \
		echo "make run-app: expected one binary in $(APP), got: $$exe (pick one with BIN=name)"; exit 2; fi; \
	$(RUNNER) --cpus $(CPUS) --mem $(MEM) $(if $(DISK_RUN),--disk $(DISK_RUN)) $(if $(NET_RUN),--net=$(NET_RUN)) \
		$(if $(BALLOON_RUN),--balloon) $(if $(VERBOSE),--verbose) "$$exe" $(ARGS)

# QEMU microvm, PVH via -kernel, serial on this terminal (Ctrl-A X quits).
# `/` is build/disk.img (ext4, read-write: what programs write stays there);
# Booted with the system initrd (build/system.cpio), as a machine with a root
# disk is; `make run DISK_RUN=` boots without the disk, with the full initrd
# (build/initrd.cpio: every program) as `/`, read-only.
# A virtio-net card on QEMU user networking (docs/network.md: DHCP gives
# 10.0.2.15, gateway 10.0.2.2, DNS 10.0.2.3); `make run NET_RUN=` boots
# without one. Network options go after `--`, e.g.
# CMDLINE="-- ip=10.0.2.20/24,10.0.2.2 dns=10.0.2.3 net.probe /bin/sh".
DISK_RUN ?= $(DISK)
RUN_INITRD = $(if $(DISK_RUN),$(SYSTEM_INITRD),$(INITRD))
NET_RUN ?= user
comma := ,
run_drive = $(if $(DISK_RUN),-drive file=$(DISK_RUN)$(comma)format=raw$(comma)if=none$(comma)id=d0 -device $(1)$(comma)drive=d0)
run_net = $(if $(NET_RUN),-netdev $(NET_RUN)$(comma)id=n0 -device $(1)$(comma)netdev=n0)
# A virtio-balloon with free-page reporting (docs/paravirt.md): memory
# programs free goes back to the host; `make run BALLOON_RUN=` boots without.
BALLOON_RUN ?= on
run_balloon = $(if $(BALLOON_RUN),-device $(1)$(comma)free-page-reporting=on)
# microvm's virtio-mmio devices in their modern (version 2) form.
MMIO_MODERN = $(if $(DISK_RUN)$(NET_RUN)$(BALLOON_RUN),-global virtio-mmio.force-legacy=false)

run: kernel initrd $(if $(DISK_RUN),disk)
	qemu-system-x86_64 -M microvm $(QEMU_ACCEL) -m $(MEM) -smp $(CPUS) \
		-nodefaults -no-user-config -display none -serial mon:stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 $(MMIO_MODERN) $(call run_drive,virtio-blk-device) \
		$(call run_net,virtio-net-device) $(call run_balloon,virtio-balloon-device) -kernel $(KERNEL) -initrd $(RUN_INITRD) -append "$(CMDLINE)"; $(QEMU_STATUS)

# The same on q35 (virtio-pci machine, SeaBIOS's PVH option ROM; SeaBIOS's
# own serial console is switched off so the terminal shows only Vireo).
run-q35: kernel initrd $(if $(DISK_RUN),disk)
	qemu-system-x86_64 -M q35 $(QEMU_ACCEL) -m $(MEM) -smp $(CPUS) \
		-nodefaults -no-user-config -display none -serial mon:stdio -no-reboot \
		-fw_cfg name=etc/sercon-port,string=0 \
		-device isa-debug-exit,iobase=0xf4,iosize=4 $(call run_drive,virtio-blk-pci) \
		$(call run_net,virtio-net-pci) $(call run_balloon,virtio-balloon-pci) -kernel $(KERNEL) -initrd $(RUN_INITRD) -append "$(CMDLINE)"; $(QEMU_STATUS)

# vireo-virtio (guest-userspace/lib/virtio) is a guest library whose unit
# tests run on the host against a mock device: the host's stable cargo, in
# the guest workspace (its [unstable] build-std is ignored off nightly), for
# the host target, without the kernel glue (feature `rt`).
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
VIRTIO_HOST_ARGS = -p vireo-virtio --no-default-features --target $(HOST_TRIPLE)
VIRTIO_HOST_TEST = cd guest-userspace && cargo test --quiet $(VIRTIO_HOST_ARGS)
# httpd (a std program) is plain std: its unit tests and its host tests
# (tests/host.rs: the binary on 127.0.0.1 against a temp root) run on the
# host target with the host's stable cargo, like vireo-virtio's.
HTTPD_HOST_ARGS = -p httpd --target $(HOST_TRIPLE)
HTTPD_HOST_TEST = cd guest-userspace/std-programs && cargo test --release --quiet $(HTTPD_HOST_ARGS)
.PHONY: test-httpd
test-httpd:
	$(HTTPD_HOST_TEST)
# vireo-dns (guest-userspace/lib/dns), the resolver without I/O: the same
# way (its tests include a deterministic fuzz of the reply parser).
DNS_HOST_ARGS = -p vireo-dns --target $(HOST_TRIPLE)
# The shell's parser, expansion, globbing, line editor and completion: unit
# tests on the host, the same way.
SH_HOST_ARGS = -p vireo-sh --target $(HOST_TRIPLE)
SH_HOST_TEST = cd guest-userspace/std-programs && cargo test --release --quiet $(SH_HOST_ARGS)
.PHONY: test-sh
test-sh:
	$(SH_HOST_TEST)
# coreutils' tools (argument parsing, grep's matcher, wc, hexdump, date...):
# plain std, so the same.
COREUTILS_HOST_ARGS = -p coreutils --target $(HOST_TRIPLE)
COREUTILS_HOST_TEST = cd guest-userspace/std-programs && cargo test --release --quiet $(COREUTILS_HOST_ARGS)
.PHONY: test-coreutils
test-coreutils:
	$(COREUTILS_HOST_TEST)
# The editor's buffer, key decoder and drawing (against an emulated VT100):
# the same way.
EDIT_HOST_ARGS = -p vireo-edit --target $(HOST_TRIPLE)
EDIT_HOST_TEST = cd guest-userspace/std-programs && cargo test --release --quiet $(EDIT_HOST_ARGS)
.PHONY: test-edit
test-edit:
	$(EDIT_HOST_TEST)

# Formatting (rustfmt.toml) and lints (each workspace's [lints]: every
# unsafe block documented) for every crate, host and guest; warnings fail.
lint: deps crates
	rustfmt --check $$(git ls-files '*.rs')
	cargo clippy --workspace --all-targets --release --quiet -- -D warnings
	cd guest-kernel && $(GUEST_CLIPPY) --release --quiet -- -D warnings
	cd guest-userspace && $(GUEST_CLIPPY) --release --quiet -- -D warnings
	cd guest-userspace && cargo clippy --quiet --all-targets $(VIRTIO_HOST_ARGS) -- -D warnings
	cd guest-userspace && cargo clippy --quiet --all-targets $(DNS_HOST_ARGS) -- -D warnings
	cd guest-userspace/std-programs && $(GUEST_CLIPPY) --release --quiet -- -D warnings
	cd guest-userspace/std-programs && cargo clippy --release --quiet --all-targets $(HTTPD_HOST_ARGS) -- -D warnings
	cd guest-userspace/std-programs && cargo clippy --release --quiet --all-targets $(SH_HOST_ARGS) -- -D warnings
	cd guest-userspace/std-programs && cargo clippy --release --quiet --all-targets $(COREUTILS_HOST_ARGS) -- -D warnings
	cd guest-userspace/std-programs && cargo clippy --release --quiet --all-targets $(EDIT_HOST_ARGS) -- -D warnings

# The real-KVM test bed (docs/paravirt.md): build/testbed/, the L1 Linux guest
# (Debian's cloud kernel and busybox-static, fetched once) that runs KVM under
# QEMU TCG; tests/tests/kvm_testbed.rs boots it. cc builds its idle-VM holder.
# The instruction-counting QEMU plugin (tests/profile/tbcount.c) for
# `vireo-bench-http --profile build/profile/tbcount.so` and
# tests/profile/report.py (docs/benchmarks.md "Profiling").
.PHONY: profile-plugin
profile-plugin: $(BUILD)/profile/tbcount.so
$(BUILD)/profile/tbcount.so: tests/profile/tbcount.c
	@mkdir -p $(BUILD)/profile
	cc -O2 -Wall -Wextra -shared -fPIC -o $@ $< -lpthread

.PHONY: testbed
testbed: kernel harness initrd disk
	tests/testbed/build.sh

test: all testbed crates
	cargo test --workspace --release
	$(VIRTIO_HOST_TEST)
	$(HTTPD_HOST_TEST)
	$(SH_HOST_TEST)
	$(COREUTILS_HOST_TEST)
	$(EDIT_HOST_TEST)
	cd guest-userspace && cargo test --quiet $(DNS_HOST_ARGS)
	$(SMOLTCP_TCP_TEST)
	$(RSEXT4_TEST)
	$(MAKE) --no-print-directory fuzz-parsers FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)

# The kernel's parsers of untrusted bytes (guest-kernel/parse: ACPI tables,
# cpio, ELF, start_info, virtio-mmio), and the I/O server's DNS replies
# (guest-userspace/lib/dns, target `dns`), and vmm-harness's virtqueue
# handling of guest descriptor tables (target `virtio_queue`) under
# libFuzzer, one target each for FUZZ_SECONDS, failing on any crash; crashing inputs land in
# guest-kernel/parse/fuzz/target/artifacts/. `make test` runs each for
# TEST_FUZZ_SECONDS; run longer by hand, e.g. `make fuzz-parsers
# FUZZ_SECONDS=600 FUZZ_TARGETS=elf`. Real programs join the ELF seeds.
FUZZ_SECONDS ?= 60
TEST_FUZZ_SECONDS ?= 5
FUZZ_TARGETS ?=
.PHONY: fuzz-parsers
fuzz-parsers:
	FUZZ_ELF_SEEDS="$(abspath $(wildcard $(USERSPACE_OUT)/hello $(USERSPACE_OUT)/init))" \
		guest-kernel/parse/fuzz/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Fuzzing by hand (docs/fuzzing.md; `make test` runs bounded versions).
#   make fuzz [CALLS=1000000] [SEED=n] [FUZZ_CPUS=4]   system calls, /test/fuzz as init
#   make fuzz-elf [SEED=n] [MUTANTS=n]                 n mutants each of a raw and a std program
# The seed is printed either way; the same seed replays the same calls per
# thread (the interleaving is the scheduler's) and the same mutants.
CALLS ?= 1000000
SEED ?=
FUZZ_CPUS ?= 4
MUTANTS ?=
.PHONY: fuzz fuzz-elf
fuzz: kernel initrd
	qemu-system-x86_64 -M microvm $(QEMU_ACCEL) -m $(MEM) -smp $(FUZZ_CPUS) \
		-nodefaults -no-user-config -display none -serial mon:stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel $(KERNEL) -initrd $(INITRD) \
		-append "init=/test/fuzz -- calls=$(CALLS) $(if $(SEED),seed=$(SEED))"; $(QEMU_STATUS)

fuzz-elf: all
	VIREO_FUZZ_SEED=$(SEED) VIREO_FUZZ_MUTANTS=$(MUTANTS) \
		cargo test --release -p vireo-tests --test fuzz mutated_elf -- --nocapture

# Boot-cost measurements (docs/benchmarks.md): a table on stdout, plus
# build/bench/boot.json and build/bench/boot-timeline.svg. Never fails on a
# number. `make bench BOOTS=5` (or VIREO_BENCH_BOOTS=5) sets the boots per VMM.
# Then the file-system benchmark (bench-fs) and the HTTP benchmark
# (bench-http); if one cannot run, the figures before it still stand and
# `make bench` still succeeds.
BOOTS ?=
bench: all testbed
	cargo run --release -q -p vireo-tests --bin vireo-bench -- $(if $(BOOTS),--boots $(BOOTS))
	@$(MAKE) --no-print-directory bench-vmm-run || echo "make bench: the vmm-harness start/restore benchmark failed (figures above)"
	@$(MAKE) --no-print-directory bench-fs-run || echo "make bench: the file-system benchmark failed (boot figures above)"
	@$(MAKE) --no-print-directory bench-http-run || echo "make bench: the HTTP benchmark failed (figures above)"
	@$(MAKE) --no-print-directory bench-overcommit-run || echo "make bench: the overcommit benchmark failed (figures above)"

# vmm-harness start and restore (docs/benchmarks.md "VMM start", "Snapshot
# and restore"): exec -> first KVM_RUN and restore -> first guest instruction
# on this machine's /dev/kvm, and the KVM calls' own cost; a table on stdout
# and build/bench/vmm.json. Never fails on a number. `make bench-vmm VMM_RUNS=5`
# (or VIREO_BENCH_VMM_RUNS).
.PHONY: bench-vmm bench-vmm-run
bench-vmm: kernel harness
	@$(MAKE) --no-print-directory bench-vmm-run
bench-vmm-run:
	cargo run --release -q -p vireo-tests --bin vireo-bench-vmm -- $(if $(VMM_RUNS),--runs $(VMM_RUNS))

# Overcommit benchmark (docs/paravirt.md "Measured"): PV on against nopv=all
# with every vCPU on one CPU, in the real-KVM test bed (2, 4, 8 vCPUs) and on
# kvm-pvm (2, 4); a table on stdout and build/bench/overcommit.json. Never
# fails on a number. `make bench-overcommit RUNS=1` (or VIREO_BENCH_OC_RUNS).
.PHONY: bench-overcommit bench-overcommit-run
bench-overcommit: all testbed
	@$(MAKE) --no-print-directory bench-overcommit-run
bench-overcommit-run:
	cargo run --release -q -p vireo-tests --bin vireo-bench-overcommit -- $(if $(RUNS),--runs $(RUNS))

# File-system benchmark (docs/benchmarks.md "File system"): Vireo against a
# Linux guest (Debian's cloud kernel, fetched once into build/linux/) on the
# same QEMU and ext4 image; a table on stdout and build/bench/fs.json. Never
# fails on a number. `make bench-fs RUNS=1` (or VIREO_BENCH_FS_RUNS=1).
RUNS ?=
.PHONY: bench-fs bench-fs-run
bench-fs: all
	@$(MAKE) --no-print-directory bench-fs-run
bench-fs-run:
	cargo run --release -q -p vireo-tests --bin vireo-bench-fs -- $(if $(RUNS),--runs $(RUNS))

# HTTP benchmark (docs/benchmarks.md "HTTP"): Vireo's httpd against a Linux
# guest's busybox httpd on the same QEMU, disk image and user network, loaded
# by wrk through hostfwd; a table on stdout and build/bench/http.json. Never
# fails on a number. `make bench-http RUNS=1 DURATION=5` (or
# VIREO_BENCH_HTTP_RUNS / VIREO_BENCH_HTTP_DURATION); the soak by hand:
# `make bench-http-soak SOAK=10` (Vireo; build/bench/http-soak.json).
DURATION ?=
SOAK ?= 10
.PHONY: bench-http bench-http-run bench-http-soak
bench-http: all
	@$(MAKE) --no-print-directory bench-http-run
bench-http-run:
	cargo run --release -q -p vireo-tests --bin vireo-bench-http -- $(if $(RUNS),--runs $(RUNS)) $(if $(DURATION),--duration $(DURATION))
bench-http-soak: all
	cargo run --release -q -p vireo-tests --bin vireo-bench-http -- --soak $(SOAK)

clean:
	rm -rf $(BUILD)
	cargo clean
	rm -rf guest-kernel/target guest-userspace/target guest-userspace/std-programs/target
	rm -rf guest-kernel/parse/fuzz/target
