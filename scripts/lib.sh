# Shared by scripts/demo, scripts/test and scripts/package: make sure what the build and the
# tests need is installed. As root on Debian it installs what is missing; otherwise it
# prints the exact command and stops.

# Debian packages the project needs, with a command or check that proves each is there.
mqtts_missing_packages() {
  local missing=()
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
  command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
  command -v cmake >/dev/null 2>&1 || missing+=(cmake)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  [ -x /usr/bin/time ] || missing+=(time)
  # tests/tls_engine.rs: a SoftHSM2 token, pkcs11-tool, OpenSSL's pkcs11 engine and
  # p11-kit's proxy module (through which the engine finds the token).
  command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
  command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
  [ -n "$(find /usr/lib -path '*/engines-3/pkcs11.so' -print -quit 2>/dev/null)" ] || missing+=(libengine-pkcs11-openssl)
  [ -n "$(find /usr/lib -name p11-kit-proxy.so -print -quit 2>/dev/null)" ] || missing+=(p11-kit-modules)
  command -v microsocks >/dev/null 2>&1 || missing+=(microsocks)
  printf '%s\n' "${missing[@]}"
}

mqtts_ensure_deps() {
  # mosquitto lives in /usr/sbin, which a normal user's PATH may lack.
  case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin"; export PATH ;; esac
  local missing
  missing=$(mqtts_missing_packages | tr '\n' ' ')
  if [ -n "${missing// /}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing: $missing" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >&2
    else
      echo "Missing packages: $missing" >&2
      echo "Install them with: sudo apt-get install -y $missing" >&2
      exit 1
    fi
  fi
  # (Installing mosquitto may start a system broker on port 1883; the tests, the demo and
  # the benchmark never use it: each starts its own on free loopback ports.)
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo (Rust stable) is missing: install it from https://rustup.rs or your distribution." >&2
    exit 1
  fi
  mqtts_ensure_rumqttd
  mqtts_ensure_ip6_localhost
}

# Debian's /etc/hosts names ::1 ip6-localhost; some containers leave the line out.
# mosquitto's own client test 03-publish-socks (scripts/mosquitto-client-tests) connects
# to that name through the proxy. As root, add Debian's line when the name is missing.
mqtts_ensure_ip6_localhost() {
  getent hosts ip6-localhost >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && [ -w /etc/hosts ]; then
    echo "Adding Debian's '::1 ip6-localhost ip6-loopback' line to /etc/hosts" >&2
    echo "::1 ip6-localhost ip6-loopback" >> /etc/hosts
  fi
}

# rumqttd from crates.io, for the WebSocket tests (tests/websockets.rs): Debian's mosquitto
# has no WebSocket listener. A pinned version, with its verify-client-cert feature (mutual
# TLS over wss). Not --locked: rumqttd 0.20.0's Cargo.lock pins metrics 0.22.1, which
# rustc 1.9x refuses to compile (E0521). It builds once (about 6 minutes on 2 cores) into
# ~/.cargo/bin, which later runs reuse; a rumqttd of another version or without the
# feature is replaced.
MQTTS_RUMQTTD_VERSION=0.20.0
mqtts_ensure_rumqttd() {
  local cargo_home="${CARGO_HOME:-$HOME/.cargo}"
  if [ -x "$cargo_home/bin/rumqttd" ] \
    && grep -o "\"rumqttd $MQTTS_RUMQTTD_VERSION [^}]*" "$cargo_home/.crates2.json" 2>/dev/null \
      | grep -q '"verify-client-cert"'; then
    return 0
  fi
  echo "Installing rumqttd $MQTTS_RUMQTTD_VERSION (for the WebSocket tests; once, a few minutes)" >&2
  cargo install rumqttd --version "$MQTTS_RUMQTTD_VERSION" --features verify-client-cert >&2
}
