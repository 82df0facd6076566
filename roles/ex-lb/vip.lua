-- ex-lb/vip (step 10, on the deploy node, after the ex_lb hosts): the API
-- answers through the VIP with the admin certificate, its serving
-- certificate verified against the cluster's CA (so `kubernetes` names the
-- VIP: step 04 puts every ex_lb host's EX_APISERVER_VIP in it), and
-- clusters/<c>/kubectl-vip.kubeconfig is the admin kubeconfig whose server
-- is https://VIP:EX_APISERVER_PORT (kubectl.kubeconfig keeps the first
-- master, as kubeasz's).

local vars, q = ezk.vars, ezk.q
local lbs = vars.groups.ex_lb or {}
if #lbs == 0 then return end
local vip = ezk.hostvar(lbs[1], "EX_APISERVER_VIP")
local port = ezk.hostvar(lbs[1], "EX_APISERVER_PORT")
if port == "" then port = "8443" end
local host = vip:find(":", 1, true) and ("[" .. vip .. "]") or vip
local server = "https://" .. host .. ":" .. port
local ssl = ezk.cluster_dir .. "/ssl"

kubeconfig { dest = ezk.cluster_dir .. "/kubectl-vip.kubeconfig", cert = "admin", cluster = vars.CLUSTER_NAME,
             user = "admin", context = vars.CONTEXT_NAME, server = server }

-- (curl's exit 60: the certificate does not verify, its names lack the VIP)
local r = command { title = "the API through the VIP " .. server, changed_when = false, check_mode = false,
  failed_when = false, retries = ezk.check and 0 or (tonumber(vars.EX_LB_VIP_TIMEOUT) or 60), delay = 1,
  ["until"] = function(x) return x.rc == 0 or x.rc == 60 end,
  cmd = "code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 --cacert " .. q(ssl .. "/ca.pem") ..
    " --cert " .. q(ssl .. "/admin.pem") .. " --key " .. q(ssl .. "/admin-key.pem") .. " " ..
    q(server .. "/readyz") .. ") || exit $?\n[ \"$code\" = 200 ] || { echo \"HTTP $code\" >&2; exit 1; }" }
if r.rc == 60 then
  ezk.fail("the API server's certificate does not name the VIP " .. vip ..
           ": rerun step 04 ('ezk setup <cluster> 04'), which reissues it with every EX_APISERVER_VIP")
elseif r.rc ~= 0 and not ezk.check then
  ezk.fail("the API does not answer through the VIP " .. server .. ": " .. ezk.trim(r.stderr))
end
