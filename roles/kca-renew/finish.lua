-- kca-renew/finish (on the deploy node, once every certificate is the new
-- CA's): ca.pem is the new CA alone, and the old CA joins
-- ssl/ca-previous.pem, which only verifies the ServiceAccount tokens it
-- signed (kube-apiserver's second --service-account-key-file). (kca-renew/
-- main.lua tells the whole story.)
local ssl = ezk.cluster_dir .. "/ssl"
local STATE = ssl .. "/kca-renew.state"
local state = ezk.read_local(STATE) or ""
if not state:match("^leaves") then return end
local bak = state:match("^leaves (%S+)") or ""
local old = assert(ezk.read_local(ssl .. "/ca-old.pem"))
local prev = ezk.read_local(ssl .. "/ca-previous.pem") or ""
if not prev:find(old, 1, true) then prev = prev .. old end
copy { title = "ca-previous.pem: the old CA, for the tokens it signed", dest = ssl .. "/ca-previous.pem",
       mode = "0644", content = prev }
copy { title = "ca.pem: the new CA alone", dest = ssl .. "/ca.pem", mode = "0644",
       content = assert(ezk.read_local(ssl .. "/ca-new.pem")) }
copy { dest = STATE, content = "new " .. bak .. "\n", mode = "0600" }
