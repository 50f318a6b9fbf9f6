#!/usr/bin/env bash
# Runs a command under a newer lavapipe than bookworm-backports has (Mesa from Debian trixie-backports,
# with trixie's glibc and LLVM), without touching the system: the packages are unpacked into DIR and a
# copy of node whose ELF interpreter points at DIR's glibc runs the command. For measurements only
# (docs/ENGINE.md, "A newer lavapipe"); needs root for apt-get download's cache and patchelf.
#   bash scripts/newer-lavapipe.sh [DIR] -- npx tsx bench/tune-matmul.ts
set -euo pipefail
dir=/tmp/newer-lavapipe
if [[ $# -gt 0 && $1 != -- ]]; then dir=$1; shift; fi
[[ ${1:-} == -- ]] && shift
root=$dir/root; lib=$root/usr/lib/x86_64-linux-gnu
if [[ ! -e $lib/libvulkan_lvp.so ]]; then
  command -v patchelf >/dev/null || apt-get install -y patchelf >/dev/null
  mkdir -p "$dir"/{lists/partial,cache/archives/partial,debs} "$root"
  printf 'deb [trusted=yes] http://deb.debian.org/debian trixie main\ndeb [trusted=yes] http://deb.debian.org/debian trixie-backports main\n' > "$dir/sources.list"
  apt=(-o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache")
  apt-get "${apt[@]}" update >/dev/null
  (cd "$dir/debs" && apt-get "${apt[@]}" download mesa-vulkan-drivers/trixie-backports libllvm19 libc6 libstdc++6 libgcc-s1 \
    libdrm2 libdrm-amdgpu1 libelf1t64 libxml2 libz3-4 libedit2 libffi8 libtinfo6 libdisplay-info2 libwayland-client0 libzstd1 \
    libexpat1 zlib1g libpng16-16t64 libvulkan1 libbsd0 libmd0 libxcb1 libx11-xcb1 libx11-6 libxcb-dri3-0 libxcb-present0 \
    libxcb-randr0 libxcb-shm0 libxcb-sync1 libxcb-xfixes0 libxshmfence1 libxau6 libxdmcp6 libicu76 liblzma5 >/dev/null)
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
  printf '{"ICD": {"api_version": "1.4.0", "library_path": "%s/libvulkan_lvp.so"}, "file_format_version": "1.0.1"}\n' "$lib" > "$dir/lvp_icd.json"
  # Library paths go into the binaries (node and the unpacked libraries), not LD_LIBRARY_PATH, which would
  # hand trixie's libc to every system program the command starts.
  for so in "$lib"/*.so*; do [[ $so == */ld-linux* || -L $so ]] || patchelf --set-rpath "$lib" "$so" 2>/dev/null || true; done
  mkdir -p "$dir/bin" && cp "$(command -v node)" "$dir/bin/node"
  patchelf --set-interpreter "$lib/ld-linux-x86-64.so.2" --set-rpath "$lib" "$dir/bin/node"
fi
export PATH=$dir/bin:$PATH VK_ICD_FILENAMES=$dir/lvp_icd.json
exec "$@"
