#!/usr/bin/env bash
# Throwaway test PKI (adapted from the mosquitto recipe): a CA, a server certificate for
# localhost/127.0.0.1/::1 and one client certificate per test node (CN = node id = broker username).
# Usage: gen-certs.sh OUTDIR
set -euo pipefail
D=${1:?outdir}; mkdir -p "$D"; cd "$D"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Appliance Test CA" \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null
for node in node-a node-b; do
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$node" -keyout "$node.key" -out "$node.csr" 2>/dev/null
  printf "extendedKeyUsage=clientAuth\n" > client.ext
  openssl x509 -req -in "$node.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext -out "$node.crt" 2>/dev/null
done
# A second, unrelated CA: a client pinning it must refuse the broker.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Unrelated CA" \
  -keyout other-ca.key -out other-ca.crt 2>/dev/null
rm -f ./*.csr ./*.ext ./*.srl
