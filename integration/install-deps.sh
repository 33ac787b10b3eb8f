#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: prometheus and promtool (Debian's
# package; apt does not start the service — the tests run the binary themselves), git,
# chromium (headless, for the status page test), and gpg and ssh-keygen (gnupg and
# openssh-client: `git verify-commit` checks the signed commits with them), docker-registry
# (the CNCF distribution registry: the remote chart tests push charts to it over OCI), etcd
# (etcd-server: the store of the cluster tier's kube-apiserver) and redis (redis-server: the
# cache of the cluster tier's Argo CD).
# In CI (CI=true) a missing dependency that cannot be installed is a failure, never a skip.
set -euo pipefail

need=()
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
command -v promtool   >/dev/null 2>&1 || need+=(prometheus)
command -v git        >/dev/null 2>&1 || need+=(git)
command -v chromium   >/dev/null 2>&1 || need+=(chromium)   # the status page's browser test
command -v gpg        >/dev/null 2>&1 || need+=(gnupg)      # OpenPGP-signed commits
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client) # SSH-signed commits
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry) # OCI registry for remote chart tests
command -v etcd       >/dev/null 2>&1 || need+=(etcd-server)    # the cluster tier's API server store
command -v redis-server >/dev/null 2>&1 || need+=(redis-server) # the cluster tier's Argo CD cache
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing: ${need[*]} — install them (apt-get install -y --no-install-recommends ${need[*]}) or run as root" >&2
  exit 1
fi
echo "installing ${need[*]} (Debian packages)…"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
for b in prometheus promtool git chromium gpg ssh-keygen docker-registry etcd redis-server; do
  command -v "$b" >/dev/null 2>&1 || { echo "install failed: $b not on PATH" >&2; exit 1; }
done
