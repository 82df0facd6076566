-- checks/written.lua: for a role's check.lua (core/check.h), the values a
-- role writes into its units and configuration files: each must be one that
-- the format it goes into can hold, quoted as the role's templates quote it
-- (ezk.quote and the template filters systemd_arg, systemd_env,
-- systemd_value, toml_str, yaml_str and conf_word: core/quote.h). A value no
-- quoting can carry (a newline in a path, a blank in an nginx word) is an
-- error at the file:line that sets it, so `ezk check` and `ezk setup` stop
-- before any host is touched.
--
--   local written = dofile(ezk.lib_dir .. "/checks/written.lua")
--   written(hosts, "the etcd unit", {
--     { "ETCD_DATA_DIR", "systemd_value", "systemd_arg", path = true },
--     { "ETCD_WAL_DIR", "systemd_arg", path = true, empty = true },
--   })
--   written.names(hosts, "kube-lb.conf", "word")   -- the hosts' own names
--   written("deploy", "the add-ons' manifests", { ... })  -- step 07's variables
--
-- A setting: its name, the formats it is written in, path (an absolute
-- path), empty ("" allowed: the setting is then left out). Every value must
-- be one line (no control characters), whatever the format. A list value
-- (ntp_servers) is checked element by element; booleans are left alone.
-- A value set the same way for many hosts is said once.

local FORMAT = {
  systemd_arg = "a systemd command line", systemd_env = "a systemd Environment=",
  systemd_value = "a systemd setting", toml = "TOML", yaml = "YAML", word = "a configuration word",
}

local said = {}
local function refuse(at, name, v, target, why)
  local key = name .. "\0" .. v .. "\0" .. target
  if said[key] then return end
  said[key] = true
  ezk.error(at, name .. " '" .. v .. "' cannot be written into " .. target .. ": it " .. why)
end

local function one(at, name, v, target, rule)
  if rule.empty and v == "" then return end
  for i = 1, #v do
    local b = v:byte(i)
    if b < 32 or b == 127 then
      return refuse(at, name, v, target, b == 10 and "holds a newline" or "holds a control character")
    end
  end
  if rule.path and v:sub(1, 1) ~= "/" then return refuse(at, name, v, target, "is not an absolute path") end
  for _, f in ipairs(rule) do
    local ok, why = ezk.quote(f, v)
    if not ok then return refuse(at, name, v, target, why .. " (" .. FORMAT[f] .. ")") end
  end
end

local function check(hosts, target, settings)
  -- "deploy": the deploy node's variables (step 07's, ezk.var(nil, ...))
  if hosts == "deploy" then hosts = { false } end
  for _, h in ipairs(hosts) do
    for _, s in ipairs(settings) do
      local name = s[1]
      local v, at, err = ezk.var(h or nil, name)
      if not err and v ~= nil then
        at = at or (h and ezk.host_at(h)) or { file = ezk.config_file or ezk.hosts_file, line = 0 }
        local rule = table.move(s, 2, #s, 1, { path = s.path, empty = s.empty })
        local list = type(v) == "table" and v or { v }
        for _, x in ipairs(list) do
          if type(x) == "string" or type(x) == "number" then one(at, name, tostring(x), target, rule) end
        end
      end
    end
  end
end

return setmetatable({
  -- hosts whose inventory names go into a file as they are (addresses,
  -- server lines)
  names = function(hosts, target, ...)
    local rule = { ... }
    for _, h in ipairs(hosts) do one(ezk.host_at(h), "host", h, target, rule) end
  end,
}, { __call = function(_, ...) return check(...) end })
