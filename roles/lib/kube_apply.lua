-- kube_apply: a manifest applied to the cluster with kubectl, in a play on
-- localhost (the deploy node, where the admin kubeconfig is), only when it
-- differs from the one last applied or when one of its objects is missing.
--
--   kube_apply { content = text, name = "coredns",
--                kubectl = ezk.home .. "/bin/kubectl",
--                kubeconfig = ezk.cluster_dir .. "/kubectl.kubeconfig",
--                record = ezk.cluster_dir .. "/yml/.applied/coredns.yaml" }
--
-- content: the manifest (or src: a file of the deploy node holding it).
-- record: where the manifest last applied is kept, written once kubectl
--   apply succeeded. With the same manifest a rerun asks the API, read only
--   (kubectl get), whether every object is there, and applies nothing when
--   they are: objects edited in the cluster by hand stay as they are until
--   the manifest changes (kubeasz leaves a running add-on alone).
-- record_mode: the record's mode ("0644"; "0600" for a Secret holding a key)
-- kubectl apply reads the manifest on its stdin; the task's msg says why it
-- applied ("not applied before", "manifest changed", "objects missing")
-- and what kubectl changed. Under --check nothing is applied or recorded:
-- "would apply" and why; --diff shows the manifest against the one last
-- applied. A kubectl that fails fails the task with its message.

local q, trim = ezk.q, ezk.trim

-- kubectl's lines but the "unchanged" ones, joined
local function changes(out)
  local t = {}
  for _, l in ipairs(ezk.lines(out)) do
    if l ~= "" and not l:match(" unchanged$") then t[#t + 1] = trim(l) end
  end
  return #t > 0 and table.concat(t, ", ") or "nothing changed"
end

-- kubectl's error lines (the first, or all) but its log lines
-- (discovery complains there while an aggregated API has no backend)
local function errors(s, all)
  local t = {}
  for _, l in ipairs(ezk.lines(s)) do
    if trim(l) ~= "" and not l:match("^[IWEF]%d%d%d%d ") then
      t[#t + 1] = trim(l)
      if not all then break end
    end
  end
  return #t > 0 and table.concat(t, "; ") or trim(s)
end

ezk.module("kube_apply", function(a, ctx)
  for _, k in ipairs({ "kubectl", "kubeconfig", "record" }) do
    if not a[k] then return { failed = true, msg = k .. " is required" } end
  end
  local text = a.content
  if text == nil and a.src then
    local err
    text, err = ezk.read_local(a.src)
    if not text then return { failed = true, msg = err } end
  end
  if text == nil then return { failed = true, msg = "content or src is required" } end
  text = tostring(text)
  local kubectl = q(a.kubectl) .. " --kubeconfig=" .. q(a.kubeconfig) .. " --request-timeout=" ..
    tostring(a.request_timeout or 30) .. "s"

  local applied = ezk.stat_local(a.record) and ezk.read_local(a.record) or nil
  local why
  if applied == nil then
    why = "not applied before"
  elseif applied ~= text then
    why = "manifest changed"
  else
    local g = ezk.exec(kubectl .. " get -f - -o name", { stdin = text, timeout = 120 })
    if g.rc == 0 then return { changed = false, msg = "applied, every object there" } end
    why = "objects missing: " .. errors(g.stderr ~= "" and g.stderr or g.stdout)
  end
  local diff = { before = applied or "", after = text }
  if ctx.check then return { changed = true, msg = "would apply (" .. why .. ")", diff = diff } end

  local r = ezk.exec(kubectl .. " apply -f -", { stdin = text, timeout = a.timeout or 300 })
  if r.rc ~= 0 then
    return { failed = true, msg = why .. "; kubectl apply: exit " .. r.rc .. ": " ..
      errors(r.stderr ~= "" and r.stderr or r.stdout, true) }
  end
  ezk.upload({ dest = a.record, content = text, mode = a.record_mode or "0644", mkdir = true })
  return { changed = true, msg = why .. ": " .. changes(r.stdout), diff = diff }
end, { title = function(a) return "kubectl apply " .. (a.name or a.src or "manifest") end })
