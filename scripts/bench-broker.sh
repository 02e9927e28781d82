#!/usr/bin/env bash
# Side-by-side MQTT broker benchmark: `reflex serve` against Debian's mosquitto, same machine,
# same run, alternating order. See docs/benchmarks.md for what the scenarios mean.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench-broker.sh [options]

Runs the same MQTT load against `reflex serve` and against mosquitto (the baseline, configured
from ../shared/tools/mosquitto-bench.conf), each broker started fresh per scenario and round on
its own random loopback port, broker order alternating every round (reflex, mosquitto, then
mosquitto, reflex, ...). Writes a markdown report with medians, reflex/mosquitto ratios, the
raw per-round lines and the machine facts.

Options:
  --rounds N            rounds per scenario and broker (default 5; 2 with --quick)
  --messages N          base message count (default 400000; 40000 with --quick). The scenarios
                        publish N (fan-in QoS 0), N/2 (fan-in QoS 1), N/20 to 50 subscribers
                        (fan-out), N/2 (ingest QoS 1) and N/4 (paced latency run)
  --idle-conns N        idle connections in the memory scenario (default 10000; 2000 with --quick)
  --quick               small sizes for a smoke run (defaults above; explicit options still win)
  --scenarios LIST      comma-separated subset of: fanin-q0,fanin-q1,fanout-q0,ingest-q1,
                        latency-q1,idle (default: all)
  --reflex-bin PATH     reflex executable (default: `swift build -c release --product reflex`
                        in the repository, then .build/release/reflex)
  --reflex-extra-args S extra words appended to `reflex serve ...` (split on spaces)
  --out FILE            report path (default bench-results/broker-<UTC date>.md in the repo)
  --keep-tmp            keep the temporary directory (broker logs, generator output)
  -h, --help            this text

Each broker runs as: (mosquitto) mosquitto -c <generated conf with the chosen port>
                     (reflex)    reflex serve --mqtt-listen 127.0.0.1:<port> --data-dir <tmp>
                                              --log-level warning --max-queued-messages <N>
                     where N is mosquitto-bench.conf's max_queued_messages (same queue depth).
Tools: mqttload (../shared/tools/mqttload.c) and scripts/bench-idle-conns.c are compiled into
.build/bench-tools/ when missing or out of date (needs gcc and libmosquitto-dev). Every broker
and generator runs under `timeout`; all of them are stopped on exit, including Ctrl-C.

Exit status: 0 when every run completed without QoS 1 loss; 1 when any run failed or any QoS 1
message was lost (the report is written either way); 2 on usage or setup errors.
EOF
}

die() { printf 'bench-broker: %s\n' "$*" >&2; exit 2; }
log() { printf '%s\n' "$*" >&2; }

# ------------------------------------------------------------------ locations and options
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/.." && pwd)
shared_dir=$(cd "$repo_root/../shared" 2>/dev/null && pwd) || die "cannot find ../shared next to $repo_root"
tools_src="$shared_dir/tools"
mosq_template="$tools_src/mosquitto-bench.conf"
mqttload_src="$tools_src/mqttload.c"
idle_src="$script_dir/bench-idle-conns.c"
tools_dir="$repo_root/.build/bench-tools"

command_line=$(printf '%q ' "$0" "$@")
command_line=${command_line% }

rounds="" messages="" idle_conns="" quick=0 scenarios="" reflex_bin="" reflex_extra="" out="" keep_tmp=0
need_arg() { if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi; }
while [ "$#" -gt 0 ]; do
    case "$1" in
        --rounds) need_arg "$@"; rounds=$2; shift 2 ;;
        --messages) need_arg "$@"; messages=$2; shift 2 ;;
        --idle-conns) need_arg "$@"; idle_conns=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        --scenarios) need_arg "$@"; scenarios=$2; shift 2 ;;
        --reflex-bin) need_arg "$@"; reflex_bin=$2; shift 2 ;;
        --reflex-extra-args) need_arg "$@"; reflex_extra=$2; shift 2 ;;
        --out) need_arg "$@"; out=$2; shift 2 ;;
        --keep-tmp) keep_tmp=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" ;;
    esac
done
if [ "$quick" = 1 ]; then
    : "${rounds:=2}" "${messages:=40000}" "${idle_conns:=2000}"
else
    : "${rounds:=5}" "${messages:=400000}" "${idle_conns:=10000}"
fi
: "${scenarios:=fanin-q0,fanin-q1,fanout-q0,ingest-q1,latency-q1,idle}"
is_uint() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_uint "$rounds" || die "--rounds must be a positive integer"
if ! is_uint "$messages" || [ "$messages" -lt 20 ]; then die "--messages must be an integer >= 20"; fi
is_uint "$idle_conns" || die "--idle-conns must be a positive integer"
[ -z "$out" ] && out="$repo_root/bench-results/broker-$(date -u +%Y%m%dT%H%M%SZ).md"
out_dir=$(dirname "$out")

gen_timeout=120    # seconds, any one load generator run
broker_timeout=180 # seconds, one broker instance (outlives its generator run)

# ------------------------------------------------------------------ scenarios
# id | title | mqttload arguments (without host/port) | QoS (1 = loss is an error)
all_ids=(fanin-q0 fanin-q1 fanout-q0 ingest-q1 latency-q1 idle)
declare -A title args qos
title[fanin-q0]="fan-in QoS 0 (4 pub -> 1 sub)"
args[fanin-q0]="-P 4 -S 1 -n $messages -s 64 -q 0"
qos[fanin-q0]=0
title[fanin-q1]="fan-in QoS 1 (4 pub -> 1 sub)"
args[fanin-q1]="-P 4 -S 1 -n $((messages / 2)) -s 64 -q 1"
qos[fanin-q1]=1
title[fanout-q0]="fan-out QoS 0 (1 pub -> 50 sub)"
args[fanout-q0]="-P 1 -S 50 -j 1 -J 4 -n $((messages / 20)) -s 64 -q 0"
qos[fanout-q0]=0
title[ingest-q1]="ingest QoS 1 (4 pub, PUBACKs, no sub)"
args[ingest-q1]="-P 4 -m ingest -n $((messages / 2)) -s 64 -q 1"
qos[ingest-q1]=1
title[latency-q1]="latency QoS 1 @ 20k msgs/s (4 pub -> 1 sub)"
args[latency-q1]="-P 4 -S 1 -n $((messages / 4)) -s 64 -q 1 -R 20000"
qos[latency-q1]=1
title[idle]="idle connections ($idle_conns, keep-alive 600)"

IFS=, read -r -a run_ids <<<"$scenarios"
for id in "${run_ids[@]}"; do
    [[ " ${all_ids[*]} " == *" $id "* ]] || die "unknown scenario '$id' (one of: ${all_ids[*]})"
done

# ------------------------------------------------------------------ processes and cleanup
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-broker.XXXXXX")
declare -A live=() # pids we started and have not reaped yet

stop_pid() { # pid: TERM, then KILL after 3 s; reap if it is our child
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "live[$pid]"
}
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${!live[@]}"; do stop_pid "$pid"; done
    if [ "$keep_tmp" = 1 ]; then log "temporary files kept in $tmp"; else rm -rf "$tmp"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ------------------------------------------------------------------ tools and binaries
command -v mosquitto >/dev/null || die "mosquitto not found (apt-get install -y mosquitto)"
command -v gcc >/dev/null || die "gcc not found"
mkdir -p "$tools_dir"
mqttload="$tools_dir/mqttload"
idleconns="$tools_dir/bench-idle-conns"
if [ ! -x "$mqttload" ] || [ "$mqttload_src" -nt "$mqttload" ]; then
    log "building mqttload -> $mqttload"
    gcc -O2 -Wall -Wextra -pthread -o "$mqttload" "$mqttload_src" -lmosquitto ||
        die "mqttload build failed (apt-get install -y libmosquitto-dev)"
fi
if [ ! -x "$idleconns" ] || [ "$idle_src" -nt "$idleconns" ]; then
    log "building bench-idle-conns -> $idleconns"
    gcc -O2 -Wall -Wextra -o "$idleconns" "$idle_src" || die "bench-idle-conns build failed"
fi
if [ -z "$reflex_bin" ]; then
    log "building reflex: swift build -c release --product reflex"
    (cd "$repo_root" && swift build -c release --product reflex) >&2 || die "swift build failed"
    reflex_bin="$repo_root/.build/release/reflex"
fi
[ -x "$reflex_bin" ] || die "reflex binary not executable: $reflex_bin"
reflex_bin=$(cd "$(dirname "$reflex_bin")" && pwd)/$(basename "$reflex_bin")
read -r -a reflex_extra_words <<<"$reflex_extra"
# Same settings on both sides: reflex gets the baseline's per-client queue depth.
mosq_queue=$(awk '$1 == "max_queued_messages" { print $2 }' "$mosq_template")
reflex_same_settings=()
[ -z "$mosq_queue" ] || reflex_same_settings=(--max-queued-messages "$mosq_queue")

# 10,000 idle connections need that many descriptors in the broker and in the client.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_limit=$(ulimit -n)
if [ "$fd_limit" != unlimited ] && [ "$fd_limit" -lt $((idle_conns + 256)) ]; then
    idle_conns=$((fd_limit - 256))
    log "warning: fd limit $fd_limit; idle scenario reduced to $idle_conns connections"
    title[idle]="idle connections ($idle_conns, keep-alive 600)"
fi
clk_tck=$(getconf CLK_TCK)

# ------------------------------------------------------------------ broker control
port_in_use() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # random port below Linux's ephemeral range, nobody listening
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 12000))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    return 1
}

# start_broker KIND: sets b_pid (the broker itself), b_tpid (its timeout wrapper), b_port, b_log
start_broker() {
    local kind=$1 attempt dir
    for attempt in 1 2 3; do
        b_port=$(pick_port) || return 1
        dir=$(mktemp -d "$tmp/$kind.XXXXXX")
        b_log="$dir/broker.log"
        case "$kind" in
            mosquitto)
                sed -E "s/^listener[[:space:]]+[0-9]+([[:space:]].*)?$/listener $b_port 127.0.0.1/" \
                    "$mosq_template" >"$dir/mosquitto.conf"
                grep -q "^listener $b_port 127.0.0.1\$" "$dir/mosquitto.conf" ||
                    die "no 'listener PORT ADDR' line to rewrite in $mosq_template"
                timeout -k 5 "$broker_timeout" mosquitto -c "$dir/mosquitto.conf" >"$b_log" 2>&1 &
                ;;
            reflex)
                mkdir -p "$dir/data"
                timeout -k 5 "$broker_timeout" "$reflex_bin" serve --mqtt-listen "127.0.0.1:$b_port" \
                    --data-dir "$dir/data" --log-level warning ${reflex_same_settings[@]+"${reflex_same_settings[@]}"} \
                    ${reflex_extra_words[@]+"${reflex_extra_words[@]}"} \
                    >"$b_log" 2>&1 &
                ;;
        esac
        b_tpid=$!
        live[$b_tpid]=1
        b_pid=""
        for _ in $(seq 300); do # up to 15 s until the port accepts
            kill -0 "$b_tpid" 2>/dev/null || break
            if [ -z "$b_pid" ]; then
                b_pid=$(pgrep -P "$b_tpid" | head -n 1 || true)
                [ -z "$b_pid" ] || live[$b_pid]=1
            fi
            if [ -n "$b_pid" ] && port_in_use "$b_port"; then return 0; fi
            sleep 0.05
        done
        log "  $kind did not come up on port $b_port (attempt $attempt); log tail:"
        tail -n 5 "$b_log" | sed 's/^/    /' >&2 || true
        stop_broker
    done
    return 1
}
stop_broker() { # the wrapper passes TERM on; if it had to be killed, its child is still there
    stop_pid "$b_tpid"
    [ -z "$b_pid" ] || stop_pid "$b_pid"
}

cpu_ticks() { # utime+stime (fields 14, 15 of /proc/PID/stat; the comm field may hold spaces)
    local stat rest
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    rest=${stat##*) }
    read -r -a f <<<"$rest" # f[0] is field 3
    echo $((f[11] + f[12]))
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ------------------------------------------------------------------ one run
raw="$tmp/raw.tsv" # scenario round broker port status thr p50 p99 delivered expected cpu_s cpu_per_M conns rss0 rss1 kb_per_conn
: >"$raw"
failures=0
qos1_loss=0

record() { local IFS=$'\t'; echo "$*" >>"$raw"; }

run_load() { # scenario round broker
    local id=$1 round=$2 kind=$3 gen_out gen_err rc=0 c0 c1 last thr p50 p99 del exp cpu per status=ok
    if ! start_broker "$kind"; then
        log "  FAILED: $kind did not start"
        record "$id" "$round" "$kind" - broker-start-failed - - - 0 0 - - - - - -
        failures=$((failures + 1))
        return 0
    fi
    gen_out="$tmp/$id.$round.$kind.out"
    gen_err="$tmp/$id.$round.$kind.err"
    c0=$(cpu_ticks "$b_pid") || c0=0
    # shellcheck disable=SC2086 # the scenario's argument string is meant to split
    timeout -k 5 "$gen_timeout" "$mqttload" -h 127.0.0.1 -p "$b_port" ${args[$id]} >"$gen_out" 2>"$gen_err" &
    local gpid=$!
    live[$gpid]=1
    wait "$gpid" || rc=$?
    unset "live[$gpid]"
    if ! c1=$(cpu_ticks "$b_pid"); then status=broker-died; c1=$c0; fi
    stop_broker
    last=$(tail -n 1 "$gen_out" 2>/dev/null || true)
    if [[ $last =~ ^throughput_msgs_per_s=([0-9]+)\ p50_us=([0-9]+)\ p99_us=([0-9]+)\ delivered=([0-9]+)/([0-9]+)$ ]]; then
        thr=${BASH_REMATCH[1]} p50=${BASH_REMATCH[2]} p99=${BASH_REMATCH[3]}
        del=${BASH_REMATCH[4]} exp=${BASH_REMATCH[5]}
    else
        thr=0 p50=0 p99=0 del=0 exp=0
        [ "$status" = ok ] && status=no-result
    fi
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then status=generator-timeout; elif [ "$rc" != 0 ] && [ "$status" = ok ]; then status=generator-rc-$rc; fi
    cpu=$(awk -v a="$c0" -v b="$c1" -v t="$clk_tck" 'BEGIN { printf "%.3f", (b - a) / t }')
    per=$(awk -v c="$cpu" -v d="$del" 'BEGIN { if (d > 0) printf "%.3f", c * 1e6 / d; else print "-" }')
    if [ "$exp" -gt 0 ] && [ "$del" -lt "$exp" ]; then
        if [ "${qos[$id]}" = 1 ]; then
            [ "$status" = ok ] && status=QOS1-LOSS
            qos1_loss=$((qos1_loss + 1))
            log "  !!!!!!!! QoS 1 LOSS: $kind, $id round $round: delivered $del of $exp !!!!!!!!"
        elif [ "$status" = ok ]; then
            status=qos0-loss
        fi
    fi
    [ "$status" = ok ] || [ "$status" = qos0-loss ] || [ "$status" = QOS1-LOSS ] || failures=$((failures + 1))
    if [ "$status" != ok ] && [ "$status" != qos0-loss ]; then
        log "  $status; generator stderr/stdout tail, broker log tail:"
        tail -n 3 "$gen_err" "$gen_out" "$b_log" 2>/dev/null | sed 's/^/    /' >&2 || true
    fi
    record "$id" "$round" "$kind" "$b_port" "$status" "$thr" "$p50" "$p99" "$del" "$exp" "$cpu" "$per" - - - -
    log "  $kind: ${thr} msgs/s p50 ${p50} us p99 ${p99} us delivered ${del}/${exp} cpu ${cpu} s (${per} s/M msgs) [$status]"
}

run_idle() { # round broker
    local round=$1 kind=$2 cout cerr rc=0 rss0 rss1 conns=0 open=0 kb status=ok
    if ! start_broker "$kind"; then
        log "  FAILED: $kind did not start"
        record idle "$round" "$kind" - broker-start-failed - - - - - - - - - - -
        failures=$((failures + 1))
        return 0
    fi
    sleep 0.5
    rss0=$(rss_kb "$b_pid") || rss0=""
    cout="$tmp/idle.$round.$kind.out"
    cerr="$tmp/idle.$round.$kind.err"
    timeout -k 5 "$gen_timeout" "$idleconns" -h 127.0.0.1 -p "$b_port" -n "$idle_conns" -k 600 \
        -H "$((gen_timeout - 10))" >"$cout" 2>"$cerr" &
    local cpid=$!
    live[$cpid]=1
    for _ in $(seq 1100); do # the client gives up opening after 60 s
        grep -q '^connected=' "$cout" 2>/dev/null && break
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 1 # let the broker finish its per-connection setup
    rss1=$(rss_kb "$b_pid") || rss1=""
    kill -TERM "$cpid" 2>/dev/null || true # timeout passes it on; the client reports and exits
    wait "$cpid" || rc=$?
    unset "live[$cpid]"
    [ -n "$rss1" ] || status=broker-died
    stop_broker
    [[ $(grep '^connected=' "$cout" || true) =~ ^connected=([0-9]+) ]] && conns=${BASH_REMATCH[1]}
    [[ $(grep '^still_open=' "$cout" || true) =~ ^still_open=([0-9]+) ]] && open=${BASH_REMATCH[1]}
    if [ "$status" = ok ] && { [ "$conns" -lt "$idle_conns" ] || [ "$open" -lt "$conns" ]; }; then
        status=only-$open-of-$idle_conns-held
    fi
    if [ "$status" != ok ]; then
        failures=$((failures + 1))
        log "  $status (client rc $rc); client/broker log tail:"
        tail -n 3 "$cerr" "$cout" "$b_log" 2>/dev/null | sed 's/^/    /' >&2 || true
    fi
    kb=$(awk -v a="${rss0:-0}" -v b="${rss1:-0}" -v n="$open" 'BEGIN { if (n > 0 && b > 0) printf "%.2f", (b - a) / n; else print "-" }')
    record idle "$round" "$kind" "$b_port" "$status" - - - "$open" "$idle_conns" - - "$open" "${rss0:--}" "${rss1:--}" "$kb"
    log "  $kind: $open/$idle_conns idle connections held, VmRSS ${rss0:-?} -> ${rss1:-?} kB, $kb kB/connection [$status]"
}

# ------------------------------------------------------------------ machine facts
cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
[ -n "$cpu_model" ] || cpu_model=$(lscpu 2>/dev/null | awk -F': *' '/^Model name/ { print $2; exit }' || true)
mosq_version=$(mosquitto -h 2>&1 | head -n 1 || true)
reflex_version=$(timeout 10 "$reflex_bin" version 2>/dev/null | head -n 1 || true)
[ -n "$reflex_version" ] || reflex_version=$(timeout 10 "$reflex_bin" --version 2>/dev/null | head -n 1 || true)
[ -n "$reflex_version" ] || reflex_version="unknown (\`reflex version\` gave nothing)"
git_rev=$(git -C "$repo_root" rev-parse --short HEAD 2>/dev/null || echo unknown)
git_dirty=""
if [ -n "$(git -C "$repo_root" status --porcelain 2>/dev/null)" ]; then git_dirty=" (uncommitted changes)"; fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# ------------------------------------------------------------------ the runs
total=$((rounds * ${#run_ids[@]} * 2))
n=0
log "bench-broker: $rounds round(s), scenarios ${run_ids[*]}, reflex=$reflex_bin, report -> $out"
for round in $(seq "$rounds"); do
    if [ $((round % 2)) = 1 ]; then order=(reflex mosquitto); else order=(mosquitto reflex); fi
    for id in "${run_ids[@]}"; do
        for kind in "${order[@]}"; do
            n=$((n + 1))
            log "[$n/$total] round $round/$rounds  ${title[$id]}  $kind"
            if [ "$id" = idle ]; then run_idle "$round" "$kind"; else run_load "$id" "$round" "$kind"; fi
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
# Medians over the rounds that completed (status ok, or loss, which is flagged separately).
# shellcheck disable=SC2016 # awk program, not shell
summary_awk='
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    if (n == 0) return ""
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(v, d) { return v == "" ? "-" : sprintf("%." d "f", v) }
function ratio(r, m, d) { return (r == "" || m == "" || m + 0 == 0) ? "-" : sprintf("%." d "f", r / m) }
function add(k, v) { if (v != "-" && v != "") vals[k] = vals[k] " " v }
BEGIN { FS = "\t" }
{
    s = $1; b = $3; total[s, b]++
    if ($5 == "ok" || $5 == "qos0-loss" || $5 == "QOS1-LOSS") {
        okc[s, b]++
        add(s SUBSEP b SUBSEP "thr", $6); add(s SUBSEP b SUBSEP "p50", $7); add(s SUBSEP b SUBSEP "p99", $8)
        add(s SUBSEP b SUBSEP "cpm", $12); add(s SUBSEP b SUBSEP "kb", $16)
        add(s SUBSEP b SUBSEP "rss0", $14); add(s SUBSEP b SUBSEP "rss1", $15)
    }
    if ($10 != "-" && $10 + 0 > 0) {
        lost = $10 - $9
        if (!((s, b) in worst) || lost > worstlost[s, b]) { worstlost[s, b] = lost; worst[s, b] = $9 "/" $10 }
    }
    if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
}
function m(s, b, k) { return median(vals[s SUBSEP b SUBSEP k]) }
function runs(s, b) { return (okc[s, b] + 0) "/" (total[s, b] + 0) }
function w(s, b) { return ((s, b) in worst) ? worst[s, b] (worstlost[s, b] > 0 ? " **LOSS**" : "") : "-" }
END {
    for (i = 1; i <= ns; i++) if (order[i] != "idle") hasload = 1
    if (hasload) print "| scenario | runs ok r / m | msgs/s reflex | msgs/s mosquitto | **thr r/m** | CPU s/M msgs reflex | CPU s/M msgs mosquitto | **CPU r/m** | p50 µs reflex | p50 µs mosquitto | p99 µs reflex | p99 µs mosquitto | **p99 r/m** | worst delivered reflex | worst delivered mosquitto |"
    if (hasload) print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for (i = 1; i <= ns; i++) {
        s = order[i]; if (s == "idle") { hasidle = 1; continue }
        tr = m(s, "reflex", "thr"); tm = m(s, "mosquitto", "thr")
        cr = m(s, "reflex", "cpm"); cm = m(s, "mosquitto", "cpm")
        pr = m(s, "reflex", "p99"); pm = m(s, "mosquitto", "p99")
        printf "| %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", title[s], runs(s, "reflex"), runs(s, "mosquitto"),
            fmt(tr, 0), fmt(tm, 0), ratio(tr, tm, 2), fmt(cr, 2), fmt(cm, 2), ratio(cr, cm, 2),
            fmt(m(s, "reflex", "p50"), 0), fmt(m(s, "mosquitto", "p50"), 0), fmt(pr, 0), fmt(pm, 0), ratio(pr, pm, 2),
            w(s, "reflex"), w(s, "mosquitto")
    }
    if (hasidle) {
        s = "idle"
        if (hasload) print ""
        print "| " title[s] " | runs ok | connections held (worst) | VmRSS before kB | VmRSS after kB | **kB per connection** |"
        print "|---|---|---:|---:|---:|---:|"
        for (j = 1; j <= 2; j++) {
            b = (j == 1) ? "reflex" : "mosquitto"
            printf "| %s | %s | %s | %s | %s | %s |\n", b, runs(s, b), w(s, b), fmt(m(s, b, "rss0"), 0), fmt(m(s, b, "rss1"), 0), fmt(m(s, b, "kb"), 2)
        }
        printf "| **reflex / mosquitto** | | | | | **%s** |\n", ratio(m(s, "reflex", "kb"), m(s, "mosquitto", "kb"), 2)
    }
}'
titles_awk=""
for id in "${all_ids[@]}"; do titles_awk+="title[\"$id\"] = \"${title[$id]}\"; "; done
summary=$(awk "BEGIN { $titles_awk } $summary_awk" "$raw")

mkdir -p "$out_dir"
{
    echo "# Broker benchmark: reflex vs mosquitto"
    echo
    echo "Started $started_at, finished $(date -u +%Y-%m-%dT%H:%M:%SZ); $rounds round(s), broker order alternating per round."
    echo
    echo "Command: \`$command_line\`"
    echo
    echo "## Machine"
    echo
    echo "- nproc: $(nproc); CPU: ${cpu_model:-unknown}"
    echo "- kernel: $(uname -srm)"
    echo "- mosquitto: $mosq_version (config: mosquitto-bench.conf with the port rewritten)"
    echo "- reflex: $reflex_version; binary $reflex_bin; repository at $git_rev$git_dirty"
    echo "- load average before / after: $load_before / $load_after; CLK_TCK $clk_tck"
    echo
    echo "## Summary (medians over completed rounds)"
    echo
    echo "r/m = reflex / mosquitto: throughput higher is better; CPU seconds per million delivered"
    echo "messages and p99 lower is better. \"worst delivered\" is the round with the most loss."
    echo
    echo "$summary"
    echo
    if [ "$qos1_loss" -gt 0 ]; then
        echo "**WARNING: $qos1_loss run(s) lost QoS 1 messages; see the raw lines marked QOS1-LOSS.**"
        echo
    fi
    if [ "$failures" -gt 0 ]; then
        echo "**$failures run(s) did not complete; see the status column of the raw lines.**"
        echo
    fi
    echo "## Scenarios"
    echo
    for id in "${run_ids[@]}"; do
        if [ "$id" = idle ]; then
            echo "- $id: ${title[$id]}: bench-idle-conns -n $idle_conns -k 600"
        else
            echo "- $id: ${title[$id]}: mqttload ${args[$id]}"
        fi
    done
    echo
    echo "## Raw runs"
    echo
    echo '```'
    awk -F'\t' '{
        if ($1 == "idle")
            printf "scenario=%s round=%s broker=%s port=%s status=%s held=%s/%s rss_before_kb=%s rss_after_kb=%s kb_per_conn=%s\n", $1, $2, $3, $4, $5, $9, $10, $14, $15, $16
        else
            printf "scenario=%s round=%s broker=%s port=%s status=%s throughput_msgs_per_s=%s p50_us=%s p99_us=%s delivered=%s/%s cpu_s=%s cpu_s_per_M_msgs=%s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
    }' "$raw"
    echo '```'
} >"$out"

echo
echo "$summary"
echo
log "report written to $out"
if [ "$qos1_loss" -gt 0 ]; then log "!!!!!!!! $qos1_loss run(s) LOST QoS 1 MESSAGES !!!!!!!!"; fi
if [ "$failures" -gt 0 ]; then log "$failures run(s) failed"; fi
[ "$failures" = 0 ] && [ "$qos1_loss" = 0 ] || exit 1
