-- hosts_block: a block of name entries in /etc/hosts that ezk owns.
--
--   hosts_block { entries = { { "10.0.0.1", "master-1", "master-1.cluster" },
--                             "10.0.0.2 node-1",
--                             { ip = "10.0.0.3", names = { "node-2" } } } }
--
-- Options:
--   entries  list (required unless state=absent): each entry a list
--            {ip, name, ...}, a string "ip name ...", or a table
--            {ip = ..., names = {...} | "name"}. Written one a line,
--            "ip name ...", in the order given.
--   marker   string (default "EZK MANAGED"): the block sits between
--            "# BEGIN <marker>" and "# END <marker>"; a marker holding
--            "{mark}" is used as the whole line with {mark} = BEGIN / END
--            (Ansible's blockinfile style: "### {mark} KUBEASZ BLOCK").
--   state    "present" (default) | "absent" (the block and its markers go)
--   path     string (default "/etc/hosts")
--
-- An existing block is replaced where it is; a new one is appended at the
-- end. Lines outside the block are never touched. The file is written with
-- ezk.upload (atomic, mode and owner kept); when the rename is refused (an
-- /etc/hosts bind-mounted into a container) it is rewritten in place.
-- Round trips: one to read the file, an upload when it differs. Under
-- --diff: the file's unified diff.

local q, trim, lines, text_diff = ezk.q, ezk.trim, ezk.lines, ezk.text_diff

local function entry_line(e)
  local parts
  if type(e) == "string" then
    parts = {}
    for w in e:gmatch("%S+") do parts[#parts + 1] = w end
  elseif type(e) == "table" and e.ip then
    parts = { e.ip }
    local ns = type(e.names) == "table" and e.names or { e.names or e.name }
    for _, n in ipairs(ns) do parts[#parts + 1] = n end
  elseif type(e) == "table" then
    parts = {}
    for _, w in ipairs(e) do parts[#parts + 1] = w end
  else
    return nil, "an entry is a list, a string or {ip, names}: " .. tostring(e)
  end
  if #parts < 2 then return nil, "an entry needs an address and a name: " .. table.concat(parts, " ") end
  for _, w in ipairs(parts) do
    w = tostring(w)
    if w:find("[%s#]") or w == "" then return nil, "bad word in an entry: " .. w end
  end
  for i = 1, #parts do parts[i] = tostring(parts[i]) end
  return table.concat(parts, " ")
end

ezk.module("hosts_block", function(a, ctx)
  local path = a.path or "/etc/hosts"
  local absent = a.state == "absent"
  if a.state ~= nil and a.state ~= "present" and not absent then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(a.state) }
  end
  local marker = a.marker or "EZK MANAGED"
  local b_line, e_line
  if marker:find("{mark}", 1, true) then
    b_line = marker:gsub("{mark}", "BEGIN")
    e_line = marker:gsub("{mark}", "END")
  else
    b_line, e_line = "# BEGIN " .. marker, "# END " .. marker
  end
  local block = { b_line }
  if not absent then
    if type(a.entries) ~= "table" then return { failed = true, msg = "entries is required (a list)" } end
    for _, e in ipairs(a.entries) do
      local l, err = entry_line(e)
      if not l then return { failed = true, msg = err } end
      block[#block + 1] = l
    end
  end
  block[#block + 1] = e_line

  local r = ezk.exec(ezk.no_link_sh(path) .. "; [ -f " .. q(path) .. " ] || exit 3; cat " .. q(path), { read_only = true })
  if r.rc ~= 0 and r.rc ~= 3 then return { failed = true, msg = "cannot read " .. path .. ": " .. trim(r.stderr) } end
  local old = r.rc == 0 and r.stdout or nil
  local ls = lines(old or "")
  local bi, ei
  for i, l in ipairs(ls) do
    if not bi and trim(l) == b_line then bi = i
    elseif bi and trim(l) == e_line then ei = i; break end
  end
  if bi and not ei then
    return { failed = true, msg = path .. ": \"" .. b_line .. "\" without \"" .. e_line .. "\" after it" }
  end
  local out = {}
  if bi then
    for i = 1, bi - 1 do out[#out + 1] = ls[i] end
    if not absent then for _, l in ipairs(block) do out[#out + 1] = l end end
    for i = ei + 1, #ls do out[#out + 1] = ls[i] end
  else
    for _, l in ipairs(ls) do out[#out + 1] = l end
    if not absent then for _, l in ipairs(block) do out[#out + 1] = l end end
  end
  local new = #out > 0 and (table.concat(out, "\n") .. "\n") or ""
  if new == (old or "") or (absent and not bi) then return { changed = false } end

  local res = { changed = true }
  if ctx.diff then res.diff = text_diff(old or "", new, path) end
  if ctx.check then return res end
  local ok, err = ezk.upload { dest = path, content = new }
  if ok == nil then
    -- a bind-mounted file cannot be renamed over: write it in place
    local w = ezk.exec("[ ! -L " .. q(path) .. " ] && [ -f " .. q(path) .. " ] && cat > " .. q(path), { stdin = new })
    if w.rc ~= 0 then return { failed = true, msg = err } end
  end
  return res
end)
