-- kca-renew/leaves (on the deploy node, once every host trusts both CAs):
-- the new CA signs from now on: ca-key.pem is the new key, ca.pem the new
-- CA first (what signs) and the old one after it (still trusted). Every
-- certificate the next plays meet is "not signed by the current CA" and
-- reissued. (kca-renew/main.lua tells the whole story.)
local ssl = ezk.cluster_dir .. "/ssl"
local STATE = ssl .. "/kca-renew.state"
local state = ezk.read_local(STATE) or ""
if not state:match("^trust") then return end
local bak = state:match("^trust (%S+)") or ""
copy { title = "ca-key.pem: the new CA's key", dest = ssl .. "/ca-key.pem", mode = "0600",
       content = assert(ezk.read_local(ssl .. "/ca-new-key.pem")) }
copy { title = "ca.pem: the new CA, then the old one", dest = ssl .. "/ca.pem", mode = "0644",
       content = assert(ezk.read_local(ssl .. "/ca-new.pem")) .. assert(ezk.read_local(ssl .. "/ca-old.pem")) }
copy { dest = STATE, content = "leaves " .. bak .. "\n", mode = "0600" }
