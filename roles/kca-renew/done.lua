-- kca-renew/done (on the deploy node, last): every host runs with the new
-- CA alone; the renewal's working files go (ssl.bak-<time> and
-- ca-previous.pem stay).
local ssl = ezk.cluster_dir .. "/ssl"
local STATE = ssl .. "/kca-renew.state"
local state = ezk.read_local(STATE) or ""
if not state:match("^new") then return end
local bak = state:match("^new (%S+)") or ""
for _, f in ipairs({ "ca-old.pem", "ca-new.pem", "ca-new-key.pem", "kca-renew.state" }) do
  file { path = ssl .. "/" .. f, state = "absent" }
end
ezk.report("kca-renew: done", "ok", "the old ssl/ is kept as " .. bak)
