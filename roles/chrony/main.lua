-- chrony (step 01; masters, nodes, etcd, ex_lb and chrony hosts): one time
-- for the whole cluster. The first [chrony] host takes its time from
-- ntp_servers and ntp_pools (and serves its own clock at stratum 10 when
-- none answers); every other host takes it from that one. Nothing at all
-- when [chrony] is empty.
--
-- As kubeasz's role, with the distribution's own chrony (package, unit and
-- config path) instead of a copied binary and unit; kubeasz's unit also adds
-- iptables NOTRACK rules for UDP 123, which this role leaves out.
-- Variables (defaults.yml): ntp_servers, ntp_pools, local_network,
-- chrony_bindaddress.

local vars = ezk.vars
local servers = (vars.groups or {}).chrony or {}
if #servers == 0 then return end

local me = vars.inventory_hostname
local role = me == servers[1] and "server" or "client"

-- the distribution's names
local debian = ezk.facts().pkg == "apt-get"
local conf = debian and "/etc/chrony/chrony.conf" or "/etc/chrony.conf"
local unit = debian and "chrony" or "chronyd"

-- "allow" networks: a string (kubeasz) or a list
local allow = vars.local_network or "0.0.0.0/0"
if type(allow) ~= "table" then allow = { tostring(allow) } end

-- bindaddress only takes an address: a host name means every address
local bind = ezk.trim(vars.chrony_bindaddress or "")
local function is_ip(s)
  if s:match("^%d+%.%d+%.%d+%.%d+$") then return true end
  return s:find(":", 1, true) ~= nil and s:match("^[%x:%.]+$") ~= nil
end
if bind ~= "" and not is_ip(bind) then
  ezk.debug("chrony: chrony_bindaddress " .. bind .. " is not an address: serving on every address")
  bind = ""
end

package { name = "chrony" }
template { src = "chrony.conf.j2", dest = conf, mode = "0644", notify = "restart chrony",
           vars = { chrony_role = role, chrony_server = servers[1], chrony_allow = allow, chrony_bind = bind } }
local st = service { name = unit, state = "started", enabled = true }
-- a chronyd this run started already reads the new config
local fresh = st.changed and (" " .. (st.msg or "")):match("[ ,]start") ~= nil
ezk.handler("restart chrony", function()
  service { name = unit, state = "restarted", when = not fresh }
end)
