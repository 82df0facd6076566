-- kca-renew (ezk kca-renew, on the deploy node, first): a new CA, and the
-- first of the renewal's three phases, "trust both".
--
-- Replacing a CA at once would cut every component off from the others
-- until all of them restarted (etcd members, API servers and kubelets
-- reject what the other CA signed): the API would be down. ezk renews in
-- three phases, each distributed to every host and restarted one member,
-- one master at a time (etcd/start, kube-master/start), so the API answers
-- throughout:
--   trust    ca.pem = the old CA and the new one: every component comes to
--            trust both, still presenting its old certificate;
--   leaves   (kca-renew/leaves) the new CA signs: every certificate and
--            kubeconfig is reissued (serials all new), ca.pem the new CA
--            first, then the old;
--   new      (kca-renew/finish) ca.pem the new CA alone: the old one is
--            trusted no more.
-- Each phase ends with step 06's plays: calico's etcd certificate and its
-- Secret follow the CA (calico-node and calico-kube-controllers restarted
-- when the Secret changed, before the next phase restarts etcd). The first
-- ends with kube-system's API clients restarted to trust both CAs
-- (kca-renew/clients: they read their ServiceAccount's ca.crt once).
-- ssl/kca-renew.state says the phase, so a run that stopped goes on where
-- it was (kca-renew/done removes it at the end). Before anything, ssl/ is
-- kept as ssl.bak-<time>.
--
-- Files: ssl/ca-old.pem (the CA being replaced), ssl/ca-new.pem and
-- ca-new-key.pem (its successor) while the renewal runs;
-- ssl/ca-previous.pem afterwards: the CAs replaced so far, whose keys
-- signed the ServiceAccount tokens pods hold (kube-apiserver keeps
-- accepting those: --service-account-key-file; the kube-master role).
local vars, q = ezk.vars, ezk.q
local ssl = ezk.cluster_dir .. "/ssl"
local STATE = ssl .. "/kca-renew.state"

local state = ezk.read_local(STATE)
if state and not state:match("^trust") then
  ezk.report("kca-renew: the renewal goes on", "ok", "phase " .. ezk.trim(state))
  return
end
if not ezk.stat_local(ssl .. "/ca.pem") or not ezk.stat_local(ssl .. "/ca-key.pem") then
  ezk.fail("no CA in " .. ssl .. ": nothing to renew")
end

if not state then
  local bak = ezk.cluster_dir .. "/ssl.bak-" .. os.date("%Y%m%d-%H%M%S")
  command { title = "keep ssl/ as " .. bak, cmd = "cp -a " .. q(ssl) .. " " .. q(bak) }
  -- (written once: a rerun keeps the first backup, and the old CA)
  copy { dest = ssl .. "/ca-old.pem", content = assert(ezk.read_local(ssl .. "/ca.pem")), mode = "0644" }
  copy { dest = STATE, content = "trust " .. bak .. "\n", mode = "0600" }
end
cert { name = "ca-new", profile = "ca", cn = "kubernetes-ca", o = "k8s", expiry = vars.CA_EXPIRY,
       algo = vars.CERT_KEY_ALGO or "rsa" }
-- both trusted; the old one (first) still signs
copy { title = "ca.pem: the old CA and the new one", dest = ssl .. "/ca.pem", mode = "0644",
       content = assert(ezk.read_local(ssl .. "/ca-old.pem")) .. assert(ezk.read_local(ssl .. "/ca-new.pem")) }
