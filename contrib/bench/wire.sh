#!/usr/bin/env bash
# The wire benchmark: the release binary as it runs in production, driven over loopback by wrk.
#
# Starts `holdfast serve` on a fresh data directory (SQLite by default; PostgreSQL with
# HOLDFAST_WIRE_DATABASE_URL, whose database or schema must hold no workspace yet), makes the
# first workspace through its one-time setup link, signs the owner in and creates an admin API
# key through the API, seeds contacts and tickets through the API, then runs wrk for contact
# get (over every seeded contact), contact list (limit 10), contact create (unique emails),
# ticket list (newest 50) and search, and prints requests/s and latency percentiles of each.
# Rate limits are raised out of the way; everything else is the server's default (the job
# worker runs, every request is logged to the log file).
#
#   contrib/bench/wire.sh                       # SQLite
#   HOLDFAST_WIRE_DATABASE_URL=postgres://user@127.0.0.1/db contrib/bench/wire.sh
#
# Settings (environment): HOLDFAST_WIRE_BIN (default target/release/holdfast, built when
# missing), HOLDFAST_WIRE_PORT (the first free one from 18080), HOLDFAST_WIRE_SECONDS (10 per scenario),
# HOLDFAST_WIRE_CONNECTIONS (32), HOLDFAST_WIRE_THREADS (2), HOLDFAST_WIRE_CONTACTS (2000),
# HOLDFAST_WIRE_TICKETS (2000), HOLDFAST_WIRE_KEEP (1: keep the data directory and log).
# wrk and the server share the machine's cores, as the in-process benchmark's client does.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${HOLDFAST_WIRE_BIN:-$root/target/release/holdfast}
if [ -n "${CARGO_TARGET_DIR:-}" ] && [ -z "${HOLDFAST_WIRE_BIN:-}" ]; then
    bin=$CARGO_TARGET_DIR/release/holdfast
fi
# The first free port from 18080 (a port something else answers on would be measured instead).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${HOLDFAST_WIRE_PORT:-}
if [ -z "$port" ]; then
    for candidate in $(seq 18080 18180); do
        if port_free "$candidate"; then port=$candidate; break; fi
    done
fi
port_free "$port" || { echo "port $port is in use; set HOLDFAST_WIRE_PORT" >&2; exit 1; }
seconds=${HOLDFAST_WIRE_SECONDS:-10}
connections=${HOLDFAST_WIRE_CONNECTIONS:-32}
threads=${HOLDFAST_WIRE_THREADS:-2}
contacts=${HOLDFAST_WIRE_CONTACTS:-2000}
tickets=${HOLDFAST_WIRE_TICKETS:-2000}
base="http://127.0.0.1:$port"
password='copper lantern orchard seventeen'

for tool in curl jq xargs; do
    command -v "$tool" >/dev/null || { echo "wire.sh needs $tool" >&2; exit 1; }
done
if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package) …"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if [ ! -x "$bin" ]; then
    echo "building the release binary …"
    (cd "$root" && cargo build --release --bin holdfast)
fi

work=$(mktemp -d /tmp/holdfast-wire.XXXXXX)
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    if [ "${HOLDFAST_WIRE_KEEP:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

export HOLDFAST_DATA_DIR="$work/data"
export HOLDFAST_BIND="127.0.0.1:$port"
export HOLDFAST_PUBLIC_RATE_LIMIT_PER_MINUTE=6000000
export HOLDFAST_AUTH_RATE_LIMIT_PER_MINUTE=6000000
export HOLDFAST_API_RATE_LIMIT_PER_MINUTE=6000000
if [ -n "${HOLDFAST_WIRE_DATABASE_URL:-}" ]; then
    export HOLDFAST_DATABASE_URL="$HOLDFAST_WIRE_DATABASE_URL"
    database="PostgreSQL"
else
    unset HOLDFAST_DATABASE_URL
    database="SQLite (embedded default)"
fi
mkdir -p "$HOLDFAST_DATA_DIR"

"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

# The first run: a one-time setup link, its form, then the owner signs in through the API and
# makes an admin key (a key needs a recent password: step-up).
slug="wire-$(date +%s)"
owner="owner@$slug.example.com"
link=$("$bin" admin setup-link | grep -o 'http[^ ]*/setup/hfw_[A-Za-z0-9_-]*' | head -n1 || true)
if [ -z "$link" ]; then
    echo "no setup link (a workspace exists already); use an empty database" >&2
    exit 1
fi
path=${link#http*://*/}
curl -fsS -o /dev/null -X POST "$base/$path" -H "Origin: $base" \
    --data-urlencode "name=Loopback Trial" --data-urlencode "slug=$slug" \
    --data-urlencode "email=$owner" --data-urlencode "password=$password" \
    --data-urlencode "password_again=$password"
token=$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "$(jq -n --arg e "$owner" --arg p "$password" --arg w "$slug" \
        '{email: $e, password: $p, workspace: $w}')" | jq -r .access_token)
curl -fsS -o /dev/null -X POST "$base/api/v1/auth/step-up" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "$(jq -n --arg p "$password" '{password: $p}')"
key=$(curl -fsS -X POST "$base/api/v1/api-keys" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"name": "wire benchmark", "role": "admin"}' |
    jq -r .secret)
export HOLDFAST_WIRE_KEY="$key"

# Seeding through the API, eight requests at a time.
echo "seeding $contacts contacts and $tickets tickets through the API …"
seed_started=$(date +%s%N)
export base key
seq 1 "$contacts" | xargs -P 8 -I{} sh -c '
    curl -fsS -X POST "$base/api/v1/contacts" -H "Authorization: Bearer $key" \
        -H "Content-Type: application/json" \
        -d "{\"name\": \"Seeded Contact {}\", \"email\": \"seeded-{}@example.com\", \"tags\": [\"seed\"]}" |
        jq -r .id' >"$work/contact-ids"
words=(boiler leak invoice quote heating radiator tap drain visit warranty pressure thermostat pipe noise filter valve)
for n in $(seq 1 "$tickets"); do
    a=${words[$((n * 3 % 16))]} b=${words[$((n * 5 % 16))]} c=${words[$((n * 7 % 16))]}
    extra=""
    [ $((n % 500)) -eq 0 ] && extra=" chimney"
    printf '%s\t%s\n' "$n" "$a $b $c$extra"
done | xargs -P 8 -d '\n' -I{} sh -c '
    n=$(printf "%s" "{}" | cut -f1); subject=$(printf "%s" "{}" | cut -f2)
    curl -fsS -o /dev/null -X POST "$base/api/v1/tickets" -H "Authorization: Bearer $key" \
        -H "Content-Type: application/json" \
        -d "{\"subject\": \"$subject\", \"contact\": {\"email\": \"seeded-$n@example.com\"}, \"message\": \"Hello, the $subject needs a visit. Could you look at it?\"}"'
seed_ms=$((($(date +%s%N) - seed_started) / 1000000))
seeded=$(wc -l <"$work/contact-ids")
echo "seeded $seeded contacts and $tickets tickets in $((seed_ms / 1000)).$(printf %03d $((seed_ms % 1000))) s"

cat >"$work/wire.lua" <<'LUA'
-- One scenario per run, named by WIRE_OP: get, list, create, tickets, search.
local op = os.getenv("WIRE_OP")
local key = os.getenv("HOLDFAST_WIRE_KEY")
local headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
local ids = {}
for line in io.lines(os.getenv("WIRE_IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
end
local threads, counter, nonce = {}, 0, os.getenv("WIRE_NONCE")

function setup(thread)
    thread:set("tid", #threads + 1)
    threads[#threads + 1] = thread
end

function init(args)
    math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
    if op == "get" then
        return wrk.format("GET", "/api/v1/contacts/" .. ids[math.random(#ids)], headers)
    elseif op == "list" then
        return wrk.format("GET", "/api/v1/contacts?limit=10", headers)
    elseif op == "create" then
        counter = counter + 1
        local email = string.format("wire-%s-%d-%d@example.com", nonce, tid or 0, counter)
        local body = string.format('{"name": "Wire Contact %d", "email": "%s", "tags": ["wire"]}',
            counter, email)
        return wrk.format("POST", "/api/v1/contacts", headers, body)
    elseif op == "tickets" then
        return wrk.format("GET", "/api/v1/tickets?limit=50", headers)
    else
        return wrk.format("GET", "/api/v1/tickets?q=" .. os.getenv("WIRE_QUERY") .. "&limit=50",
            headers)
    end
end

function done(summary, latency, requests)
    local ms = function(us) return us / 1000 end
    local seconds = summary.duration / 1e6
    local bad = summary.errors.status + summary.errors.connect + summary.errors.read
        + summary.errors.write + summary.errors.timeout
    io.write(string.format(
        "RESULT %-22s %9.1f req/s  p50 %7.2f  p90 %7.2f  p99 %7.2f  p99.9 %7.2f  max %7.2f ms  errors %d\n",
        os.getenv("WIRE_LABEL"), summary.requests / seconds, ms(latency:percentile(50)),
        ms(latency:percentile(90)), ms(latency:percentile(99)), ms(latency:percentile(99.9)),
        ms(latency.max), bad))
end
LUA

run() {
    local label=$1 op=$2 query=${3:-}
    WIRE_OP=$op WIRE_LABEL=$label WIRE_QUERY=$query WIRE_IDS="$work/contact-ids" \
        WIRE_NONCE="$(date +%s%N)" \
        wrk -t "$threads" -c "$connections" -d "${seconds}s" -s "$work/wire.lua" "$base" \
        >"$work/wrk-$op.out" 2>&1 || { cat "$work/wrk-$op.out" >&2; return 1; }
    grep '^RESULT' "$work/wrk-$op.out" | sed 's/^RESULT /  /'
}

cores=$(nproc)
echo
echo "== wire benchmark: holdfast serve on $database, $cores cores, wrk -t$threads -c$connections, ${seconds}s each =="
echo "   ($seeded contacts, $tickets tickets seeded through the API; latency in ms)"
run "contact get" get
run "contact list 10" list
run "contact create" create
run "ticket list 50" tickets
run "search rare word" search chimney
run "search common word" search boiler
rss=$(grep VmRSS "/proc/$server/status" | awk '{print $2}')
echo "  server resident memory after the runs: $((rss / 1024)) MiB"
