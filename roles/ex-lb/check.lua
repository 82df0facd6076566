-- ex-lb/check.lua: the [ex_lb] hosts, for `ezk check` and before step 10
-- touches a host (core/check.h). Each needs LB_ROLE (master or backup) and
-- the same EX_APISERVER_VIP and EX_APISERVER_PORT as the others; the VIP is
-- no host's address, the port none the masters or kube-lb already hold on
-- that host.

local lbs = ezk.groups.ex_lb or {}
if #lbs == 0 then return end

local function member(g, h)
  for _, x in ipairs(ezk.groups[g] or {}) do if x == h then return true end end
  return false
end

-- a host's variable and where it is set (the host's line when it is not)
local function var(h, name)
  local v, at, err = ezk.var(h, name)
  if err then return nil, ezk.host_at(h), err end
  return v, at or ezk.host_at(h)
end

local addresses = {}
for _, h in ipairs(ezk.hosts) do
  local a = ezk.var(h, "ansible_host")
  addresses[type(a) == "string" and a ~= "" and a or h] = h
  addresses[h] = h
end

local first_vip, first_port, masters = nil, nil, {}
for _, h in ipairs(lbs) do
  local role, role_at, err = var(h, "LB_ROLE")
  if not err then
    local r = type(role) == "string" and role:lower() or nil
    if r ~= "master" and r ~= "backup" then
      ezk.error(role_at, "ex_lb host " .. h .. ": LB_ROLE is " .. (role == nil and "not set" or "'" .. tostring(role) .. "'") ..
        ": master (the host that holds the VIP while its balancer works) or backup")
    elseif r == "master" then
      masters[#masters + 1] = h
    end
  end

  local vip, vip_at
  vip, vip_at, err = var(h, "EX_APISERVER_VIP")
  if not err then
    local n = vip ~= nil and ezk.net(tostring(vip))
    if vip == nil or vip == "" then
      ezk.error(vip_at, "ex_lb host " .. h .. ": EX_APISERVER_VIP is not set: the address the ex_lb hosts share")
    elseif not n or tostring(vip):find("/", 1, true) then
      ezk.error(vip_at, "ex_lb host " .. h .. ": EX_APISERVER_VIP '" .. tostring(vip) .. "' is not an address")
    elseif addresses[tostring(vip)] then
      ezk.error(vip_at, "EX_APISERVER_VIP " .. tostring(vip) .. " is the address of host " ..
        addresses[tostring(vip)] .. ": the VIP must be an address no host has")
    elseif first_vip == nil then
      first_vip = tostring(vip)
    elseif tostring(vip) ~= first_vip then
      ezk.error(vip_at, "ex_lb host " .. h .. ": EX_APISERVER_VIP " .. tostring(vip) .. " is not " .. first_vip ..
        " as for " .. lbs[1] .. ": the ex_lb hosts share one VIP")
    end
  end

  local port, port_at
  port, port_at, err = var(h, "EX_APISERVER_PORT")
  if not err and port ~= nil then
    local p = tonumber(port)
    if not p or p ~= math.floor(p) or p < 1 or p > 65535 then
      ezk.error(port_at, "ex_lb host " .. h .. ": EX_APISERVER_PORT '" .. tostring(port) .. "' is not a port (1-65535)")
    else
      if first_port == nil then first_port = p
      elseif p ~= first_port then
        ezk.error(port_at, "ex_lb host " .. h .. ": EX_APISERVER_PORT " .. p .. " is not " .. first_port ..
          " as for " .. lbs[1] .. ": clients reach the VIP on one port")
      end
      local sp = tonumber((var(h, "SECURE_PORT")))
      if sp == p and (member("kube_master", h) or member("kube_node", h)) then
        ezk.error(port_at, "ex_lb host " .. h .. ": EX_APISERVER_PORT " .. p .. " is SECURE_PORT, which the API " ..
          "server or kube-lb holds on this host: use another port (kubeasz: 8443)")
      end
    end
  end
end
if #masters > 1 then
  ezk.warning(ezk.host_at(masters[2]), "[ex_lb] has " .. #masters .. " hosts with LB_ROLE=master: one holds the " ..
    "VIP, the others wait as backups would; make one master and the others backup")
end

-- what goes into l4lb.cfg (haproxy) and keepalived.conf as words of their
-- own (roles/lib/checks/written.lua)
local written = dofile(ezk.lib_dir .. "/checks/written.lua")
written(lbs, "l4lb.cfg and keepalived.conf", {
  { "EX_APISERVER_VIP", "word" },
  { "EX_APISERVER_PORT", "word" },
  { "SECURE_PORT", "word" },
  { "INGRESS_NODEPORT_LB_PORT", "word" },
  { "INGRESS_TLS_NODEPORT_LB_PORT", "word" },
  { "ROUTER_ID", "word" },
  { "EX_LB_ADVERT_INT", "word" },
})
written.names(lbs, "l4lb.cfg and keepalived.conf", "word")
written.names(ezk.groups.kube_master or {}, "l4lb.cfg", "word")
