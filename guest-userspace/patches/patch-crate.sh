#!/usr/bin/env bash
# patch-crate.sh NAME VERSION SHA256 DEST PATCH...
#
# Makes DEST a copy of crates.io's NAME-VERSION with the PATCHes applied, for
# a [patch.crates-io] path in guest-userspace/Cargo.toml (the Makefile's
# `crates` target runs this; docs/network.md says why smoltcp is patched).
# The .crate comes from cargo's download cache when it is there, else from
# static.crates.io; either way it must have SHA256, crates.io's checksum of
# it (the one Cargo.lock held before the patch), so a patch is only ever
# applied to the exact published source. DEST is replaced only when all went
# well; DEST/.vireo-patched marks it done.
set -euo pipefail

if [ $# -lt 5 ]; then
	echo "usage: $0 NAME VERSION SHA256 DEST PATCH..." >&2
	exit 2
fi
name=$1 version=$2 sha=$3 dest=$4
shift 4
crate=$name-$version.crate
patches=()
for p; do patches+=("$(realpath "$p")"); done

mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "$(dirname "$dest")/.$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

has_sha() { echo "$sha  $1" | sha256sum --check --status; }

src=
for c in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$crate"; do
	if [ -f "$c" ] && has_sha "$c"; then
		src=$c
		break
	fi
done
if [ -z "$src" ]; then
	url=https://static.crates.io/crates/$name/$crate
	if ! curl -fsSL --retry 3 -o "$tmp/$crate" "$url"; then
		echo "$0: cannot download $url (and $crate is not in cargo's cache)" >&2
		exit 1
	fi
	src=$tmp/$crate
	if ! has_sha "$src"; then
		echo "$0: $url has SHA-256 $(sha256sum "$src" | cut -d' ' -f1), not $sha" >&2
		exit 1
	fi
fi

# --touch: the files get the time of unpacking, not the archive's, so cargo
# rebuilds the crate whenever DEST is made again.
tar -xzf "$src" -C "$tmp" --touch
dir=$tmp/$name-$version
for p in "${patches[@]}"; do
	# The ceiling keeps git from finding the enclosing repository (build/ is
	# inside it): the patch applies as to any directory, paths from $dir.
	if ! GIT_CEILING_DIRECTORIES=$tmp git -C "$dir" apply "$p"; then
		echo "$0: $p does not apply to $name $version" >&2
		exit 1
	fi
done
touch "$dir/.vireo-patched"
rm -rf "$dest"
mv "$dir" "$dest"
