-- calico/rr (step 06, CLUSTER_NETWORK "calico" with CALICO_RR_ENABLED, a
-- play on the deploy node after every node's calico-node runs): BGP route
-- reflectors instead of the full mesh between nodes, as kubeasz's
-- calico-rr.yml:
--   * the reflectors are CALICO_RR_NODES' addresses (empty: the masters);
--     each one's calico node gets routeReflectorClusterID 244.0.0.1 and its
--     Kubernetes node the label route-reflector=true
--   * bgp-rr.yaml (every node peers with the reflectors) and then
--     bgp-default.yaml (no mesh; AS CALICO_AS_NUMBER), rendered into
--     clusters/<c>/yml/calico-bgp-{rr,default}.yaml (tags config and apply)
--     and applied with calicoctl (tag apply) when they changed since last
--     applied (yml/.applied/)
-- calicoctl runs here, with $EZK_HOME/bin/calicoctl and the deploy node's
-- calico certificate (kubeasz runs it on the first node: the deploy node
-- must reach etcd, as it reaches the API). Turning CALICO_RR_ENABLED off
-- again undoes nothing (nor does kubeasz): `calicoctl delete bgppeer
-- peer-with-route-reflectors` and a BGPConfiguration with the mesh on.
-- Not yet proven on a running cluster (the render is: e2e/network-render).

local vars, q = ezk.vars, ezk.q
if vars.CLUSTER_NETWORK ~= "calico" then return end
if not ezk.bool(vars.CALICO_RR_ENABLED) then return end

local yml = ezk.cluster_dir .. "/yml"
local ssl = ezk.cluster_dir .. "/ssl"
local docs = {}
for _, n in ipairs({ "bgp-rr", "bgp-default" }) do
  docs[#docs + 1] = { name = "calico-" .. n, text = ezk.manifest_render("calico-" .. n, {}, n .. ".yaml.j2") }
end
if not ezk.tagged({ "apply" }) then return end

local calicoctl = ezk.home .. "/bin/calicoctl"
if not ezk.stat_local(calicoctl) then
  ezk.fail(calicoctl .. " is missing: route reflectors are set with calicoctl (ezk download fetches it " ..
           "for a calico cluster)")
end
local endpoints = {}
for _, m in ipairs(vars.groups.etcd or {}) do endpoints[#endpoints + 1] = "https://" .. m .. ":2379" end
local ctl = "DATASTORE_TYPE=etcdv3 ETCD_ENDPOINTS=" .. q(table.concat(endpoints, ",")) ..
  " ETCD_CA_CERT_FILE=" .. q(ssl .. "/ca.pem") .. " ETCD_CERT_FILE=" .. q(ssl .. "/calico.pem") ..
  " ETCD_KEY_FILE=" .. q(ssl .. "/calico-key.pem") .. " " .. q(calicoctl)
if ezk.check then
  ezk.report("calico route reflectors", "changed", "would set them with calicoctl")
  return
end

local rr = ezk.list(vars.CALICO_RR_NODES)
if #rr == 0 then rr = vars.groups.kube_master or {} end
-- calico's node names by address (`calicoctl get node -o wide`: NAME ASN IPV4 ...)
local r = ezk.exec(ctl .. " get node -o wide", { timeout = 60 })
if r.rc ~= 0 then ezk.fail("calicoctl get node: " .. ezk.trim(r.stderr ~= "" and r.stderr or r.stdout)) end
for _, ip in ipairs(rr) do
  local name
  for _, l in ipairs(ezk.lines(r.stdout)) do
    if l:find(" " .. tostring(ip) .. "/", 1, true) then name = l:match("^(%S+)") break end
  end
  if not name then ezk.fail("route reflector " .. tostring(ip) .. ": no calico node has that address (calicoctl get node -o wide)") end
  command { title = "route reflector " .. name, timeout = 60,
            unless = ctl .. " get node " .. q(name) .. " -o yaml | grep -q 'routeReflectorClusterID: 244.0.0.1'",
            cmd = ctl .. " patch node " .. q(name) ..
              " -p '{\"spec\": {\"bgp\": {\"routeReflectorClusterID\": \"244.0.0.1\"}}}'" }
  local l = ezk.kubectl({ "label", "node", name, "route-reflector=true", "--overwrite" }, { timeout = 60 })
  if l.rc ~= 0 then ezk.fail("kubectl label node " .. name .. ": " .. ezk.trim(l.stderr)) end
end
-- the peering first, then the mesh off (kubeasz waits 5 s between them)
for i, d in ipairs(docs) do
  local record = yml .. "/.applied/" .. d.name .. ".yaml"
  if not (ezk.stat_local(record) and ezk.read_local(record) == d.text) then
    command { title = "calicoctl apply " .. d.name, timeout = 60, stdin = d.text,
              cmd = ctl .. " apply -f -" .. (i == 1 and " && sleep 5" or "") }
    ezk.upload({ dest = record, content = d.text, mode = "0644", mkdir = true })
  end
end
