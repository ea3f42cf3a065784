#!/usr/bin/env bash
# certs.sh - TLS certificates for a test engine, in the docker CLI's layout.
#
# Usage:
#   certs.sh DIR [NAME]     make (once) in DIR: a CA, a server certificate for
#                           127.0.0.1 and localhost, a client certificate;
#                           prints DIR on stdout
#
# NAME (default: DIR's base name) goes into the subjects, so that two
# folders hold two distinct CAs (a "wrong CA" for tests is just another DIR).
# Idempotent: when DIR already holds a complete set that verifies against its
# ca.pem, nothing is rewritten.
#
# Files in DIR:
#   ca.pem ca-key.pem                 the CA (self-signed, 10 years)
#   server-cert.pem server-key.pem    for dockerd --tlscert/--tlskey:
#                                     subjectAltName IP:127.0.0.1, DNS:localhost,
#                                     extendedKeyUsage serverAuth
#   cert.pem key.pem                  the client's (extendedKeyUsage clientAuth):
#                                     DOCKER_CERT_PATH=DIR, or checkpointd's
#                                     --engine NAME=https://127.0.0.1:PORT,tls=DIR
# Keys are ECDSA P-256 (fast to make), mode 0600.
set -euo pipefail

log() { printf 'certs.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

(($# >= 1 && $# <= 2)) || { sed -n '4,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
DIR=$1
mkdir -p -- "$DIR"
DIR=$(cd -- "$DIR" && pwd -P)
NAME=${2:-$(basename -- "$DIR")}
[[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || die "bad name '$NAME' (letters, digits, _ . -)"

FILES=(ca.pem ca-key.pem server-cert.pem server-key.pem cert.pem key.pem)

# complete: every file is there and both certificates verify against ca.pem
complete() {
    local f
    for f in "${FILES[@]}"; do [[ -s $DIR/$f ]] || return 1; done
    openssl verify -CAfile "$DIR/ca.pem" -purpose sslserver "$DIR/server-cert.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$DIR/ca.pem" -purpose sslclient "$DIR/cert.pem" >/dev/null 2>&1
}

if complete; then
    printf '%s\n' "$DIR"
    exit 0
fi

# Made in a private folder inside DIR, then moved into place: a run that is
# cut short leaves no half set that looks complete.
umask 077
T=$(mktemp -d "$DIR/.certs.XXXXXX")
trap 'rm -rf -- "$T"' EXIT

# A minimal config: the host's openssl.cnf must not add extensions of its own.
cat >"$T/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
serial() { printf '0x%s' "$(openssl rand -hex 16)"; }

# sign SUBJECT KEY SECTION OUT: a certificate for KEY signed by the CA
sign() {
    openssl req -new -config "$T/openssl.cnf" -key "$2" -subj "$1" -out "$T/req.csr"
    openssl x509 -req -in "$T/req.csr" -CA "$T/ca.pem" -CAkey "$T/ca-key.pem" \
        -set_serial "$(serial)" -days 3650 -sha256 \
        -extfile "$T/openssl.cnf" -extensions "$3" -out "$4" 2>/dev/null
}

newkey "$T/ca-key.pem"
openssl req -new -x509 -config "$T/openssl.cnf" -key "$T/ca-key.pem" \
    -subj "/CN=checkpointd test CA $NAME" -set_serial "$(serial)" -days 3650 -sha256 \
    -extensions ca -out "$T/ca.pem"
newkey "$T/server-key.pem"
sign "/CN=127.0.0.1 ($NAME engine)" "$T/server-key.pem" server "$T/server-cert.pem"
newkey "$T/key.pem"
sign "/CN=checkpointd client ($NAME)" "$T/key.pem" client "$T/cert.pem"

chmod 0644 "$T/ca.pem" "$T/server-cert.pem" "$T/cert.pem"
chmod 0600 "$T/ca-key.pem" "$T/server-key.pem" "$T/key.pem"
# ca.pem last: until it is in place, the set does not verify as complete
for f in ca-key.pem server-cert.pem server-key.pem cert.pem key.pem ca.pem; do
    mv -f -- "$T/$f" "$DIR/$f"
done
complete || die "the certificates made in $DIR do not verify"
log "made a CA, a server and a client certificate in $DIR ($NAME)"
printf '%s\n' "$DIR"
