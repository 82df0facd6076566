-- cluster.lua: what roles ask about the cluster beyond their own host.
--
--   ezk.hostvar("10.0.0.2", "K8S_NODENAME")  -> "master-02" (another host's
--                                                variable, as a string)
--   ezk.list(vars.INSECURE_REG)              -> a list: a table as it is, a
--                                                scalar in a list, nil/"" empty
--   ezk.bool(vars.DIRECT_ROUTING)            -> a switch as Ansible's `| bool`
--                                                reads it (true, "yes", "on",
--                                                "1", "y": true; else false)

function ezk.hostvar(host, name)
  return ezk.template("{{ hostvars[ezk_h][ezk_n] | default('') }}", { ezk_h = host, ezk_n = name },
                      "hostvars['" .. host .. "']." .. name)
end

function ezk.list(v)
  if v == nil or v == "" then return {} end
  if type(v) == "table" then return v end
  return { v }
end

-- (kubeasz's templates test some switches as Jinja truth, where a quoted
-- "false" is true; the roles read them as its tasks' `| bool` does)
function ezk.bool(v)
  if type(v) == "boolean" then return v end
  local s = tostring(v or ""):lower()
  return s == "true" or s == "yes" or s == "on" or s == "1" or s == "y"
end
