-- etcd/cert (step 02, on the deploy node): one certificate for every
-- member, its SANs every [etcd] address and 127.0.0.1. Reissued only when
-- the members (or the CA, or its lifetime) say so; then every member gets
-- the new one and restarts, one at a time (etcd/start.lua).

local vars = ezk.vars
-- (an empty or even [etcd] is etcd/check.lua's to say, before the step runs)
local members = vars.groups.etcd or {}
local ca = ezk.cluster_dir .. "/ssl/ca.pem"
if not ezk.stat_local(ca) and not ezk.check then -- (under --check, step 01 of the same run would make it)
  ezk.fail("no CA (" .. ca .. "): run step 01 first ('ezk setup <cluster> 01')")
end

local hosts = { "127.0.0.1" }
for _, m in ipairs(members) do hosts[#hosts + 1] = m end
cert { name = "etcd", profile = "peer", cn = "etcd", o = "k8s", hosts = hosts,
       expiry = vars.CERT_EXPIRY, algo = vars.CERT_KEY_ALGO or "rsa" }
