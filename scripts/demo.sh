#!/usr/bin/env bash
# Quick start: install dependencies, build, synthesize a labelled memcached reflection capture
# (with a ransom note and a scanner sweep before it) and analyze it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
mkdir -p out
build/src/cli/breakwater synth --preset memcached -o out/memcached-drill.pcap
build/src/cli/breakwater analyze --networks 198.18.0.0/24 out/memcached-drill.pcap
echo
echo "Ground truth: out/memcached-drill.pcap.truth.json   JSON report: add --format json"
