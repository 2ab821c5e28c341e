#!/usr/bin/env bash
# flow_collector.sh: the same export datagrams, replayed on loopback in one run, to
# Breakwater's collector (`breakwater analyze --listen`), nfdump's nfcapd and pmacct's
# nfacctd. For each collector and rate: datagrams sent, delivered, dropped by the socket
# (UdpRcvbufErrors), records the collector accounted, its CPU seconds, and CPU seconds per
# million records, and the 1-minute load average when the run started (the machine should be
# otherwise idle). Also the offline decode rate of `breakwater analyze` on the same capture.
# The corpus is replayed as one continuing export stream, never the same times twice (see
# udp_replay's --real-time and --shift-time).
#
# Usage: bench/flow_collector.sh [WORKDIR [BREAKWATER [UDP_REPLAY]]]
#   WORKDIR     corpus and results (default /tmp/bw-flowbench)
#   BREAKWATER  default build/src/cli/breakwater; UDP_REPLAY default build/bench/udp_replay
# Environment: RATES ["50000 100000 200000 300000"] datagrams/s (0 = as fast as possible),
#   SECONDS_PER_RATE [5], PACKETS [2M] packets in the synthesized capture, VERSION [9]
#   (softflowd -v: 5, 9 or 10), FORCE [0] (regenerate the corpus), COLLECTORS
#   ["breakwater sensor nfcapd nfacctd"] (sensor: `breakwater run --netflow`).
# Runs everything inside a private network namespace (its own loopback and UDP counters),
# removed at the end. Needs root, softflowd, nfdump, pmacct, tcpdump.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
work=${1:-/tmp/bw-flowbench}
bw=${2:-$repo/build/src/cli/breakwater}
replay=${3:-$repo/build/bench/udp_replay}
rates=${RATES:-"50000 100000 200000 300000"}
per_rate=${SECONDS_PER_RATE:-5}
packets=${PACKETS:-2M}
version=${VERSION:-9}
force=${FORCE:-0}
ns=bwflowbench$$

die() { echo "flow_collector.sh: $*" >&2; exit 2; }
say() { echo "== $*" >&2; }
for tool in softflowd nfcapd nfdump nfacctd tcpdump ip hyperfine jq; do
  command -v $tool >/dev/null || die "'$tool' is not installed"
done
[[ -x $bw ]] || die "no breakwater binary at $bw"
[[ -x $replay ]] || die "no udp_replay at $replay (cmake --build build --target udp_replay)"
[[ $(id -u) -eq 0 ]] || die "needs root (network namespace)"
mkdir -p "$work/results"
cleanup() { ip netns del $ns 2>/dev/null || true; }
trap cleanup EXIT
ip netns add $ns
ip -n $ns link set lo up
in_ns() { ip netns exec $ns "$@"; }

# --- corpus: a spoofed-port memcached flood (one flow per packet), exported by softflowd ---
corpus=$work/exports_v$version.pcap
if [[ $force == 1 || ! -s $corpus ]]; then
  say "synthesizing $packets packets and exporting them with softflowd -v $version"
  "$bw" synth -o "$work/flood.pcap" --snaplen 96 --duration 100 \
    --attack "vector=memcached,pps=$((${packets%M} * 10))k,duration=100,reflectors=100k,victim_port=0" \
    >/dev/null
  in_ns tcpdump -i lo -w "$corpus" -U "udp port 2055" 2>/dev/null & tcpd=$!
  sleep 1
  # -c none: softflowd 1.1.0 can block in accept() on its control socket before reading.
  in_ns timeout -s TERM 120 softflowd -d -a -r "$work/flood.pcap" -m 500000 -t maxlife=10 \
    -t expint=1 -v "$version" -n 127.0.0.1:2055 -p "$work/sf.pid" -c none \
    >/dev/null 2>&1 || true
  sleep 1; pkill -INT -f "tcpdump -i lo -w $corpus" || true; wait $tcpd 2>/dev/null || true
fi
datagrams=$(tcpdump -nr "$corpus" 2>/dev/null | wc -l)
say "corpus: $corpus, $datagrams datagrams"

# --- offline decode: breakwater analyze on the capture of exports ---
# One warm-up run (the file into the page cache, the allocator's memory faulted in once, peak
# RSS), then OFFLINE_RUNS runs timed by hyperfine, pinned to core 1: mean user + system CPU.
# The same runs on the corpus's first 1 % of datagrams measure the fixed cost of a run
# (loading the program and its libraries, setting up the engine's tables), so that the
# per-record rate can also be given with that start-up taken out: the rate a collector that
# runs for hours reaches.
offline_runs=${OFFLINE_RUNS:-10}
say "offline: breakwater analyze on the export capture (1 warm-up + $offline_runs runs, core 1)"
slice=$work/results/exports_slice.pcap
tcpdump -r "$corpus" -c $((datagrams / 100)) -w "$slice" 2>/dev/null
/usr/bin/time -f "%M" -o "$work/results/offline.rss" \
  "$bw" analyze --format json --no-progress "$corpus" > "$work/results/offline.json"
"$bw" analyze --format json --no-progress "$slice" > "$work/results/offline-slice.json"
hyperfine -N --runs "$offline_runs" --export-json "$work/results/offline-hyperfine.json" \
  "taskset -c 1 $bw analyze --format json --no-progress -o /dev/null $corpus" \
  "taskset -c 1 $bw analyze --format json --no-progress -o /dev/null $slice" > /dev/null
orecords=$(jq '.telemetry.records' "$work/results/offline.json")
srecords=$(jq '.telemetry.records' "$work/results/offline-slice.json")
ocpu=$(jq '.results[0].user + .results[0].system' "$work/results/offline-hyperfine.json")
scpu=$(jq '.results[1].user + .results[1].system' "$work/results/offline-hyperfine.json")
awk -v r="$orecords" -v c="$ocpu" -v sr="$srecords" -v sc="$scpu" \
  -v m="$(cat "$work/results/offline.rss")" 'BEGIN {
  printf "offline analyze: %d records in %.3f CPU s (mean of runs) = %.2f M records/CPU-s, peak RSS %d KiB\n",
         r, c, r / c / 1e6, m
  printf "offline analyze, start-up taken out: a 1 %% slice (%d records) takes %.4f CPU s, so %.2f M records/CPU-s\n",
         sr, sc, (r - sr) / (c - sc) / 1e6 }' | tee "$work/results/summary.txt"

snmp() { in_ns awk '/^Udp:/{if(h){print $2, $6}; h=1}' /proc/net/snmp; }  # InDatagrams RcvbufErrors
cpu_of() {  # utime+stime ticks of a process and its children
  local t=0 p
  for p in $1 $(pgrep -P "$1" || true) $(pgrep -P "$(pgrep -P "$1" | tr '\n' ',' | sed 's/,$//')" 2>/dev/null || true); do
    t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0)))
  done
  echo $t
}

run_one() {  # collector rate
  local col=$1 rate=$2 dir pid records load
  load=$(cut -d' ' -f1 /proc/loadavg)  # other work skews every figure: recorded with them
  dir=$(mktemp -d "$work/run.XXXX")
  case $col in
    breakwater)
      in_ns "$bw" analyze --format json --listen 127.0.0.1:9995 > "$dir/report.json" 2> "$dir/err" &
      ;;
    sensor)  # the live sensor: receiving and decoding on one thread, the engine on another
      in_ns "$bw" run --netflow 127.0.0.1:9995 --no-store --api 127.0.0.1:9473 \
        --log-level warn 2> "$dir/err" &
      ;;
    nfcapd)
      mkdir -p "$dir/nf"
      in_ns nfcapd -p 9995 -w "$dir/nf" -t 3600 -B 8000000 > "$dir/err" 2>&1 &
      ;;
    nfacctd)
      cat > "$dir/p.conf" <<EOC
daemonize: false
logfile: $dir/p.log
nfacctd_port: 9995
nfacctd_ip: 127.0.0.1
nfacctd_pipe_size: 8000000
nfacctd_renormalize: true
plugins: print[dst]
aggregate[dst]: dst_host
print_output[dst]: csv
print_output_file[dst]: $dir/p.csv
print_refresh_time[dst]: 3600
plugin_pipe_size: 268435456
plugin_buffer_size: 65536
EOC
      in_ns nfacctd -f "$dir/p.conf" > "$dir/err" 2>&1 &
      ;;
  esac
  local shell_pid=$!
  sleep 2
  pid=$(pgrep -P $shell_pid | head -1); pid=${pid:-$shell_pid}
  read -r in0 rb0 < <(snmp); c0=$(cpu_of $pid)
  local loops=$(( (rate > 0 ? rate : 400000) * per_rate / datagrams + 1 ))
  local send_rate=$rate
  # Passes must not repeat the corpus's times (a collector takes repeats as stale records).
  # NetFlow v9 at a fixed rate: flow times rewritten so the stream's clock runs at the
  # sender's pace (a pass's 100 s of flows squeezed into the time it takes to send). Else
  # each pass moves 120 s on (the flood lasts 100 s, its flows up to 10 s more).
  local retime="--shift-time 120"
  if [[ $version == 9 && $rate -gt 0 ]]; then retime="--real-time 1"; fi
  in_ns "$replay" "$corpus" 127.0.0.1:9995 --pps "$send_rate" --loops "$loops" \
    --max-seconds "$per_rate" $retime 2> "$dir/send.log"
  sleep 2
  read -r in1 rb1 < <(snmp); c1=$(cpu_of $pid)
  if [[ $col == sensor ]]; then
    in_ns curl -s --max-time 5 http://127.0.0.1:9473/api/v1/status > "$dir/status.json" || true
  fi
  kill -INT $pid 2>/dev/null || true
  wait $shell_pid 2>/dev/null || true
  local sent delivered drops cpu
  sent=$(awk '/^sent/{print $2}' "$dir/send.log")
  delivered=$((in1 - in0)); drops=$((rb1 - rb0))
  cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t/hz}')
  case $col in
    breakwater) records=$(jq '.telemetry.records' "$dir/report.json" 2>/dev/null || echo 0) ;;
    sensor) records=$(jq '[.sources[].records] | add' "$dir/status.json" 2>/dev/null || echo 0) ;;
    nfcapd) records=$(nfdump -R "$dir/nf" -q -I 2>/dev/null | awk -F': ' '/^Flows:/{print $2; exit}') ;;
    nfacctd) records=$(grep -c . "$dir/p.csv" 2>/dev/null || echo 0); records="$records (dst rows)" ;;
  esac
  local per_m per_cpu
  per_m=- per_cpu=-  # nfacctd prints aggregates, not records
  if [[ $records =~ ^[0-9]+$ ]]; then
    per_m=$(awk -v c="$cpu" -v r="$records" 'BEGIN{ if (r>0) printf "%.3f", c/(r/1e6); else print "-"}')
    per_cpu=$(awk -v c="$cpu" -v r="$records" 'BEGIN{ if (c>0) printf "%.2f", r/1e6/c; else print "-"}')
  fi
  # M_records_per_cpu_s is the flow target's figure (records decoded and accounted per CPU
  # second); it means most where drops=0.
  printf "%-10s rate=%-7s sent=%-8s delivered=%-8s drops=%-7s records=%-12s cpu=%ss cpu_per_M_records=%s M_records_per_cpu_s=%s load=%s\n" \
    "$col" "$rate" "$sent" "$delivered" "$drops" "$records" "$cpu" "$per_m" "$per_cpu" "$load" | tee -a "$work/results/summary.txt"
  rm -rf "$dir"
}

for rate in $rates; do
  for col in ${COLLECTORS:-breakwater sensor nfcapd nfacctd}; do
    run_one $col "$rate"
  done
done
say "summary in $work/results/summary.txt"
