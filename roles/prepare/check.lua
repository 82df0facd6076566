-- prepare/check.lua: node names, for `ezk check` and before step 01 touches
-- a host (core/check.h). Step 01 sets the hostname of every host of
-- [etcd], [kube_master] and [kube_node] to its K8S_NODENAME, so every one of
-- them must be valid: kubeasz's rule (a DNS-1123 subdomain: lower-case
-- letters, digits, '-' and '.', each label starting and ending with a letter
-- or digit). Kubernetes nodes ([kube_master], [kube_node]) must not share
-- one.
local groups = ezk.groups

local function nodename_ok(s)
  if #s == 0 or #s > 253 then return false end
  for label in (s .. "."):gmatch("([^.]*)%.") do
    if not label:match("^[a-z0-9]$") and not label:match("^[a-z0-9][a-z0-9%-]*[a-z0-9]$") then return false end
  end
  return true
end

local seen, owner = {}, {}
for _, g in ipairs({ "kube_master", "kube_node", "etcd" }) do
  for _, h in ipairs(groups[g] or {}) do
    -- point at the host's k8s_nodename when the inventory sets it
    local at = ezk.host_at(h)
    local kn, kn_at = ezk.var(h, "k8s_nodename")
    if kn and kn ~= "" and kn_at and kn_at.file == ezk.hosts_file and kn_at.line > 0 then at = kn_at end
    -- (a value that cannot be evaluated is `ezk check`'s error already)
    local name, _, err = ezk.var(h, "K8S_NODENAME")
    if err then name = nil elseif name == nil then name = h end
    if type(name) == "string" and not seen[h] then
      seen[h] = true
      if not nodename_ok(name) then
        ezk.error(at, "node name '" .. name .. "' of host " .. h .. " is invalid: use lower-case letters, " ..
          "digits, '-' and '.', starting and ending with a letter or digit")
      elseif g ~= "etcd" and owner[name] and owner[name] ~= h then
        ezk.error(at, "node name '" .. name .. "' of host " .. h .. " is also the name of host " .. owner[name])
      elseif g ~= "etcd" then
        owner[name] = owner[name] or h
      end
    end
  end
end
