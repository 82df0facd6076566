-- version.lua: versions of what ezk installs, for the roles' version tables.
--
--   ezk.version_cmp("v1.20.2", "1.24")   -> -1   (0 equal, 1 greater)
--   ezk.version_ge(vars.K8S_VER, "1.27")  -> false
--   ezk.bin_version(ezk.home .. "/bin/containerd-bin/containerd") -> "1.6.20" or nil
--
-- Versions compare by their numeric parts ("v1.20.2" = "1.20.2"; a missing
-- part is 0, so "1.24" = "1.24.0"); anything after the numbers ("-rc.1",
-- "~ds1", "+really") is ignored.

local function parts(v)
  local t = {}
  for n in tostring(v or ""):gsub("^[vV]", ""):match("^[%d%.]*"):gmatch("%d+") do
    t[#t + 1] = tonumber(n)
  end
  return t
end

function ezk.version_cmp(a, b)
  local x, y = parts(a), parts(b)
  for i = 1, math.max(#x, #y) do
    local p, q = x[i] or 0, y[i] or 0
    if p ~= q then return p < q and -1 or 1 end
  end
  return 0
end

function ezk.version_ge(a, b) return ezk.version_cmp(a, b) >= 0 end

-- The version a binary on the deploy node says it is (the first x.y.z in
-- what `<path> --version` prints), or nil when there is no such binary.
-- Asked once per run, whatever the number of hosts.
function ezk.bin_version(path)
  local v = ezk.once("bin_version:" .. path, function()
    if not ezk.stat_local(path) then return "" end
    local r = ezk.exec_local({ path, "--version" }, { timeout = 30 })
    return (r.stdout .. "\n" .. r.stderr):match("(%d+%.%d+%.%d+)") or ""
  end)
  return v ~= "" and v or nil
end

-- K8S_VER (what the roles write flags and config for) must be the version of
-- the Kubernetes binaries they install: a step that would install a kubelet
-- of one version with the flags of another fails here, on the deploy node,
-- before any host changed. Binaries not there yet: nothing to compare.
function ezk.k8s_version_check()
  local want = ezk.vars.K8S_VER
  for _, b in ipairs({ "kube-apiserver", "kubelet" }) do
    local path = ezk.home .. "/bin/" .. b
    local have = ezk.bin_version(path)
    if have and want then
      local x, y = have:match("^(%d+%.%d+)"), tostring(want):match("^v?(%d+%.%d+)")
      if x ~= y then
        ezk.fail("K8S_VER is " .. tostring(want) .. " in config.yml but " .. path .. " is v" .. have ..
                 ": set K8S_VER: \"v" .. have .. "\", or put the v" .. tostring(y) ..
                 " binaries in " .. ezk.home .. "/bin")
      end
    end
  end
end
