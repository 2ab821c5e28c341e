#!/usr/bin/env bash
# sensor_compare.sh: the live sensor (`breakwater run`) against FastNetMon 1.2.4 (the Debian
# package, AF_PACKET mirror mode), one after the other, on the same tcpreplay replays through a
# veth pair inside a private network namespace. docs/performance.md ("Live sensor vs
# FastNetMon 1.2.4") records the figures and how to read them.
#
# How to run (as root: it creates a network namespace, and deletes it on exit):
#   apt-get install fastnetmon tcpreplay tcpdump curl jq     # Debian 12: FastNetMon 1.2.4
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build build -j2 --target breakwater
#   bench/sensor_compare.sh [WORKDIR [BREAKWATER]]
#     WORKDIR     captures, logs and results (default /tmp/bw-sensor-bench); about 0.5 GB
#     BREAKWATER  the binary to measure (default build/src/cli/breakwater); nothing is built here
#   The summary is printed and written to WORKDIR/results/summary.txt; every run's logs,
#   breakwater's event files, FastNetMon's notify logs and tcpreplay's output stay in
#   WORKDIR/results/. About 8 minutes with the defaults. Run it on a quiet machine: tcpreplay,
#   the kernel's veth path and the detector share the cores, so other jobs lower every rate.
# Environment (defaults in brackets):
#   TOOLS ["breakwater fastnetmon"]          which detectors to run, in this order
#   REPS [3]                                  fresh starts per latency rate
#   LATENCY_RATES ["8000 20000 100000"]       replay rates (packets/s) for the latency runs
#   LATENCY_SECONDS [10]                      replay length of each latency run
#   SWEEP_RATES ["50000 100000 150000 200000 300000 top"]   capture sweep ("top": --topspeed)
#   SWEEP_SECONDS [5]                         replay length of each sweep step
#   SWEEP_CAPTURES ["attack small"]           captures swept, each at every rate
#   BENIGN_PPS [40000], BENIGN_SECONDS [20]   the benign-only (false positive) replay
#   API_PORT [9473]                           breakwater's API inside the namespace
#   FASTNETMON [/usr/sbin/fastnetmon]
#
# What is measured, per tool:
#   latency   seconds from the first attack packet to the detection. The first packet's time
#             is the kernel timestamp tcpdump (-c 1, on the monitored end) gives it; the
#             detection time is the "at" of breakwater's attack_started event, or the wall
#             clock FastNetMon's notify script logs when it is called with "ban". Each run is a
#             fresh start of the detector; a run with no detection by 5 s after the replay
#             ends counts as a miss. Reported per rate as min/median/max over REPS runs.
#   capture   one detector start, then one replay per capture and sweep rate; before and
#             after each (2 s after the replay, so the tool has drained its ring):
#             frames the veth delivered to the monitored end (rx_packets), frames the tool
#             counted (breakwater: /api/v1/status sources[].packets; FastNetMon: its Prometheus
#             fastnetmon_total_simple_packets_processed), kernel drops (breakwater: its ring
#             drops, sources[].drops; FastNetMon exposes none, and its TPACKET ring drops do not
#             show in `ss`, so "missed" = delivered - counted is the figure to compare),
#             and the tool's utime+stime from /proc/PID/stat.
#   benign    the benign-only capture at BENIGN_PPS; attacks reported (breakwater
#             attack_started events, FastNetMon ban notifications) are false positives.
# Captures come from `breakwater synth` (deterministic; reused when the same command made them):
#   attack  one memcached reflection flood on 198.18.0.10 (2,000 reflectors, 1,442-byte frames,
#           nothing else, so the first packet is the first attack packet)
#   small   the same flood with 71-byte frames (29-byte responses), for the packet-rate limit
#   benign  the synth "benign" preset: web, DNS, QUIC, memcached over TCP and busy hosts,
#           about 40 kpps of capture time, no attack
# FastNetMon runs with bench/sensor/fastnetmon.conf.in (the peers lab's AF_PACKET settings:
# 1 s tick, 5 s average, ban at 5,000 packets/s or 50 Mbit/s per host) in a private mount
# namespace where /var/log is WORKDIR/fnm/varlog (its attack files go there). breakwater runs
# with its defaults (--threshold-pps 150 per vector and destination) and --networks
# 198.18.0.0/15. Every process started here is stopped by pid and bounded by `timeout`.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
work=${1:-/tmp/bw-sensor-bench}
bw=${2:-$repo/build/src/cli/breakwater}
tools=${TOOLS:-breakwater fastnetmon}
reps=${REPS:-3}
latency_rates=${LATENCY_RATES:-8000 20000 100000}
latency_seconds=${LATENCY_SECONDS:-10}
sweep_rates=${SWEEP_RATES:-50000 100000 150000 200000 300000 top}
sweep_seconds=${SWEEP_SECONDS:-5}
sweep_captures=${SWEEP_CAPTURES:-attack small}
benign_pps=${BENIGN_PPS:-40000}
benign_seconds=${BENIGN_SECONDS:-20}
api_port=${API_PORT:-9473}
fnm_bin=${FASTNETMON:-/usr/sbin/fastnetmon}
victim=198.18.0.10

die() {
  echo "sensor_compare.sh: $*" >&2
  exit 2
}
say() { echo "== $*" >&2; }

[[ $(id -u) == 0 ]] || die "run as root: the lab is a network namespace"
[[ -x $bw ]] || die "breakwater binary '$bw' not found; build it first or pass its path as the second argument"
for tool in tcpreplay tcpdump curl jq timeout ip awk; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed"
done
[[ " $tools " != *" fastnetmon "* || -x $fnm_bin ]] || die "FastNetMon not found at $fnm_bin (apt-get install fastnetmon)"
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, not '$reps'"
for t in $tools; do [[ $t == breakwater || $t == fastnetmon ]] || die "TOOLS: unknown tool '$t'"; done
if [[ " $tools " == *" breakwater "* ]]; then
  "$bw" run --help 2>&1 | grep -q -- '--interface' || die "'$bw' has no 'run' command; build a newer breakwater"
fi

ns=bwsc-$$
results=$work/results
fnm_dir=$work/fnm
clk_tck=$(getconf CLK_TCK)
mkdir -p "$results" "$fnm_dir/varlog/fastnetmon_attacks"

# --- processes and the namespace ---------------------------------------------------------

declare -A wrapper_of=() # detector/tcpdump pid -> the `timeout` wrapping it
cleanup() {
  local p
  for p in "${!wrapper_of[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${!wrapper_of[@]}"; do
    kill -KILL "$p" 2>/dev/null || true
    kill -KILL "${wrapper_of[$p]}" 2>/dev/null || true
  done
  ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { ip netns exec "$ns" "$@"; }

# Stops PID (TERM, then KILL after 15 s) and reaps its wrapper.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "${wrapper_of[$pid]}" 2>/dev/null || true
  unset "wrapper_of[$pid]"
}

# The child `timeout` started (it execs through `ip netns exec` into the tool).
child_of() {
  local i c
  for ((i = 0; i < 50; i++)); do
    c=$(pgrep -P "$1" | head -1 || true)
    [[ -n $c ]] && {
      echo "$c"
      return
    }
    sleep 0.05
  done
  die "process started by timeout pid $1 did not appear"
}

ip netns add "$ns"
nsx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
nsx ip link set lo up
nsx ip link add fnm-gen type veth peer name fnm-mon
nsx ip link set fnm-gen mtu 1500 up
nsx ip link set fnm-mon mtu 1500 up

# --- captures ------------------------------------------------------------------------------

make_capture() { # NAME ARGS...: write WORK/NAME.pcap with `breakwater synth ARGS` unless done
  local name=$1
  shift
  local cmd="synth -o $work/$name.pcap --seed 1 $*"
  if [[ -s $work/$name.pcap && -f $work/$name.cmd && $(cat "$work/$name.cmd") == "$cmd" ]]; then
    return
  fi
  say "writing $name.pcap"
  # shellcheck disable=SC2086
  "$bw" $cmd >&2
  echo "$cmd" >"$work/$name.cmd"
}
make_capture attack --attack "vector=memcached,victim=$victim,pps=20k,duration=5,reflectors=2000,size=1400"
make_capture small --attack "vector=memcached,victim=$victim,pps=100k,duration=5,reflectors=2000,size=32"
make_capture benign --preset benign

# --- detectors -----------------------------------------------------------------------------

sed "s#@WORK@#$work#g" "$script_dir/sensor/fastnetmon.conf.in" >"$fnm_dir/fastnetmon.conf"
echo "198.18.0.0/24" >"$fnm_dir/networks_list"
: >"$fnm_dir/networks_whitelist"
cat >"$fnm_dir/notify.sh" <<EOF
#!/bin/sh
# FastNetMon notify script: \$1 IP, \$2 direction, \$3 pps, \$4 action; details on stdin.
{ echo "=== \$(date +%s.%N) \$*"; cat; echo "=== end"; } >> "$fnm_dir/notify.log"
EOF
chmod +x "$fnm_dir/notify.sh"

det_pid=""  # the running detector
det_tool="" # breakwater | fastnetmon
det_tag=""  # its log names: results/TAG.*

start_detector() { # TOOL TAG
  local tool=$1 tag=$2 w i
  det_tool=$tool
  det_tag=$tag
  if [[ $tool == breakwater ]]; then
    rm -f "$results/$tag.events.jsonl"
    timeout 900 ip netns exec "$ns" "$bw" run --interface fnm-mon --networks 198.18.0.0/15 \
      --events "$results/$tag.events.jsonl" --no-store --api "127.0.0.1:$api_port" \
      --log-level info >/dev/null 2>"$results/$tag.log" &
    w=$!
    det_pid=$(child_of "$w")
    [[ -n $det_pid ]] || die "breakwater did not start (log: $results/$tag.log)"
    wrapper_of[$det_pid]=$w
    for ((i = 0; i < 200; i++)); do
      grep -q ' ready: ' "$results/$tag.log" 2>/dev/null && return 0
      kill -0 "$det_pid" 2>/dev/null || break
      sleep 0.1
    done
    cat "$results/$tag.log" >&2
    die "breakwater did not become ready (log: $results/$tag.log)"
  fi
  rm -f "$fnm_dir/notify.log"
  timeout 900 ip netns exec "$ns" sh -c "mount --bind '$fnm_dir/varlog' /var/log && exec '$fnm_bin' --configuration_file '$fnm_dir/fastnetmon.conf' --log_file '$results/$tag.log' --disable_pid_logic" \
    >"$results/$tag.stdout" 2>&1 &
  w=$!
  det_pid=$(child_of "$w")
  [[ -n $det_pid ]] || die "FastNetMon did not start (log: $results/$tag.log)"
  wrapper_of[$det_pid]=$w
  # Ready when every AF_PACKET worker (one per CPU) has started; then one tick to settle.
  local cpus
  cpus=$(nproc)
  for ((i = 0; i < 200; i++)); do
    if [[ $(grep -c 'Start AF_PACKET worker' "$results/$tag.log" 2>/dev/null || true) -ge $cpus ]]; then
      sleep 1
      return 0
    fi
    kill -0 "$det_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$results/$tag.log" "$results/$tag.stdout" >&2 || true
  die "FastNetMon did not start its AF_PACKET workers (log: $results/$tag.log)"
}

stop_detector() {
  stop_pid "$det_pid"
  if [[ $det_tool == fastnetmon && -f $fnm_dir/notify.log ]]; then
    mv "$fnm_dir/notify.log" "$results/$det_tag.notify.log"
  fi
  det_pid=""
}

# "CAPTURED DROPS CPU_TICKS RX RX_DROPPED" of the running detector and the monitored veth end.
counters() {
  local captured drops ticks rx rxd
  if [[ $det_tool == breakwater ]]; then
    local status
    status=$(nsx curl -sf -m 3 "http://127.0.0.1:$api_port/api/v1/status") ||
      die "breakwater's API does not answer (log: $results/$det_tag.log)"
    captured=$(jq '[.sources[] | select(.kind == "interface") | .packets] | add // 0' <<<"$status")
    drops=$(jq '[.sources[] | select(.kind == "interface") | .drops] | add // 0' <<<"$status")
  else
    captured=$(nsx curl -s -m 3 http://127.0.0.1:9209/metrics |
      awk '/^fastnetmon_total_simple_packets_processed /{printf "%d", $2}')
    drops=-
  fi
  ticks=$(awk '{print $14 + $15}' "/proc/$det_pid/stat")
  rx=$(nsx cat /sys/class/net/fnm-mon/statistics/rx_packets)
  rxd=$(nsx cat /sys/class/net/fnm-mon/statistics/rx_dropped)
  echo "${captured:-0} $drops $ticks $rx $rxd"
}

cpu_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# Replays PCAP at RATE (packets/s, or "top") for SECONDS into fnm-gen; tcpreplay's output to OUT.
replay() {
  local pcap=$1 rate=$2 secs=$3 out=$4 speed
  if [[ $rate == top ]]; then speed=--topspeed; else speed=--pps=$rate; fi
  timeout $((secs + 60)) ip netns exec "$ns" tcpreplay -i fnm-gen "$speed" --duration="$secs" \
    --loop=100000 -K --no-flow-stats --stats=3600 "$pcap" >"$out" 2>&1 || true
}
replay_pps() { awk '/^Rated:/{printf "%.0f", $(NF - 1)}' "$1"; }
replay_sent() { awk '/^Actual:/{print $2}' "$1"; }

# --- 1. detection latency ------------------------------------------------------------------

lat_rows=$results/latency.tsv # tool rate rep reached first_packet detected latency sent rx captured drops
: >"$lat_rows"
latency_run() { # TOOL RATE REP
  local tool=$1 rate=$2 rep=$3 tag="lat-$1-$2-$3" tdw tdp first detected="" i
  start_detector "$tool" "$tag"
  timeout $((latency_seconds + 60)) ip netns exec "$ns" tcpdump -i fnm-mon -c 1 -nn -tt \
    --time-stamp-precision=nano -Q in "udp src port 11211" >"$results/$tag.first" 2>"$results/$tag.tcpdump" &
  tdw=$!
  tdp=$(child_of "$tdw")
  [[ -n $tdp ]] || die "tcpdump did not start (log: $results/$tag.tcpdump)"
  wrapper_of[$tdp]=$tdw
  for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$results/$tag.tcpdump" 2>/dev/null && break
    sleep 0.05
  done
  local c0 c1
  c0=$(counters)
  replay "$work/attack.pcap" "$rate" "$latency_seconds" "$results/$tag.replay"
  for ((i = 0; i < 50; i++)); do # up to 5 s more for a detection still on its way
    if [[ $tool == breakwater ]]; then
      detected=$(jq -r --arg v "$victim" 'select(.event == "attack_started" and .attack.victim == $v) | .at' \
        "$results/$tag.events.jsonl" 2>/dev/null | head -1 || true)
    else
      detected=$(awk -v v="$victim" '$1 == "===" && $3 == v && $6 == "ban" {print $2; exit}' \
        "$fnm_dir/notify.log" 2>/dev/null || true)
    fi
    [[ -n $detected ]] && break
    sleep 0.1
  done
  sleep 1
  c1=$(counters)
  stop_pid "$tdp"
  stop_detector
  first=$(awk 'NR == 1 {print $1}' "$results/$tag.first")
  if [[ -z $first ]]; then # tcpdump saw nothing: fall back to tcpreplay's start
    first=$(date -d "$(sed -n 's/^Test start: \(.*\) \.\.\./\1/p' "$results/$tag.replay")" +%s.%N)
  fi
  local latency=miss
  [[ -n $detected ]] && latency=$(awk -v d="$detected" -v f="$first" 'BEGIN {printf "%.3f", d - f}')
  read -r cap0 drop0 _ rx0 _ <<<"$c0"
  read -r cap1 drop1 _ rx1 _ <<<"$c1"
  local drops=-
  [[ $drop0 != - ]] && drops=$((drop1 - drop0))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$rate" "$rep" \
    "$(replay_pps "$results/$tag.replay")" "$first" "${detected:--}" "$latency" \
    "$(replay_sent "$results/$tag.replay")" $((rx1 - rx0)) $((cap1 - cap0)) "$drops" >>"$lat_rows"
  say "latency $tool ${rate} pps run $rep: $latency s"
}

load_start=$(loadavg)
say "load average at start: $load_start"
for tool in $tools; do
  for rate in $latency_rates; do
    for ((rep = 1; rep <= reps; rep++)); do latency_run "$tool" "$rate" "$rep"; done
  done
done
load_after_latency=$(loadavg)

# --- 2 and 3. capture sweep: drops and CPU -------------------------------------------------

sweep_rows=$results/sweep.tsv # tool capture rate reached sent rx rx_dropped captured drops cpu_s busy_pct load1
: >"$sweep_rows"
for tool in $tools; do
  start_detector "$tool" "sweep-$tool"
  for capture in $sweep_captures; do for rate in $sweep_rates; do
    tag="sweep-$tool-$capture-$rate"
    c=$(counters)
    read -r cap0 drop0 tick0 rx0 rxd0 <<<"$c"
    read -r busy0 total0 <<<"$(cpu_busy)"
    replay "$work/$capture.pcap" "$rate" "$sweep_seconds" "$results/$tag.replay"
    sleep 2 # let the tool drain its ring and publish its counters
    c=$(counters)
    read -r cap1 drop1 tick1 rx1 rxd1 <<<"$c"
    read -r busy1 total1 <<<"$(cpu_busy)"
    drops=-
    [[ $drop0 != - ]] && drops=$((drop1 - drop0))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$capture" "$rate" \
      "$(replay_pps "$results/$tag.replay")" "$(replay_sent "$results/$tag.replay")" \
      $((rx1 - rx0)) $((rxd1 - rxd0)) $((cap1 - cap0)) "$drops" \
      "$(awk -v a="$tick0" -v b="$tick1" -v h="$clk_tck" 'BEGIN {printf "%.2f", (b - a) / h}')" \
      "$(awk -v a="$busy0" -v b="$busy1" -v c="$total0" -v d="$total1" 'BEGIN {printf "%.0f", 100 * (b - a) / (d - c)}')" \
      "$(cut -d' ' -f1 /proc/loadavg)" >>"$sweep_rows"
    say "sweep $tool $capture $rate: $(tail -1 "$sweep_rows" | tr '\t' ' ')"
  done; done
  stop_detector
done
load_after_sweep=$(loadavg)

# --- 4. false positives on benign traffic -------------------------------------------------

fp_rows=$results/benign.tsv # tool reached sent captured attacks victims
: >"$fp_rows"
for tool in $tools; do
  tag="benign-$tool"
  start_detector "$tool" "$tag"
  c=$(counters)
  read -r cap0 _ <<<"$c"
  replay "$work/benign.pcap" "$benign_pps" "$benign_seconds" "$results/$tag.replay"
  sleep 7 # FastNetMon bans on a 5 s average: give it time to act on the last seconds
  c=$(counters)
  read -r cap1 _ <<<"$c"
  stop_detector
  if [[ $tool == breakwater ]]; then
    victims=$(jq -r 'select(.event == "attack_started") | "\(.attack.victim)/\(.attack.vector)"' \
      "$results/$tag.events.jsonl" 2>/dev/null | sort -u | paste -sd, - || true)
    n=$(jq -r 'select(.event == "attack_started") | .attack.id' "$results/$tag.events.jsonl" 2>/dev/null | wc -l)
  else
    victims=$(awk '$1 == "===" && $6 == "ban" {print $3 "/" $4}' "$results/$tag.notify.log" 2>/dev/null |
      sort -u | paste -sd, - || true)
    n=$(awk '$1 == "===" && $6 == "ban"' "$results/$tag.notify.log" 2>/dev/null | wc -l)
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$(replay_pps "$results/$tag.replay")" \
    "$(replay_sent "$results/$tag.replay")" $((cap1 - cap0)) "$n" "${victims:--}" >>"$fp_rows"
  say "benign $tool: $n attacks reported"
done
load_end=$(loadavg)

# --- summary -------------------------------------------------------------------------------

{
  echo "sensor_compare.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) CPUs  $(uname -r)"
  echo "breakwater: $bw"
  [[ " $tools " == *" fastnetmon "* ]] && echo "fastnetmon: $fnm_bin ($(dpkg-query -W -f '${Version}' fastnetmon 2>/dev/null || echo '?'))"
  echo "load average (1/5/15 min): start $load_start | after latency $load_after_latency | after sweep $load_after_sweep | end $load_end"
  echo
  echo "1. Detection latency: seconds from the first attack packet (tcpdump, monitored end) to the detection; $reps fresh starts per rate, ${latency_seconds} s replays"
  printf '%-10s %8s %9s %9s %7s %7s %7s %8s  %s\n' tool asked reached detected min median max missed "runs (s)"
  for tool in $tools; do
    for rate in $latency_rates; do
      awk -F'\t' -v t="$tool" -v r="$rate" '
        $1 == t && $2 == r { n++; reached += $4; all = all sep $7; sep = " "; missed += $9 - $10
                             if ($7 != "miss") v[++k] = $7 }
        END {
          if (n == 0) exit
          for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] + 0 < v[i] + 0) { x = v[i]; v[i] = v[j]; v[j] = x }
          if (k == 0) { mn = "-"; md = "-"; mx = "-" }
          else { mn = v[1]; mx = v[k]; md = (k % 2) ? v[(k + 1) / 2] : sprintf("%.3f", (v[k / 2] + v[k / 2 + 1]) / 2) }
          printf "%-10s %8s %9.0f %6d/%-2d %7s %7s %7s %8d  %s\n", t, r, reached / n, k, n, mn, md, mx, missed, all
        }' "$lat_rows"
    done
  done
  echo "(reached: tcpreplay's mean rate; missed: frames the veth delivered that the tool did not count, all runs)"
  echo
  echo "2/3. Capture sweep: one start per tool, ${sweep_seconds} s replay per capture and rate; deltas over the replay + 2 s"
  printf '%-10s %-6s %6s %8s %9s %9s %9s %9s %8s %8s %6s %8s %5s %5s\n' tool pcap asked reached sent veth_rx veth_drop captured k_drops missed cpu_s "s/Mpkt" busy% load
  awk -F'\t' '{
      missed = $6 - $8; cpm = ($8 > 0) ? sprintf("%.3f", $10 / ($8 / 1e6)) : "-"
      printf "%-10s %-6s %6s %8s %9s %9s %9s %9s %8s %8s %6s %8s %5s %5s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, missed, $10, cpm, $11, $12
    }' "$sweep_rows"
  for tool in $tools; do
    for capture in $sweep_captures; do
      awk -F'\t' -v t="$tool" -v c="$capture" '
        $1 == t && $2 == c {
          if ($6 - $8 <= 0 && ($9 == "-" || $9 == 0)) { if ($4 + 0 > best) { best = $4 + 0; at = $3 } }
          else if (first == "") first = $3 " (reached " $4 ")"
          if ($3 == "top") top = $4 }
        END { printf "%-10s %-6s highest rate reached with nothing missed: %s pps (asked %s); first loss: %s; --topspeed reached %s pps\n",
              t, c, best + 0, (at == "" ? "-" : at), (first == "" ? "none" : first), (top == "" ? "-" : top) }' "$sweep_rows"
    done
  done
  echo
  echo "4. False positives: benign-only capture replayed at $benign_pps pps for ${benign_seconds} s"
  printf '%-10s %9s %9s %9s %8s %s\n' tool reached sent captured attacks "victim/vector or ip/direction"
  awk -F'\t' '{printf "%-10s %9s %9s %9s %8s %s\n", $1, $2, $3, $4, $5, $6}' "$fp_rows"
} | tee "$results/summary.txt"
