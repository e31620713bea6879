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
}

# rumqttd: the broker tests/websockets.rs runs (Debian's mosquitto 2.0 has no WebSockets
# listener). Not --locked: its lock file pins a metrics release current rustc rejects.
mqtts_ensure_rumqttd() {
  if command -v rumqttd >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/rumqttd" ]; then
    return 0
  fi
  echo "Installing rumqttd 0.20.0 (cargo install) for the WebSockets tests" >&2
  cargo install rumqttd --version 0.20.0 >&2
}
