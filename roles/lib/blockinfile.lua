-- blockinfile: a block of lines between two marker lines in a file, as
-- Ansible's blockinfile.
--   blockinfile { path = "/etc/hosts", block = "10.0.0.1 a\n10.0.0.2 b",
--                 marker = "# {mark} EZK MANAGED BLOCK", marker_begin = "BEGIN",
--                 marker_end = "END", insertafter = "EOF" | regex,
--                 insertbefore = "BOF" | regex, state = "present" | "absent",
--                 create = false, mode, owner, group }
-- path (alias dest): an absolute path on the host.
-- The markers are marker with {mark} replaced by marker_begin / marker_end
-- (ezk's default marker says EZK, Ansible's says ANSIBLE: pass
-- marker = "# {mark} ANSIBLE MANAGED BLOCK" to take over blocks Ansible
-- wrote). Give every block in a file a marker of its own.
-- state=present: the block (a final newline is added) replaces the lines
--   from the last begin marker to the last end marker; if the markers are not
--   there, the block with its markers is inserted after the last line matching
--   insertafter / before the last line matching insertbefore (Python regex, see
--   lineinfile.lua), at the top (BOF) or at the end (EOF, the default, also
--   when the regex matches nothing).
-- An empty block, or state=absent: the block and its markers are removed
-- (a missing file is then not an error).
-- create: make the file (and its parent directories) if missing; otherwise
--   a missing file fails the task (state=present).
-- mode/owner/group: set on the file, also when the content is right.
-- The file is read once and written at most once (ezk.upload, atomic).

local text_read, text_write, text_lines, text_join = ezk.text_read, ezk.text_write, ezk.text_lines, ezk.text_join

local function subst(s, mark)
  local i, j = s:find("{mark}", 1, true)
  if not i then return s end
  return s:sub(1, i - 1) .. mark .. subst(s:sub(j + 1), mark)
end

local function strip_eol(l)
  return (l:gsub("[\r\n]+$", ""))
end

-- The new content (pure; content nil = empty file) and whether it changed.
local function blockinfile_apply(content, a)
  local lines, nl = text_lines(content)
  local marker = a.marker or "# {mark} EZK MANAGED BLOCK"
  local m0 = subst(marker, a.marker_begin or "BEGIN")
  local m1 = subst(marker, a.marker_end or "END")
  local block = a.block ~= nil and tostring(a.block) or ""
  local present = (a.state or "present") == "present"
  local blocklines = {}
  if present and block ~= "" then
    blocklines[1] = m0
    for _, l in ipairs((text_lines(block))) do blocklines[#blocklines + 1] = l end
    blocklines[#blocklines + 1] = m1
  end
  local n0, n1
  for i, l in ipairs(lines) do
    local s = strip_eol(l)
    if s == m0 then n0 = i end
    if s == m1 then n1 = i end
  end
  if n0 == nil or n1 == nil then
    if #blocklines == 0 then return content or "", false end
    local after, before = a.insertafter, a.insertbefore
    local rx = (after and after ~= "EOF" and after ~= "BOF" and after)
      or (before and before ~= "BOF" and before) or nil
    if rx then
      local r = ezk.regex.compile(rx)
      n0 = nil
      for i, l in ipairs(lines) do
        if r:search(l) then n0 = i end
      end
      if n0 == nil then n0 = #lines + 1
      elseif before == nil then n0 = n0 + 1 end
    elseif before == "BOF" or after == "BOF" then
      n0 = 1
    else
      n0 = #lines + 1
    end
  else
    local lo, hi = math.min(n0, n1), math.max(n0, n1)
    if hi == #lines then nl = true end -- the lines before it end with a newline
    for _ = lo, hi do table.remove(lines, lo) end
    n0 = lo
  end
  if n0 > #lines then nl = true end -- the block goes last: it ends with a newline
  for k, l in ipairs(blocklines) do table.insert(lines, n0 + k - 1, l) end
  local new = text_join(lines, nl)
  return new, new ~= (content or "")
end

ezk.module("blockinfile", function(a, ctx)
  local path = a.path or a.dest or a.name
  if not path or path:sub(1, 1) ~= "/" then return { failed = true, msg = "path must be an absolute path" } end
  local state = a.state or "present"
  if state ~= "present" and state ~= "absent" then
    return { failed = true, msg = "state must be present or absent, not " .. tostring(state) }
  end
  if a.insertafter and a.insertbefore then
    return { failed = true, msg = "insertafter and insertbefore are mutually exclusive" }
  end
  if a.backup then return { failed = true, msg = "backup is not supported" } end
  local marker = a.marker or "# {mark} EZK MANAGED BLOCK"
  if not marker:find("{mark}", 1, true) then
    return { failed = true, msg = "marker must contain {mark}" }
  end
  local old, real, rerr, _, known = text_read(path)
  if not real then return { failed = true, msg = rerr } end
  local removing = state == "absent" or a.block == nil or tostring(a.block) == ""
  if old == nil then
    if removing then return { changed = false, msg = "file not present" } end
    if not a.create then
      return { failed = true, msg = path .. " does not exist (create=true makes it)" }
    end
  end
  local ok, new, changed = pcall(blockinfile_apply, old, a)
  if not ok then return { failed = true, msg = new } end
  if old == nil then changed = true end
  local msg = changed and (removing and "block removed" or old == nil and "file created"
    or "block inserted or updated") or nil
  return text_write(a, ctx, real, old, new, changed, msg, a.create and true or false, nil, known)
end)
