#!/usr/bin/env bash
# compare.sh: whole-program throughput and memory of `breakwater analyze` against libpcap's raw
# read (`tcpdump -r FILE -w /dev/null`) and Wireshark (`tshark -r FILE -q -z endpoints,ip`), in
# one run, on the same files. docs/performance.md records the figures and how to read them.
#
# Usage: bench/compare.sh [WORKDIR [BREAKWATER]]
#   WORKDIR     where captures and results go (default /tmp/bw-bench); about 9 GB of disk
#   BREAKWATER  the binary to measure (default build/src/cli/breakwater under the checkout);
#               this script builds nothing, so build it first (RelWithDebInfo, the default).
# Environment (defaults in brackets):
#   RUNS [3]                 timed runs per command, after one warm-up run
#   CPU [0]                  the core every measured command is pinned to (taskset -c)
#   LARGE_SECONDS [10]       large-packet capture length: 160 kpps of ~1,442-byte frames
#   SMALL_PACKETS [30M]      small-packet capture size (snaplen 96)
#   SPOOFED_PACKETS [10M]    spoofed-source capture size: half as many distinct sources
#   TSHARK_PACKETS [1000000] tshark runs once per capture, on a slice of this many packets
#   FORCE [0]                1: regenerate captures even when the same ones already exist
# Smaller sizes run faster but judge the targets unfairly: breakwater's start-up (about 50 ms
# of CPU to set up its fixed-size tables) then weighs on every ratio, and the memory target
# needs 5 million sources.
#
# Captures come from `breakwater synth` (deterministic: the same command writes the same
# bytes, so existing files made by an identical command are reused). The page cache cannot be
# dropped here, so every file is read once before it is timed and all figures are warm-cache:
# they measure CPU cost, not disk speed. Results go to WORKDIR/results/ (hyperfine JSON,
# /usr/bin/time -v logs, the reports) and the summary table to WORKDIR/results/summary.txt.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)

work=${1:-/tmp/bw-bench}
bw=${2:-$repo/build/src/cli/breakwater}
runs=${RUNS:-3}
cpu=${CPU:-0}
large_seconds=${LARGE_SECONDS:-10}
small_packets=${SMALL_PACKETS:-30M}
spoofed_packets=${SPOOFED_PACKETS:-10M}
tshark_packets=${TSHARK_PACKETS:-1000000}
force=${FORCE:-0}

die() {
  echo "compare.sh: $*" >&2
  exit 2
}
say() { echo "== $*" >&2; }

[[ -x $bw ]] || die "breakwater binary '$bw' not found; build it first (cmake --build build --target breakwater) or pass its path as the second argument"
for tool in hyperfine tcpdump tshark taskset jq awk; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed (Debian package: $tool)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is not installed (apt-get install time)"
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$runs'"
[[ $tshark_packets =~ ^[1-9][0-9]*$ ]] || die "TSHARK_PACKETS must be a positive integer"

mkdir -p "$work/results"
results=$work/results
rows=$results/rows.tsv # tool file packets bytes wall wall_sd cpu rss_kib runs
: >"$rows"
: >"$results/residency.txt"
pin=(taskset -c "$cpu")

# --- Machine ---------------------------------------------------------------------------------
machine() {
  echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:   $(uname -sr)"
  echo "tools:    $(tcpdump --version 2>&1 | head -2 | tr '\n' ' ')| $(tshark --version | head -1) | $(hyperfine --version)"
  echo "binary:   $bw"
  echo "pinned:   every measured command runs under taskset -c $cpu"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
}

# --- Captures --------------------------------------------------------------------------------
# gen NAME ARGS...: `breakwater synth -o WORK/NAME.pcap ARGS...` unless an identical command
# already wrote that file.
gen() {
  local name=$1
  shift
  local out=$work/$name.pcap stamp=$work/$name.cmd
  local cmd="$bw synth -o $out $*"
  if [[ $force != 1 && -s $out && -f $stamp && $(cat "$stamp") == "$cmd" ]]; then
    say "reusing $out"
  else
    say "generating $out"
    rm -f "$stamp"
    "$bw" synth -o "$out" "$@" >&2
    echo "$cmd" >"$stamp"
  fi
}

# slice NAME: the first TSHARK_PACKETS packets of NAME.pcap, for the single tshark run. Written
# through dd in 16 MiB blocks like synth's own output: a file written in small pieces (tcpdump -w
# writes 4 KiB at a time) sits in the page cache as small folios, and mapping those costs
# breakwater's mmap reader about five times the page-fault time (docs/performance.md).
slice() {
  local name=$1 out=$work/$1-slice.pcap stamp=$work/$1-slice.cmd
  local source_cmd cmd
  source_cmd=$(cat "$work/$name.cmd")
  cmd="tcpdump -r $work/$name.pcap -c $tshark_packets -w - | dd of=$out bs=16M ($source_cmd)"
  if [[ $force != 1 && -s $out && -f $stamp && $(cat "$stamp") == "$cmd" ]]; then
    say "reusing $out"
  else
    say "slicing $out"
    tcpdump -r "$work/$name.pcap" -c "$tshark_packets" -w - 2>/dev/null |
      dd of="$out" bs=16M iflag=fullblock status=none
    echo "$cmd" >"$stamp"
  fi
}

warm() { cat "$@" >/dev/null; }

# resident FILE: share of FILE in the page cache (fincore, util-linux), logged with each timing
# so a figure taken while part of a file had been evicted can be recognised.
resident() {
  if command -v fincore >/dev/null; then
    fincore -b -n -o RES,SIZE "$1" | awk -v f="$1" '{printf "%s: %.0f%% resident in the page cache\n", f, $2 ? 100 * $1 / $2 : 0}'
  fi
}

# packets FILE: packet count from breakwater's own report of FILE (written by rss_run).
packets_of() { jq -r '.capture.packets' "$results/report-$(basename "$1" .pcap).json"; }

# --- Measurements ----------------------------------------------------------------------------
# timed LABEL FILE: hyperfine breakwater and tcpdump on FILE, RUNS runs after a warm-up.
timed() {
  local label=$1 file=$2 json=$results/hyperfine-$1.json
  say "timing breakwater and tcpdump on $file ($runs runs each, load $(cut -d' ' -f1 /proc/loadavg))"
  warm "$file"
  resident "$file" | tee -a "$results/residency.txt" >&2
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$json" --style basic \
    -n breakwater "${pin[*]} $bw analyze --format json -o /dev/null $file" \
    -n tcpdump "${pin[*]} tcpdump -r $file -w /dev/null" >&2
  local pk bytes
  pk=$(packets_of "$file")
  bytes=$(stat -c %s "$file")
  jq -r --arg file "$label" --arg pk "$pk" --arg bytes "$bytes" '.results[] |
    [.command, $file, $pk, $bytes, .mean, .stddev, (.user + .system), "", (.times | length)] |
    @tsv' "$json" >>"$rows"
}

# vtime OUTPUT LOG CMD...: runs CMD under /usr/bin/time -v, stdout to OUTPUT, the log to LOG.
vtime() {
  local output=$1 log=$2
  shift 2
  /usr/bin/time -v -o "$log" "$@" >"$output" 2>/dev/null
}
field() { grep -F "$1" "$2" | head -1 | awk -F': ' '{print $2}'; }
wall_of() { # "h:mm:ss" or "m:ss.ss" -> seconds
  field "Elapsed (wall clock)" "$1" | awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s}'
}

# rss_run TOOL LABEL FILE: one /usr/bin/time -v run, for peak RSS (and breakwater's report).
rss_run() {
  local tool=$1 label=$2 file=$3 log=$results/time-$1-$2.txt out
  case $tool in
    breakwater)
      out=$results/report-$(basename "$file" .pcap).json
      vtime "$out" "$log" "${pin[@]}" "$bw" analyze --format json "$file"
      ;;
    tcpdump) vtime /dev/null "$log" "${pin[@]}" tcpdump -r "$file" -w /dev/null ;;
  esac
  field "Maximum resident set size" "$log" >"$log.rss"
}
rss_of() { cat "$results/time-$1-$2.txt.rss"; }

# tshark_run LABEL FILE: the single tshark run, timed and measured by /usr/bin/time -v.
tshark_run() {
  local label=$1 file=$2 log=$results/time-tshark-$1.txt
  say "tshark once on $file (load $(cut -d' ' -f1 /proc/loadavg))"
  warm "$file"
  resident "$file" | tee -a "$results/residency.txt" >&2
  vtime "$results/tshark-endpoints-$label.txt" "$log" "${pin[@]}" tshark -r "$file" -q -z endpoints,ip
  local user sys wall
  user=$(field "User time" "$log")
  sys=$(field "System time" "$log")
  wall=$(wall_of "$log")
  printf 'tshark\t%s\t%s\t%s\t%s\t0\t%s\t%s\t1\n' "$label" "$(packets_of "$file")" \
    "$(stat -c %s "$file")" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" \
    "$(field "Maximum resident set size" "$log")" >>"$rows"
}

# --- Run -------------------------------------------------------------------------------------
machine | tee "$results/machine.txt" >&2

# (a) Large packets: memcached and DNS reflection, 1,400-byte responses (1,442-byte frames).
gen large --seed 1 --duration "$large_seconds" \
  --attack "vector=memcached,victim=198.18.0.10,size=1400,pps=100k,reflectors=1000" \
  --attack "vector=dns,victim=198.18.0.11,size=1400,pps=60k,reflectors=3000"
# (b) Small packets: four floods and a busy resolver, cut to 96 bytes per packet.
gen small --seed 1 --preset small-packets --packets "$small_packets" --snaplen 96
# (c) One flood from SPOOFED_PACKETS / 2 distinct spoofed sources (5 million by default).
gen spoofed --seed 1 --preset spoofed --packets "$spoofed_packets" --snaplen 96
for name in large small spoofed; do slice "$name"; done

all=(large small spoofed large-slice small-slice spoofed-slice)
say "warming the page cache (it cannot be dropped here; every figure is warm-cache)"
for name in "${all[@]}"; do warm "$work/$name.pcap"; done

# Peak memory (and breakwater's reports, whose packet counts the table uses) first.
for name in "${all[@]}"; do
  say "peak RSS: breakwater and tcpdump on $name.pcap"
  rss_run breakwater "$name" "$work/$name.pcap"
  rss_run tcpdump "$name" "$work/$name.pcap"
done
for name in "${all[@]}"; do timed "$name" "$work/$name.pcap"; done
for name in large small spoofed; do tshark_run "$name-slice" "$work/$name-slice.pcap"; done

# Fill in the peak RSS column for the hyperfine rows.
awk -F'\t' -v OFS='\t' -v dir="$results" '{
  if ($8 == "") { f = dir "/time-" $1 "-" $2 ".txt.rss"; if ((getline r < f) > 0) $8 = r; close(f) }
  print }' "$rows" >"$rows.tmp" && mv "$rows.tmp" "$rows"

# --- Report ----------------------------------------------------------------------------------
summary() {
  cat "$results/machine.txt"
  echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at end"
  echo
  echo "Captures (packets counted by breakwater's report; sources by the synth ground truth):"
  for name in large small spoofed; do
    printf '  %-8s %s  %s packets, %s bytes, %s distinct sources in its largest attack\n' \
      "$name" "$work/$name.pcap" "$(packets_of "$work/$name.pcap")" \
      "$(stat -c %s "$work/$name.pcap")" \
      "$(jq '[.attacks[].reflectors] | max' "$work/$name.pcap.truth.json")"
    printf '           attacks found: %s\n' "$(jq -r '[.attacks[] | "\(.vector) -> \(.victim)"] |
      join(", ") | if . == "" then "none" else . end' "$results/report-$name.json")"
  done
  echo "  *-slice: the first $tshark_packets packets of each (tcpdump -c), where tshark runs once"
  echo
  echo "Wall = mean elapsed seconds over $runs runs (+- sd) after a warm-up; tshark: one run."
  echo "CPU = user + system seconds. Mpps and MB/s are per wall second and per CPU second."
  echo
  awk -F'\t' '
    BEGIN {
      printf "%-10s %-14s %10s %9s %7s %8s %9s %9s %9s %9s %9s\n", "tool", "file", "packets",
        "wall s", "+-sd", "CPU s", "Mpps", "Mpps/CPU", "MB/s", "MB/s/CPU", "peak MiB"
    }
    {
      printf "%-10s %-14s %10d %9.3f %7.3f %8.3f %9.2f %9.2f %9.0f %9.0f %9.1f\n", $1, $2, $3,
        $5, $6, $7, $3 / $5 / 1e6, $3 / $7 / 1e6, $4 / $5 / 1e6, $4 / $7 / 1e6, $8 / 1024
    }' "$rows"
  echo
  echo "Targets (judged on CPU seconds: on a shared machine wall time also counts the waits for"
  echo "a core that other jobs hold; the wall-clock figures are shown beside them):"
  local sources
  sources=$(jq '[.attacks[].reflectors] | max' "$work/spoofed.pcap.truth.json")
  awk -F'\t' -v sources="$sources" '
    { wall[$1 "/" $2] = $5; cpu[$1 "/" $2] = $7; pk[$1 "/" $2] = $3; rss[$1 "/" $2] = $8 }
    function verdict(ok) { return ok ? "MET" : "MISSED" }
    END {
      r = wall["tcpdump/large"] / wall["breakwater/large"]
      rc = cpu["tcpdump/large"] / cpu["breakwater/large"]
      printf "  large packets, no slower than tcpdump -r FILE -w /dev/null: tcpdump time / breakwater time = %.2fx CPU, %.2fx wall (target >= 1): %s\n", rc, r, verdict(rc >= 1)
      m = pk["breakwater/small"] / wall["breakwater/small"] / 1e6
      mc = pk["breakwater/small"] / cpu["breakwater/small"] / 1e6
      printf "  small packets, >= 20 Mpps per core: %.2f Mpps per CPU second, %.2f per wall second pinned to one core: %s\n", mc, m, verdict(mc >= 20)
      split("large small spoofed", names, " ")
      worst = 1e18
      for (i = 1; i <= 3; i++) {
        n = names[i] "-slice"
        x = wall["tshark/" n] / wall["breakwater/" n]
        xc = cpu["tshark/" n] / cpu["breakwater/" n]
        if (xc < worst) worst = xc
        printf "  >= 20x faster than tshark on %-14s: %.1fx CPU, %.1fx wall (the same %d packets)\n", n, xc, x, pk["tshark/" n]
      }
      printf "  >= 20x faster than tshark, every slice: worst %.1fx CPU: %s\n", worst, verdict(worst >= 20)
      mib = rss["breakwater/spoofed"] / 1024
      printf "  <= 256 MiB peak RSS with 5M spoofed sources (this capture: %d): %.1f MiB (tcpdump %.1f MiB; tshark on the %d-packet slice %.1f MiB): %s\n", sources, mib, rss["tcpdump/spoofed"] / 1024, pk["tshark/spoofed-slice"], rss["tshark/spoofed-slice"] / 1024, verdict(mib <= 256 && sources >= 5000000)
    }' "$rows"
}
summary | tee "$results/summary.txt"
