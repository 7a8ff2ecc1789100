#!/bin/bash
# keys.sh - development signing keys for update bundles: a CA (its certificate is the image's
# RAUC keyring, /etc/rauc/keyring.pem) and a signing certificate issued by it (image/bundle.sh
# signs with it). Made once per DIR and kept: an image accepts only bundles signed under the CA
# it was built with. For real releases, make the CA on an offline machine and keep its key
# there; only the signing key and certificate go to the build machine (docs/updates.md).
#
# Usage: image/ab/keys.sh DIR      -> DIR/ca.cert.pem DIR/ca.key.pem DIR/signing.cert.pem
#                                      DIR/signing.key.pem (keys 0600). Does nothing when they exist.
set -euo pipefail
D=$1
[ -s "$D/ca.cert.pem" ] && [ -s "$D/signing.cert.pem" ] && [ -s "$D/signing.key.pem" ] && exit 0
# Some of them but not all: someone's real keys, incomplete. Never overwrite a key.
for f in ca.cert.pem ca.key.pem signing.cert.pem signing.key.pem; do
  if [ -e "$D/$f" ]; then
    echo "keys.sh: $D has $f but not all of ca.cert.pem, signing.cert.pem, signing.key.pem; complete it by hand (nothing was changed)" >&2
    exit 1
  fi
done
mkdir -p "$D"; chmod 0700 "$D"; cd "$D"
umask 077
cat > openssl.cnf <<'CNF'
[ca_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[signing_ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7300 \
  -subj "/O=motcua development/CN=motcua update CA (development)" \
  -keyout ca.key.pem -out ca.cert.pem -config openssl.cnf -extensions ca_ext 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=motcua development/CN=motcua bundle signing (development)" \
  -keyout signing.key.pem -out signing.csr.pem 2>/dev/null
openssl x509 -req -in signing.csr.pem -CA ca.cert.pem -CAkey ca.key.pem -CAcreateserial -days 3650 \
  -extfile openssl.cnf -extensions signing_ext -out signing.cert.pem 2>/dev/null
rm -f signing.csr.pem
chmod 0644 ca.cert.pem signing.cert.pem
echo "development update keys in $D (CA: $(openssl x509 -in ca.cert.pem -noout -fingerprint -sha256 | cut -d= -f2))"
