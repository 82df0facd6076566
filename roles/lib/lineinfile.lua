-- lineinfile: make sure one line is in a file (or is not), as Ansible's
-- lineinfile does.
--   lineinfile { path = "/etc/x.conf", line = "key=value", regexp = "^key=",
--                state = "present" | "absent", insertafter = "EOF" | regex,
--                insertbefore = "BOF" | regex, firstmatch = false,
--                search_string = "literal", backrefs = false, create = false,
--                mode = "0644", owner = "root", group = "root" }
-- path (alias dest): an absolute path on the host.
-- state=present (the default): the LAST line matching regexp (or containing
--   search_string) is replaced by line (the first with firstmatch). If none
--   matches and line is already in the file, nothing changes; otherwise line
--   is inserted after the last line matching insertafter, before the last line
--   matching insertbefore (the first ones with firstmatch), at the top (BOF)
--   or at the end (EOF, the default; also when insertafter/insertbefore match
--   nothing). backrefs: line may use \1 / \g<name> of regexp; if regexp
--   matches nothing the file is left alone.
-- state=absent: every line matching regexp (or containing search_string, or
--   equal to line) is removed. A missing file is not an error.
-- create: make the file (and its parent directories) when it is missing;
--   otherwise a missing file fails the task (state=present).
-- mode/owner/group: set on the file (also when the content is already right).
-- Regular expressions are Python's re syntax (ezk.regex, core/rx.h: the
-- engine of the templates' regex_replace too), searched in each line
-- without its line ending.
-- backup and validate are not supported (the task fails if they are set).
--
-- The file is read once and written at most once (ezk.upload: a temporary
-- file renamed over it, skipped when the content is the same).

local text_read, text_write, text_lines, text_join = ezk.text_read, ezk.text_write, ezk.text_lines, ezk.text_join

local re = ezk.regex -- Python-style, the engine of the templates' regex_* (core/rx.h)

-- ---- lineinfile ----

local function strip_eol(l)
  return (l:gsub("[\r\n]+$", ""))
end

-- The new content for state=present; pure (content nil = empty file).
-- Follows Ansible's lineinfile present() (indices are 0-based as there).
local function lineinfile_present(content, a)
  local lines, nl = text_lines(content)
  local line = tostring(a.line)
  local rx = a.regexp and re.compile(a.regexp)
  local ss = a.search_string
  local after, before = a.insertafter, a.insertbefore
  local bre_ins
  if after and after ~= "BOF" and after ~= "EOF" then bre_ins = re.compile(after)
  elseif before and before ~= "BOF" then bre_ins = re.compile(before) end
  local function get(i) return lines[i + 1] end
  local idx0, idx1, match = -1, -1, nil
  for n = 0, #lines - 1 do
    local cur = get(n)
    local found
    if rx then found = rx:search(cur)
    elseif ss then found = cur:find(ss, 1, true) and true
    else found = strip_eol(cur) == line end
    if found then
      idx0, match = n, found
      if a.firstmatch then break end
    end
  end
  if idx0 == -1 then
    for n = 0, #lines - 1 do
      local cur = get(n)
      if strip_eol(cur) == line then
        idx0 = n
      elseif bre_ins and bre_ins:search(cur) then
        if after then idx1 = n + 1 end
        if before then idx1 = n end
        if a.firstmatch then break end
      end
    end
  end
  local changed, msg = false, nil
  local function insert_at(i) -- 0-based position
    if i >= #lines then nl = true end
    table.insert(lines, i + 1, line)
    changed, msg = true, "line added"
  end
  if idx0 ~= -1 then
    local new = line
    if a.backrefs and type(match) == "userdata" then new = match:expand(line) end
    if get(idx0) ~= new or (idx0 == #lines - 1 and not nl) then
      lines[idx0 + 1] = new
      if idx0 == #lines - 1 then nl = true end
      changed, msg = true, "line replaced"
    end
  elseif a.backrefs then
    -- no match: nothing can be generated safely
  elseif before == "BOF" or after == "BOF" then
    insert_at(0)
  elseif after == "EOF" or idx1 == -1 then
    insert_at(#lines)
  elseif after then
    if idx1 == #lines then
      if strip_eol(get(idx1 - 1)) ~= line then insert_at(#lines) end
    elseif strip_eol(get(idx1)) ~= line then
      insert_at(idx1)
    end
  else
    insert_at(idx1)
  end
  return text_join(lines, nl), changed, msg
end

local function lineinfile_absent(content, a)
  local lines, nl = text_lines(content)
  local rx = a.regexp and re.compile(a.regexp)
  local ss, line = a.search_string, a.line and tostring(a.line)
  local keep, n = {}, 0
  for i, cur in ipairs(lines) do
    local found
    if rx then found = rx:search(cur)
    elseif ss then found = cur:find(ss, 1, true)
    else found = strip_eol(cur) == line end
    if found then
      n = n + 1
      if i == #lines then nl = true end
    else
      keep[#keep + 1] = cur
    end
  end
  return text_join(keep, nl), n > 0, n > 0 and (n .. " line(s) removed") or nil
end

ezk.module("lineinfile", function(a, ctx)
  local path = a.path or a.dest or a.name
  if not path or path:sub(1, 1) ~= "/" then return { failed = true, msg = "path must be an absolute path" } end
  local state = a.state or "present"
  if a.backup then return { failed = true, msg = "backup is not supported" } end
  if a.validate then return { failed = true, msg = "validate is not supported" } end
  if a.line == nil and a.value ~= nil then a.line = a.value end
  if a.regexp == nil and a.regex ~= nil then a.regexp = a.regex end
  if a.insertafter and a.insertbefore then
    return { failed = true, msg = "insertafter and insertbefore are mutually exclusive" }
  end
  if a.regexp and a.search_string then
    return { failed = true, msg = "regexp and search_string are mutually exclusive" }
  end
  local ok, err = pcall(function()
    for _, r in ipairs { a.regexp or false, a.insertafter or false, a.insertbefore or false } do
      if r and r ~= "EOF" and r ~= "BOF" then re.compile(r) end
    end
  end)
  if not ok then return { failed = true, msg = err } end
  local function named(v) return v ~= nil and not tostring(v):match("^%d+$") end
  local old, real, rerr, attrs_now, known = text_read(path, (named(a.owner) or named(a.group)) or
    ((a.mode ~= nil or a.owner ~= nil or a.group ~= nil) and "ids"))
  if not real then return { failed = true, msg = rerr } end
  local new, changed, msg
  if state == "present" then
    if a.line == nil then return { failed = true, msg = "line is required with state=present" } end
    if old == nil and not a.create then
      return { failed = true, msg = path .. " does not exist (create=true makes it)" }
    end
    ok, err = pcall(function() new, changed, msg = lineinfile_present(old, a) end)
    if not ok then return { failed = true, msg = err } end
    if old == nil then changed, msg = true, "file created" end
  elseif state == "absent" then
    if a.regexp == nil and a.search_string == nil and a.line == nil then
      return { failed = true, msg = "state=absent needs regexp, search_string or line" }
    end
    if old == nil then return { changed = false, msg = "file not present" } end
    new, changed, msg = lineinfile_absent(old, a)
  else
    return { failed = true, msg = "state must be present or absent, not " .. tostring(state) }
  end
  return text_write(a, ctx, real, old, new, changed, msg, a.create and true or false, attrs_now, known)
end)
