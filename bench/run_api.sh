#!/usr/bin/env bash
# The API benchmarks, against a private `warden serve` (and a private nginx) in one run:
#   1. GET /v1/jobs/{id}: throughput and latency next to nginx serving the same bytes as a file,
#      unpinned as deployed and pinned to a core each, in interleaved rounds
#   2. POST /v1/jobs of a no-op step job, durable: created jobs/s, then a count in the database
#   3. GET latency with and without 1,000 idle SSE followers held open
#   bench/run_api.sh                          # builds the release preset's warden, runs everything
#   bench/run_api.sh --only get --duration 20s
#   WARDEN=/path/to/warden bench/run_api.sh   # that binary, no build
# Run it as root on an otherwise idle machine. It prints figures and ratios next to the targets;
# it exits 1 only when something is broken (a server that does not start, a lost job).
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2 connections=64 duration=10s warmup=2s
light_threads=1 light_connections=4
followers=1000 followed_jobs=1000 idle_seconds=5
post_rounds=3 rounds=3
only=all

usage() {
  cat <<EOF
usage: bench/run_api.sh [options]
  --only get|post|sse    one section (default: all three)
  --threads N            wrk threads (default $threads)
  --connections N        wrk connections (default $connections)
  --duration D           each timed wrk run (default $duration)
  --warmup D             an untimed wrk run before each timed one (default $warmup)
  --rounds N             GET rounds per mode, warden and nginx interleaved (default $rounds)
  --post-rounds N        timed POST runs back to back, on a growing queue (default $post_rounds)
  --followers N          SSE followers in section 3 (default $followers)
  --followed-jobs N      distinct jobs they follow, round-robin (default $followed_jobs)
environment: WARDEN=path of a warden binary to use instead of building build/release
EOF
}

while (($#)); do
  case "$1" in
    --only) only=$2 ;;
    --threads) threads=$2 ;;
    --connections) connections=$2 ;;
    --duration) duration=$2 ;;
    --warmup) warmup=$2 ;;
    --rounds) rounds=$2 ;;
    --post-rounds) post_rounds=$2 ;;
    --followers) followers=$2 ;;
    --followed-jobs) followed_jobs=$2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run_api.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift 2
done
case "$only" in all | get | post | sse) ;; *) usage >&2; exit 2 ;; esac

python=/usr/bin/python3  # Debian's, never a pyenv shim from PATH
for tool in wrk nginx sqlite3 curl taskset "$python"; do
  if ! command -v "$tool" >/dev/null; then
    echo "run_api.sh: $tool is missing (scripts/setup.sh installs it)" >&2
    exit 1
  fi
done

build_type=""
if [[ -n ${WARDEN:-} ]]; then
  warden=$WARDEN
else
  cmake --preset release >/dev/null
  cmake --build build/release -j2 --target warden
  warden=build/release/src/warden
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' build/release/CMakeCache.txt)
fi
warden=$(realpath "$warden")
bench_dir=$(realpath bench)

# Section 3 holds a descriptor per follower in this script's Python and in the server.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# Root's warden runs jobs as the sandbox user, who must reach the data directory (mode 0755).
if [[ $(id -u) -eq 0 ]]; then
  mkdir -p /var/lib/warden-bench
  chmod 755 /var/lib/warden-bench
  tmp=$(mktemp -d /var/lib/warden-bench/api.XXXXXX)
else
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/warden-api-bench.XXXXXX")
fi
chmod 755 "$tmp"

pids=()  # every server and client started here and not yet stopped
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Sends SIGNAL (default TERM) to PID, waits for it and forgets it.
stop_pid() {
  local pid=$1 signal=${2:-TERM} kept=() p
  kill "-$signal" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do
    [[ $p == "$pid" ]] || kept+=("$p")
  done
  pids=("${kept[@]}")
}

# A job that keeps the one worker busy, silent and off the CPU for the whole run: the step's own
# default limit (60 s) would end it mid-run, so it asks for the server's ceiling (10 minutes).
park_job='{"steps":[{"shell":"sleep 3600"}],"options":{"action_timeout":"10m","timeout":"30m"}}'

ncpu=$(nproc)
tck=$(getconf CLK_TCK)

# ---- measuring ----------------------------------------------------------------------------------

# User+system CPU ticks of the given processes (all their threads).
cpu_ticks() {
  local total=0 pid stat fields
  for pid in "$@"; do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    read -r -a fields <<<"${stat##*) }"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

# Busy CPU ticks of the whole machine (everything but idle and iowait).
machine_ticks() {
  local user nice system irq softirq steal
  read -r _ user nice system _ _ irq softirq steal _ </proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}

# CPU time of this shell's reaped children (wrk), in milliseconds, from the `times` builtin; not
# in a subshell, whose children would be its own.
children_ms() {
  local line
  times >"$tmp/times"
  line=$(tail -1 "$tmp/times")
  awk -v l="$line" 'BEGIN {
    split(l, t, " "); ms = 0
    for (i = 1; i <= 2; i++) {
      split(t[i], p, "m"); sub("s", "", p[2]); ms += (p[1] * 60 + p[2]) * 1000
    }
    printf "%d", ms }'
}

# Context switches, voluntary and not, of every thread of the given processes.
ctx_switches() {
  local pid
  for pid in "$@"; do
    cat "/proc/$pid/task/"*/status 2>/dev/null
  done | awk '/^(non)?voluntary_ctxt_switches:/ { n += $2 } END { printf "%d", n }'
}

vm_rss_mb() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

thread_count() {
  local tasks=("/proc/$1/task"/*)
  echo "${#tasks[@]}"
}

fmt_ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
fmt_int() { printf "%.0f" "$1" | sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# Runs wrk with SCRIPT against URL once untimed (--warmup; its output in warm_out) and once timed,
# with `wrk_pin` before it: T C SCRIPT URL SERVER_PIDS... Fills W[...] with wrk's figures, W[cpu]
# (the server's CPU, % of one core), W[us_per_req] and W[cs_per_req] (the server's CPU time and
# context switches per response), W[others] (% of the machine's CPUs taken meanwhile by
# everything that is neither the server nor wrk) and W[noisy].
declare -A W
run_wrk() {
  local t=$1 c=$2 script=$3 url=$4 out kv
  shift 4
  warm_out=$("${wrk_pin[@]}" wrk -t"$t" -c"$c" -d"$warmup" -s "$script" "$url")
  local s0 m0 k0 w0 c0 s1 m1 k1 w1 c1
  children_ms >"$tmp/k0"
  c0=$(ctx_switches "$@")
  s0=$(cpu_ticks "$@") m0=$(machine_ticks) w0=$(date +%s%N)
  out=$("${wrk_pin[@]}" wrk -t"$t" -c"$c" -d"$duration" --latency -s "$script" "$url")
  s1=$(cpu_ticks "$@") m1=$(machine_ticks) w1=$(date +%s%N)
  c1=$(ctx_switches "$@")
  children_ms >"$tmp/k1"
  k0=$(<"$tmp/k0") k1=$(<"$tmp/k1")
  W=()
  for kv in $(grep -E '^WRK(POST)? ' <<<"$out" | cut -d' ' -f2-); do
    W[${kv%%=*}]=${kv#*=}
  done
  if [[ -z ${W[p99_us]:-} ]]; then
    echo "run_api.sh: wrk printed no summary:" >&2
    echo "$out" >&2
    exit 1
  fi
  local wall_s server_s wrk_s machine_s
  wall_s=$(awk -v a="$w0" -v b="$w1" 'BEGIN { print (b - a) / 1e9 }')
  server_s=$(awk -v a="$s0" -v b="$s1" -v t="$tck" 'BEGIN { print (b - a) / t }')
  machine_s=$(awk -v a="$m0" -v b="$m1" -v t="$tck" 'BEGIN { print (b - a) / t }')
  wrk_s=$(awk -v a="$k0" -v b="$k1" 'BEGIN { print (b - a) / 1000 }')
  W[cpu]=$(awk -v s="$server_s" -v w="$wall_s" 'BEGIN { printf "%.0f", 100 * s / w }')
  W[us_per_req]=$(awk -v s="$server_s" -v n="${W[requests]}" \
    'BEGIN { printf "%.1f", (n > 0 ? 1e6 * s / n : 0) }')
  W[cs_per_req]=$(awk -v a="$c0" -v b="$c1" -v n="${W[requests]}" \
    'BEGIN { printf "%.2f", (n > 0 ? (b - a) / n : 0) }')
  W[others]=$(awk -v m="$machine_s" -v s="$server_s" -v k="$wrk_s" -v w="$wall_s" -v n="$ncpu" \
    'BEGIN { o = 100 * (m - s - k) / (w * n); printf "%.0f", (o < 0 ? 0 : o) }')
  W[noisy]=""
  if ((W[others] > 10)); then
    W[noisy]=" NOISY"
    noisy_runs=$((noisy_runs + 1))
  fi
}
noisy_runs=0

# ---- the servers --------------------------------------------------------------------------------

# Starts `warden serve` on a free port with data in DIR: DIR WORKERS MAX_QUEUED [PIN...].
# Sets warden_pid, warden_port, base.
start_warden() {
  local dir=$1 workers=$2 max_queued=$3 i
  shift 3
  mkdir -p "$dir"
  chmod 755 "$dir"
  # No access log, as nginx below (access_log off): both answer without logging each request.
  "$@" "$warden" serve --listen 127.0.0.1:0 --data-dir "$dir" --workers "$workers" \
    --max-queued "$max_queued" --no-access-log >"$dir.out" 2>"$dir.err" &
  warden_pid=$!
  pids+=("$warden_pid")
  warden_port=""
  for ((i = 0; i < 200; i++)); do
    warden_port=$(sed -n 's|^warden serve: listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' \
      "$dir.out")
    [[ -n $warden_port ]] && break
    kill -0 "$warden_pid" 2>/dev/null || break
    sleep 0.05
  done
  if [[ -z $warden_port ]]; then
    echo "run_api.sh: warden serve did not start:" >&2
    cat "$dir.err" >&2
    exit 1
  fi
  base=http://127.0.0.1:$warden_port
}

# POSTs a job (its JSON body) and prints its id.
submit() {
  curl -sf -XPOST "$base/v1/jobs" -H 'Content-Type: application/json' -d "$1" |
    grep -o '"id":"j_[0-9a-z]*"' | head -1 | cut -d'"' -f4
}

# Waits (up to 30 s) until job ID is in STATE.
wait_state() {
  local i
  for ((i = 0; i < 300; i++)); do
    if curl -sf "$base/v1/jobs/$1" | grep -q "\"state\":\"$2\""; then
      return 0
    fi
    sleep 0.1
  done
  echo "run_api.sh: job $1 did not become $2: $(curl -s "$base/v1/jobs/$1")" >&2
  exit 1
}

free_port() {
  "$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Starts nginx with a private configuration serving the files in $tmp/nginx/www: WORKERS [PIN...].
# Sets nginx_pid (the master), nginx_pids (master and workers), nginx_port.
start_nginx() {
  local workers=$1 dir=$tmp/nginx i user=""
  shift
  nginx_port=$(free_port)
  mkdir -p "$dir/temp"
  [[ $(id -u) -eq 0 ]] && user="user nobody nogroup;"
  cat >"$dir/nginx.conf" <<EOF
$user
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path $dir/temp/body;
  proxy_temp_path $dir/temp/proxy;
  fastcgi_temp_path $dir/temp/fastcgi;
  uwsgi_temp_path $dir/temp/uwsgi;
  scgi_temp_path $dir/temp/scgi;
  types { }
  default_type application/json;
  server {
    listen 127.0.0.1:$nginx_port;
    root $dir/www;
  }
}
EOF
  "$@" nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" &
  nginx_pid=$!
  pids+=("$nginx_pid")
  for ((i = 0; i < 200; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/job.json" && break
    sleep 0.05
  done
  if ! curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/job.json"; then
    echo "run_api.sh: nginx did not start:" >&2
    cat "$dir/error.log" >&2
    exit 1
  fi
  for ((i = 0; i < 100; i++)); do
    mapfile -t nginx_pids < <(echo "$nginx_pid"; pgrep -P "$nginx_pid")
    ((${#nginx_pids[@]} == workers + 1)) && break
    sleep 0.05
  done
}

header_bytes() { curl -s -D - -o /dev/null "$1" | wc -c; }

load() { cut -d' ' -f1-3 /proc/loadavg; }

# Prints its arguments as one paragraph, wrapped at 100 columns; note() indents it by three.
say() { echo "$*" | fold -s -w 100 | sed 's/ *$//'; }
note() { echo "$*" | fold -s -w 97 | sed 's/ *$//; s/^/   /'; }

echo "run_api.sh: $warden${build_type:+ ($build_type build)}"
echo "host: $ncpu CPUs, $(uname -r), load average $(load)"
say "wrk: -t$threads -c$connections -d$duration --latency, after a -d$warmup warm-up run;" \
  "'others' = CPU share of the machine taken meanwhile by processes that are neither the server" \
  "nor wrk (NOISY above 10%)"
failed=0

# ---- 1. GET /v1/jobs/{id} next to nginx ---------------------------------------------------------

# The median of its arguments (numbers).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# One timed wrk run of the GET benchmark against URL, served by PIDS..., printed as a row of the
# table: ROUND NAME URL PIDS... Adds the row's req/s and p99 to rps_of[NAME] and p99_of[NAME].
declare -A rps_of p99_of
get_row() {
  local round=$1 name=$2 url=$3 err
  shift 3
  run_wrk "$threads" "$connections" "$bench_dir/wrk/report.lua" "$url" "$@"
  err=$((W[status_errors] + W[socket_errors]))
  printf "   %5s %-8s %10s %8s %8s %6s %9s %8s %9s%% %6s%%%s\n" "$round" "$name" \
    "$(fmt_int "${W[rps]}")" "$(fmt_ms "${W[p50_us]}")" "$(fmt_ms "${W[p99_us]}")" "$err" \
    "${W[us_per_req]}" "${W[cs_per_req]}" "${W[cpu]}" "${W[others]}" "${W[noisy]}"
  rps_of[$name]+="${W[rps]} "
  p99_of[$name]+="${W[p99_us]} "
  if ((err > 0)); then
    echo "   ERRORS: some responses failed; the figures above are not valid"
    failed=1
  fi
}

# The ratios of the rounds of one mode: warden/nginx req/s and p99, each round's and the median.
get_ratios() {
  local -a w n wp np rr pr
  read -r -a w <<<"${rps_of[warden]}"
  read -r -a n <<<"${rps_of[nginx]}"
  read -r -a wp <<<"${p99_of[warden]}"
  read -r -a np <<<"${p99_of[nginx]}"
  local i r p
  for i in "${!w[@]}"; do
    rr+=("$(ratio "${w[i]}" "${n[i]}")")
    pr+=("$(ratio "${wp[i]}" "${np[i]}")")
  done
  r=$(median "${rr[@]}") p=$(median "${pr[@]}")
  echo "   warden/nginx req/s = ${r}x, the median of rounds ${rr[*]} (target >= 0.50x:" \
    "$(awk -v r="$r" 'BEGIN { print (r >= 0.5 ? "met" : "NOT met") }'); moonshot 0.80x:" \
    "$(awk -v r="$r" 'BEGIN { print (r >= 0.8 ? "met" : "not met") }'))"
  echo "   p99 warden/nginx = ${p}x, the median of rounds ${pr[*]} (target <= 2x:" \
    "$(awk -v p="$p" 'BEGIN { print (p <= 2 ? "met" : "NOT met") }'))"
}

section_get() {
  echo
  echo "== 1. GET /v1/jobs/{id} next to nginx serving the same bytes as a static file =="
  local mode server_pin id body_bytes round
  for mode in unpinned pinned; do
    if [[ $mode == pinned ]]; then
      if ((ncpu < 2)); then
        echo "(pinned: skipped, needs 2 CPUs)"
        continue
      fi
      server_pin=(taskset -c 1) wrk_pin=(taskset -c 0)
    else
      server_pin=() wrk_pin=()
    fi
    start_warden "$tmp/get-$mode" 1 10000 "${server_pin[@]}"
    # A finished job: its body no longer changes.
    id=$(submit '{"steps":[{"shell":"true"}]}')
    wait_state "$id" succeeded
    mkdir -p "$tmp/nginx/www"
    curl -sf -o "$tmp/nginx/www/job.json" "$base/v1/jobs/$id"
    body_bytes=$(stat -c %s "$tmp/nginx/www/job.json")
    start_nginx 1 "${server_pin[@]}"
    local wurl=$base/v1/jobs/$id nurl=http://127.0.0.1:$nginx_port/job.json
    local warden_threads
    warden_threads=$(thread_count "$warden_pid")

    echo
    if [[ $mode == unpinned ]]; then
      say "-- unpinned, the default deployment: servers and wrk on all $ncpu CPUs, nothing" \
        "pinned; warden as \`warden serve\` starts; nginx worker_processes 1 (its own default)"
    else
      say "-- pinned: the server on CPU 1 (taskset, every thread), wrk on CPU 0;" \
        "nginx worker_processes 1"
    fi
    note "body $body_bytes bytes on both (job $id, succeeded); response headers: warden" \
      "$(header_bytes "$wurl") bytes, nginx $(header_bytes "$nurl") bytes"
    note "warden: $warden_threads threads in the process; $rounds rounds, warden and nginx" \
      "interleaved; CPU us/req and ctx sw/req: the server's CPU time and context switches (all" \
      "its threads or processes) per response"
    printf "   %5s %-8s %10s %8s %8s %6s %9s %8s %10s %7s\n" "round" "server" "req/s" "p50 ms" \
      "p99 ms" "errors" "CPU us/req" "ctx sw/req" "server CPU" "others"
    rps_of=() p99_of=()
    for ((round = 1; round <= rounds; round++)); do
      get_row "$round" warden "$wurl" "$warden_pid"
      get_row "$round" nginx "$nurl" "${nginx_pids[@]}"
    done
    get_ratios
    stop_pid "$nginx_pid"
    stop_pid "$warden_pid"
  done
}

# ---- 2. durable POST /v1/jobs -------------------------------------------------------------------

section_post() {
  echo
  echo "== 2. POST /v1/jobs {\"steps\":[{\"shell\":\"true\"}]}, durable" \
    "(SQLite WAL, synchronous=FULL) =="
  local dir=$tmp/post park
  wrk_pin=()
  # --workers 0 means one per CPU (serve.cc), so one worker is the least. It is parked on a
  # sleeping job: every benchmark job stays queued, and no sandbox takes CPU from the API.
  start_warden "$dir" 1 100000000
  park=$(submit "$park_job")
  wait_state "$park" running
  note "warden --workers 1 (0 is not accepted: it means one per CPU), parked on a" \
    "'sleep 3600' job so every posted job stays queued; --max-queued 100000000;" \
    "$(thread_count "$warden_pid") threads"
  note "wrk -t$threads -c$connections -d$duration -s bench/wrk/post_job.lua, $post_rounds rounds" \
    "back to back (201s counted in wrk's response() hook; 429 and the rest are not); the queue" \
    "grows by every job created, so each round starts with a longer one"

  local round created=0 before per_s first_per_s=""
  printf "   %5s %12s %10s %8s %6s %6s %8s %8s %10s %7s\n" "round" "queued before" "created/s" \
    "201" "429" "other" "p50 ms" "p99 ms" "server CPU" "others"
  for ((round = 1; round <= post_rounds; round++)); do
    run_wrk "$threads" "$connections" "$bench_dir/wrk/post_job.lua" "$base/v1/jobs" "$warden_pid"
    # The warm-up run created jobs too.
    created=$((created + $(sed -n 's/^WRKPOST created=\([0-9]*\) .*/\1/p' <<<"$warm_out")))
    before=$created
    created=$((created + W[created]))
    per_s=$(awk -v c="${W[created]}" -v d="${W[duration_us]}" \
      'BEGIN { printf "%.0f", c / d * 1e6 }')
    [[ -n $first_per_s ]] || first_per_s=$per_s
    printf "   %5s %12s %10s %8s %6s %6s %8s %8s %9s%% %6s%%%s\n" "$round" "~$(fmt_int "$before")" \
      "$(fmt_int "$per_s")" "${W[created]}" "${W[refused_429]}" "${W[other]}" \
      "$(fmt_ms "${W[p50_us]}")" "$(fmt_ms "${W[p99_us]}")" "${W[cpu]}" "${W[others]}" "${W[noisy]}"
    if ((W[refused_429] + W[other] + W[socket_errors] > 0)); then
      echo "   ERRORS: not every request was answered 201"
      failed=1
    fi
  done
  echo "   created/s (round 1) = $(fmt_int "$first_per_s") (target >= 2,000/s:" \
    "$( ((first_per_s >= 2000)) && echo met || echo 'NOT met'))"
  if ! curl -sf "$base/v1/jobs/$park" | grep -q '"state":"running"'; then
    echo "   INVALID: the parked job is no longer running, so queued jobs ran during the runs"
    failed=1
  fi

  # Durability: kill -9 the server, then count in the database what it acknowledged.
  stop_pid "$warden_pid" KILL
  local stored queued check extra in_flight=$((connections * 2 * post_rounds))
  stored=$(sqlite3 "$dir/warden.db" "SELECT count(*) FROM jobs WHERE id != '$park'")
  queued=$(sqlite3 "$dir/warden.db" "SELECT count(*) FROM jobs WHERE state = 'queued'")
  check=$(sqlite3 "$dir/warden.db" "PRAGMA quick_check")
  extra=$((stored - created))
  note "durability: server killed with SIGKILL after the last round; warden.db holds $stored" \
    "posted jobs, $queued queued (quick_check: $check); wrk counted $created 201s (warm-ups" \
    "included)"
  if ((extra < 0)); then
    echo "   LOST: $((-extra)) jobs answered 201 are not in the database"
    failed=1
  elif ((extra > in_flight)); then
    echo "   UNEXPECTED: $extra more jobs in the database than 201s, beyond the requests in flight"
    failed=1
  else
    note "OK: every 201 is in the database; $extra more were committed for requests in flight" \
      "when a wrk run stopped (at most $connections per run, $((2 * post_rounds)) runs)"
  fi
}

# ---- 3. GET latency with 1,000 idle SSE followers ----------------------------------------------

section_sse() {
  echo
  echo "== 3. GET /v1/jobs/{id} latency with $followers idle SSE followers held open =="
  local dir=$tmp/sse park target
  wrk_pin=()
  start_warden "$dir" 1 100000
  park=$(submit "$park_job")
  wait_state "$park" running
  {
    echo "$park"
    "$python" "$bench_dir/sse_followers.py" create "$warden_port" $((followed_jobs - 1)) \
      '{"steps":[{"shell":"true"}]}'
  } >"$tmp/followed-ids"
  target=$(sed -n 2p "$tmp/followed-ids")
  [[ -n $target ]] || target=$park
  note "warden --workers 1, parked on a 'sleep 3600' job (running, silent); the followers follow" \
    "it and $((followed_jobs - 1)) queued jobs ($followed_jobs jobs, round-robin); GET reads a" \
    "queued job"

  local -A row
  cell() {  # the last wrk run: req/s, p50, p99, others
    echo "$(fmt_int "${W[rps]}") $(fmt_ms "${W[p50_us]}") $(fmt_ms "${W[p99_us]}")" \
      "${W[others]}%${W[noisy]}"
  }
  measure_row() {  # NAME
    local name=$1 t0 t1
    row[$name.rss]=$(vm_rss_mb "$warden_pid")
    row[$name.threads]=$(thread_count "$warden_pid")
    row[$name.fds]=$(ls "/proc/$warden_pid/fd" | wc -l)
    t0=$(cpu_ticks "$warden_pid")
    sleep "$idle_seconds"
    t1=$(cpu_ticks "$warden_pid")
    row[$name.idle]=$(awk -v a="$t0" -v b="$t1" -v t="$tck" -v s="$idle_seconds" \
      'BEGIN { printf "%.1f", 100 * (b - a) / t / s }')
    run_wrk "$light_threads" "$light_connections" "$bench_dir/wrk/report.lua" \
      "$base/v1/jobs/$target" "$warden_pid"
    row[$name.l]=$(cell)
    row[$name.lerr]=$((W[status_errors] + W[socket_errors]))
    run_wrk "$threads" "$connections" "$bench_dir/wrk/report.lua" "$base/v1/jobs/$target" \
      "$warden_pid"
    row[$name.s]=$(cell)
    row[$name.serr]=$((W[status_errors] + W[socket_errors]))
    if ((row[$name.lerr] + row[$name.serr] > 0)); then
      echo "   ERRORS in the GET runs ($name): the figures are not valid"
      failed=1
    fi
  }

  measure_row none

  "$python" "$bench_dir/sse_followers.py" follow "$warden_port" "$tmp/followed-ids" "$followers" \
    >"$tmp/followers.out" 2>&1 &
  local follower_pid=$! i ready=""
  pids+=("$follower_pid")
  for ((i = 0; i < 1200; i++)); do
    ready=$(grep '^READY ' "$tmp/followers.out" || true)
    [[ -n $ready ]] && break
    kill -0 "$follower_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $ready ]]; then
    echo "run_api.sh: the followers did not get ready:" >&2
    cat "$tmp/followers.out" >&2
    exit 1
  fi
  echo "   followers: $ready"
  local ok
  ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<<"$ready")
  if ((ok != followers)); then
    echo "   FAILED: only $ok of $followers followers got a stream with its history"
    failed=1
  fi

  measure_row held

  stop_pid "$follower_pid"
  local held
  held=$(grep '^HELD ' "$tmp/followers.out" || echo "HELD (no report)")
  echo "   after the GET runs: $held"
  if [[ $held != *" closed_early=0 "* ]]; then
    echo "   FAILED: the server ended streams of jobs that had not ended"
    failed=1
  fi
  if ! curl -sf "$base/v1/jobs/$park" | grep -q '"state":"running"'; then
    echo "   INVALID: the parked job is no longer running, so queued jobs ran during the runs"
    failed=1
  fi

  note "light load: wrk -t$light_threads -c$light_connections; saturating: wrk -t$threads" \
    "-c$connections; each cell: req/s, p50 ms, p99 ms, others"
  printf "   %-16s %8s %8s %6s %10s %-30s %s\n" "" "RSS MB" "threads" "fds" "idle CPU" \
    "light load" "saturating"
  local name label
  for name in none held; do
    label="no followers"
    [[ $name == held ]] && label="$ok followers"
    printf "   %-16s %8s %8s %6s %9s%% %-30s %s\n" "$label" "${row[$name.rss]}" \
      "${row[$name.threads]}" "${row[$name.fds]}" "${row[$name.idle]}" "${row[$name.l]}" \
      "${row[$name.s]}"
  done
  note "idle CPU: the server's CPU over ${idle_seconds} s with no requests, % of one core; both" \
    "rows include what the parked job's running sandbox costs. Target: GET latency under 5 ms" \
    "with the followers held (the light-load p99 is the figure)"
  stop_pid "$warden_pid"
}

[[ $only == all || $only == get ]] && section_get
[[ $only == all || $only == post ]] && section_post
[[ $only == all || $only == sse ]] && section_sse

echo
echo "load average at the end: $(load)"
if ((noisy_runs > 0)); then
  echo "$noisy_runs timed runs were NOISY (other processes took over 10% of the CPUs): rerun"
fi
exit "$failed"
