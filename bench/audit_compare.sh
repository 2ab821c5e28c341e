#!/usr/bin/env bash
# audit_compare.sh: `breakwater audit` against the exposure scanners operators reach for, in
# one run, on the same /24: nmap with the memcached-info script (the check recommended in
# 2018, with -n so reverse DNS does not dominate) and masscan with its memcached UDP probe.
# docs/audit.md records the figures and how to read them.
#
# Usage: bench/audit_compare.sh [WORKDIR [BREAKWATER]]   (as root: it creates namespaces)
#   WORKDIR     results go to WORKDIR/ (default /tmp/bw-audit-bench)
#   BREAKWATER  the binary to measure (default build/src/cli/breakwater under the checkout)
# Environment: RUNS [3] timed runs per command (after one warm-up), RATE [10000] packets/s
# for breakwater and masscan, WIDE [1] also time breakwater alone on every service of the /24
# and on the whole 198.18.0.0/16 (RATE_WIDE [100000] packets/s, 8,192 TCP connections in
# flight), where the other tools would take minutes to hours.
#
# The lab: two private network namespaces joined by a veth pair; 198.18.1.1-250 live on the
# target namespace's lo (the kernel here has no dummy interface), 198.18.1.251-255 are routed
# there but silent, as is the rest of 198.18.0.0/16. memcached runs on four of them, as in the 2018 advisories' variants:
#   .10 TCP+UDP | .20 TCP only (-U 0) | .30 UDP only (-p 0) | .40 TCP+UDP, -I 2m
# Every other address is closed (ICMP port unreachable, rate-limited by the kernel; TCP RST).
# Nothing leaves the namespaces. Everything started here is stopped by pid and both
# namespaces are deleted on exit, also on failure.
#
# masscan's receive loop (libpcap, TPACKET_V3) can wait forever at the end on a link with no
# other traffic; a 5-per-second UDP chatter from the target side keeps it waking up, and
# every masscan run is bounded by `timeout` anyway.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
work=${1:-/tmp/bw-audit-bench}
bw=${2:-$repo/build/src/cli/breakwater}
runs=${RUNS:-3}
rate=${RATE:-10000}
wide=${WIDE:-1}
rate_wide=${RATE_WIDE:-100000}

die() {
  echo "audit_compare.sh: $*" >&2
  exit 2
}
say() { echo "== $*" >&2; }

[[ $(id -u) -eq 0 ]] || die "run as root (it creates network namespaces)"
[[ -x $bw ]] || die "breakwater binary '$bw' not found; build it first or pass its path"
for tool in ip memcached nmap masscan hyperfine jq xmllint timeout; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed"
done

id=bwab$$
scan=${id}s
target=${id}t
veth_scan=${id}a
veth_target=${id}b
mkdir -p "$work"
work=$(cd "$work" && pwd)
run_dir=$work/run
rm -rf "$run_dir"
mkdir -p "$run_dir"
chatter_pid=
memcached_pids=()

cleanup() {
  set +e
  [[ -n $chatter_pid ]] && kill "$chatter_pid" 2>/dev/null
  for pid in "${memcached_pids[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.2
  ip netns del "$scan" 2>/dev/null
  ip netns del "$target" 2>/dev/null
}
trap cleanup EXIT

say "lab: namespaces $scan (scanner) and $target (198.18.1.0/24)"
ip netns add "$scan"
ip netns add "$target"
ip link add "$veth_scan" netns "$scan" type veth peer name "$veth_target" netns "$target"
ip -n "$scan" link set lo up
ip -n "$target" link set lo up
ip -n "$scan" addr add 10.251.0.1/24 dev "$veth_scan"
ip -n "$target" addr add 10.251.0.2/24 dev "$veth_target"
ip -n "$scan" link set "$veth_scan" up
ip -n "$target" link set "$veth_target" up
ip -n "$scan" route add 198.18.0.0/16 via 10.251.0.2
for i in $(seq 1 250); do echo "addr add 198.18.1.$i/32 dev lo"; done >"$run_dir/addrs.batch"
ip -n "$target" -batch "$run_dir/addrs.batch"
ip netns exec "$target" sysctl -qw net.ipv4.conf.all.rp_filter=0
ip netns exec "$scan" sysctl -qw net.ipv4.conf.all.rp_filter=0
target_mac=$(ip -n "$target" -br link show "$veth_target" | awk '{print $3}')

# In the foreground of a background job: `ip netns exec` execs memcached, so $! is its pid.
start_mc() { # args...
  ip netns exec "$target" memcached -u nobody -m 64 "$@" </dev/null >/dev/null 2>&1 &
  memcached_pids+=($!)
}
start_mc -l 198.18.1.10 -p 11211 -U 11211
start_mc -l 198.18.1.20 -p 11211 -U 0
start_mc -l 198.18.1.30 -p 0 -U 11211
start_mc -l 198.18.1.40 -p 11211 -U 11211 -I 2m
sleep 0.5

ns="ip netns exec $scan"
bw_cmd="$ns $bw audit 198.18.1.0/24 --services memcached --rate $rate --format json -o $work/breakwater.json"
nmap_cmd="$ns nmap -n -sU -sS -p 11211 --script memcached-info 198.18.1.0/24 -oX $work/nmap.xml"
masscan_cmd="timeout 60 $ns masscan 198.18.1.0/24 -p11211,U:11211 --rate $rate --adapter $veth_scan --adapter-ip 10.251.0.5 --router-mac $target_mac --wait 1 -oL $work/masscan.txt"

say "timing ($runs runs each after a warm-up): breakwater, nmap, masscan"
ip netns exec "$target" bash -c 'while :; do echo . >/dev/udp/10.251.0.1/9; sleep 0.2; done' \
  2>/dev/null &
chatter_pid=$!
hyperfine --runs "$runs" --warmup 1 -i --export-json "$work/hyperfine.json" \
  --export-markdown "$work/hyperfine.md" \
  -n "breakwater audit" "$bw_cmd" \
  -n "nmap -n -sU -sS --script memcached-info" "$nmap_cmd" \
  -n "masscan -p11211,U:11211" "$masscan_cmd" >"$work/hyperfine.log" 2>&1 ||
  die "hyperfine failed; see $work/hyperfine.log"

# What each tool found, from its last run's output, as ip/transport.
jq -r '.findings[] | "\(.ip)/\(.transport) \(.version // "-") amp=\(.amplification)x ip_amp=\(.details.amplification_ip)x item_size_max=\(.details.item_size_max // "-")"' \
  "$work/breakwater.json" | sort >"$work/found_breakwater.txt"
# nmap: ports where the memcached-info script produced output (it identified memcached).
xmllint --xpath '//host' "$work/nmap.xml" 2>/dev/null | awk '
  /<address addr=/ { match($0, /addr="[^"]*"/); ip = substr($0, RSTART + 6, RLENGTH - 7) }
  /<port protocol=/ { match($0, /protocol="[^"]*"/); proto = substr($0, RSTART + 10, RLENGTH - 11) }
  /<script id="memcached-info"/ { print ip "/" proto }' | sort -u >"$work/found_nmap.txt"
awk '$1 == "open" { print $4 "/" $2 }' "$work/masscan.txt" | sort -u >"$work/found_masscan.txt"

cut -d' ' -f1 "$work/found_breakwater.txt" >"$work/found_breakwater_keys.txt"
same_nmap=no
cmp -s "$work/found_breakwater_keys.txt" "$work/found_nmap.txt" && same_nmap=yes

if [[ $wide == 1 ]]; then
  say "timing breakwater alone: all services on the /24, memcached on the /16"
  hyperfine --runs "$runs" --warmup 1 -i --export-json "$work/hyperfine_wide.json" \
    --export-markdown "$work/hyperfine_wide.md" \
    -n "breakwater audit /24, all services" \
    "$ns $bw audit 198.18.1.0/24 --rate $rate --format json -o $work/breakwater_all.json" \
    -n "breakwater audit /16, memcached" \
    "$ns $bw audit 198.18.0.0/16 --services memcached --rate $rate_wide --tcp-in-flight 8192 --format json -o $work/breakwater_16.json" \
    >"$work/hyperfine_wide.log" 2>&1 || die "hyperfine failed; see $work/hyperfine_wide.log"
fi

mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean' "$work/hyperfine.json"; }
t_bw=$(mean "breakwater audit")
t_nmap=$(mean "nmap -n -sU -sS --script memcached-info")
t_masscan=$(mean "masscan -p11211,U:11211")
{
  echo "breakwater audit vs nmap vs masscan, 198.18.1.0/24 in network namespaces, $runs runs"
  echo
  printf '%-44s %10s %s\n' "command" "mean s" "findings (ip/transport)"
  printf '%-44s %10.3f %s\n' "breakwater audit --services memcached" "$t_bw" \
    "$(paste -sd' ' "$work/found_breakwater_keys.txt")"
  printf '%-44s %10.3f %s\n' "nmap -n -sU -sS -p 11211 --script memcached-info" "$t_nmap" \
    "$(paste -sd' ' "$work/found_nmap.txt")"
  printf '%-44s %10.3f %s\n' "masscan -p11211,U:11211 (open ports only)" "$t_masscan" \
    "$(paste -sd' ' "$work/found_masscan.txt")"
  echo
  awk -v a="$t_nmap" -v b="$t_bw" 'BEGIN { printf "breakwater is %.1fx faster than nmap", a / b }'
  echo "; same findings as nmap's memcached-info: $same_nmap"
  awk -v a="$t_masscan" -v b="$t_bw" 'BEGIN { printf "breakwater is %.1fx faster than masscan\n", a / b }'
  echo
  echo "breakwater's details:"
  sed 's/^/  /' "$work/found_breakwater.txt"
  if [[ $wide == 1 ]]; then
    echo
    jq -r '.results[] | "\(.command): mean \(.mean * 1000 | round / 1000) s"' \
      "$work/hyperfine_wide.json"
    for f in breakwater_all breakwater_16; do
      jq -r --arg f "$f" '"  \($f): \(.targets) targets, \(.findings | length) findings, \(.scan.udp_sent) UDP datagrams and \(.scan.tcp_connects) TCP connections in \(.duration_s) s"' \
        "$work/$f.json"
    done
  fi
} | tee "$work/summary.txt"
