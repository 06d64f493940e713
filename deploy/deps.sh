# Sourced by deploy/up.sh and tests/run.sh: installs the Debian 12 packages
# relais needs when they are missing (apt-get, with sudo when not root).
#   relais_ensure_packages build|test|up|fuzz ...

relais_packages_build=(
  build-essential cmake ninja-build pkg-config
  libzmq3-dev cppzmq-dev libflatbuffers-dev flatbuffers-compiler librocksdb-dev
  libssl-dev libsodium-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
  libexpat1-dev libgoogle-perftools-dev
  nodejs
)
# Debian's headless Chromium for the console's browser tests (Playwright
# drives it; tests/browser/); promtool (package prometheus) checks the
# /metrics text; tmux is the terminal relais top is tested in;
# systemd-analyze (package systemd, which starts nothing here) checks
# deploy/systemd/'s units; gnuplot draws bench/report.sh's plots.
relais_packages_test=(python3-zmq python3-flatbuffers python3-cryptography
  faketime clang-format clang-tidy libfuse3-dev fuse3 chromium prometheus
  tmux systemd gnuplot-nox)
# What deploy/up.sh --demo speaks to the console's JSON API with.
relais_packages_up=(curl jq)
# The fuzz and ThreadSanitizer builds (clang and its sanitizer runtimes).
relais_packages_fuzz=(clang libclang-rt-14-dev)

relais_ensure_packages() {
  local wanted=() missing=() group pkg
  for group in "$@"; do
    local -n list="relais_packages_${group}"
    wanted+=("${list[@]}")
  done
  for pkg in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  # npm installs the console's design system at build time: Debian's own
  # package unless a Node.js from elsewhere brought its npm.
  case " $* " in
    *" build "*) command -v npm >/dev/null || missing+=(npm) ;;
  esac
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "relais: installing ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# "-G Ninja" for a build folder not yet configured (Ninja schedules the
# build's 220 steps with less overhead than make: 601 s instead of 681 s
# for the CI build on 2 cores); nothing for one configured already, which
# keeps the generator it was made with.
relais_generator() {
  [ -f "$1/CMakeCache.txt" ] || echo "-G Ninja"
}

# Configures and builds relais in build/ (every executable lands in
# build/bin/). RELAIS_WERROR=ON (tests/run.sh) makes a warning an error;
# RELAIS_DEBUG_INFO=OFF (tests/run.sh too) leaves out the debug information:
# -g is a third of the compiler's time, and CI keeps no binary.
# A unity build (CMake compiles a target's sources in batches of 8, so each
# header is parsed once per batch): the journal library took 38 s of CPU
# instead of 98 s, the whole CI build 703 s instead of 899 s on 2 cores. Two
# sources of one target therefore may not define the same name, even in
# an anonymous namespace (the build says so).
relais_build() {
  local flags="-O2 -g -DNDEBUG"
  [ "${RELAIS_DEBUG_INFO:-ON}" = OFF ] && flags="-O2 -DNDEBUG"
  cmake $(relais_generator build) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
    -DCMAKE_UNITY_BUILD=ON -DRELAIS_WERROR="${RELAIS_WERROR:-OFF}" >/dev/null
  cmake --build build -j"$(nproc)"
}
