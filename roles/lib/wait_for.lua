-- wait_for: wait on the host until a port, URL, command or file is ready
-- (or gone). Never changes anything: ok, or failed after the timeout.
--
--   wait_for { port = 2379, host = vars.inventory_hostname }
--   wait_for { url = "https://127.0.0.1:6443/healthz", ca = "/etc/kubernetes/ssl/ca.pem" }
--   wait_for { cmd = "etcdctl endpoint health", timeout = 120 }
--
-- Options (one of port, url, cmd, path):
--   port     number: a TCP connect to host:port (bash's /dev/tcp, else nc,
--            else python3)
--   host     default "127.0.0.1" (the host's own loopback)
--   url      http(s) URL: a request that succeeds (HTTP status < 400), with
--            curl if present, else wget; ca (a CA file on the host), cert and
--            key (a client certificate, e.g. for etcd) for https
--   cmd      sh command: exits 0
--   path     a file that exists
--   state    "started" (default): until the check succeeds; "stopped":
--            until it fails (port closed, URL down, cmd failing, path gone)
--   timeout  seconds, default 60: then the task fails, saying what it waited
--            for and the last error seen
--   delay    seconds to wait before the first check (default 0)
--   sleep    seconds between checks (default 0.5)
--
-- The whole wait is one sh loop on the host: one round trip. Under --check
-- it checks once: ok when already so, else skipped with a note (the change
-- it waits for would not have been made).

local trim = ezk.trim

local PROBES = [=[
probe_port() {
  if command -v bash >/dev/null 2>&1; then
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$EZK_HOST" "$EZK_PORT" 2>&1
  elif command -v nc >/dev/null 2>&1; then
    nc -z -w 3 "$EZK_HOST" "$EZK_PORT" 2>&1
  else
    python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)' "$EZK_HOST" "$EZK_PORT" 2>&1
  fi
}
probe_url() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 5 ${EZK_CA:+--cacert "$EZK_CA"} ${EZK_CERT:+--cert "$EZK_CERT"} \
      ${EZK_KEY:+--key "$EZK_KEY"} -- "$EZK_URL" 2>&1
  else
    wget -q -O /dev/null -T 5 ${EZK_CA:+--ca-certificate="$EZK_CA"} ${EZK_CERT:+--certificate="$EZK_CERT"} \
      ${EZK_KEY:+--private-key="$EZK_KEY"} -- "$EZK_URL" 2>&1
  fi
}
# (run in probe's command substitution: a subshell already, so the command
# is eval'ed there, without a shell of its own)
probe_cmd() { eval "$EZK_CMD" 2>&1 >/dev/null; }
probe_path() { [ -e "$EZK_PATH" ] || { echo "$EZK_PATH does not exist"; return 1; }; }
probe() {
  last=$(probe_$EZK_KIND); up=$?
  if [ "$EZK_STATE" = started ]; then [ $up -eq 0 ]; else last="still up"; [ $up -ne 0 ]; fi
}
[ "$EZK_DELAY" != 0 ] && sleep "$EZK_DELAY"
# ready at once (a rerun's case): no clock read
if probe; then echo "ok 0"; exit 0; fi
[ "$EZK_ONCE" = 1 ] && { printf 'not %s\n' "$(printf %s "$last" | tr '\n' ' ')"; exit 0; }
start=$(date +%s)
end=$((start + EZK_TIMEOUT))
while :; do
  if probe; then echo "ok $(( $(date +%s) - start ))"; exit 0; fi
  [ "$(date +%s)" -ge "$end" ] && { printf 'timeout %s\n' "$(printf %s "$last" | tr '\n' ' ')"; exit 0; }
  sleep "$EZK_SLEEP"
done
]=]

ezk.module("wait_for", function(a, ctx)
  local kinds = {}
  for _, k in ipairs({ "port", "url", "cmd", "path" }) do if a[k] ~= nil then kinds[#kinds + 1] = k end end
  if #kinds ~= 1 then return { failed = true, msg = "give one of port, url, cmd or path" } end
  local kind = kinds[1]
  local state = a.state or "started"
  if state ~= "started" and state ~= "stopped" then
    return { failed = true, msg = "state must be started or stopped, not " .. tostring(state) }
  end
  local timeout = tonumber(a.timeout or 60)
  local delay = tonumber(a.delay or 0)
  local sleep = tonumber(a.sleep or 0.5)
  if not timeout or timeout < 0 or not delay or delay < 0 or not sleep or sleep <= 0 then
    return { failed = true, msg = "timeout, delay and sleep are numbers of seconds" }
  end
  local host = a.host or "127.0.0.1"
  if kind == "port" and not tonumber(a.port) then return { failed = true, msg = "port must be a number" } end
  local what = ({ port = host .. ":" .. tostring(a.port), url = tostring(a.url),
    cmd = "`" .. tostring(a.cmd) .. "`", path = tostring(a.path) })[kind]
  local once = ctx.check
  local r = ezk.exec(PROBES, {
    timeout = once and 30 or (timeout + delay + 30),
    env = { EZK_KIND = kind, EZK_STATE = state, EZK_HOST = host, EZK_PORT = a.port and tostring(a.port) or "",
      EZK_URL = a.url or "", EZK_CA = a.ca or "", EZK_CERT = a.cert or "", EZK_KEY = a.key or "",
      EZK_CMD = a.cmd or "", EZK_PATH = a.path or "", EZK_TIMEOUT = tostring(math.ceil(timeout)),
      EZK_DELAY = once and "0" or tostring(delay), EZK_SLEEP = tostring(sleep), EZK_ONCE = once and "1" or "0" } })
  local out = trim(r.stdout)
  if r.timed_out then return { failed = true, msg = "waiting for " .. what .. " did not end" } end
  if r.rc ~= 0 then return { failed = true, msg = "wait_for: " .. trim(r.stderr) } end
  local secs = out:match("^ok (%d+)")
  if secs then
    return { changed = false, msg = tonumber(secs) > 0 and (what .. " " .. state .. " after " .. secs .. " s") or nil }
  end
  local last = out:match("^timeout ?(.*)$") or out:match("^not ?(.*)$") or out
  last = trim(last)
  if once then
    return { skipped = true, msg = "check mode: " .. what .. " is not " .. state ..
      " now; the run would wait up to " .. timeout .. " s" .. (last ~= "" and (" (" .. last .. ")") or "") }
  end
  return { failed = true, msg = "timed out after " .. timeout .. " s waiting for " .. what .. " to be " .. state ..
    (last ~= "" and (": " .. last) or "") }
end)
