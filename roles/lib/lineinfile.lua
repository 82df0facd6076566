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
-- Regular expressions are Python's re syntax (the subset `re` below speaks:
-- . [] [^] \d \w \s \b ^ $ \A \Z () (?:) (?P<n>) | * + ? {m,n} and lazy forms),
-- searched in each line without its line ending.
-- backup and validate are not supported (the task fails if they are set).
--
-- The file is read once and written at most once (ezk.upload: a temporary
-- file renamed over it, skipped when the content is the same).

local text_read, text_write, text_lines, text_join = ezk.text_read, ezk.text_write, ezk.text_lines, ezk.text_join

-- ---- re: a small Python-style regular expression engine (search) ----
-- re.compile(pattern) -> object with :search(s) -> match or nil, or raises
-- an error "bad regular expression ..."; a match has .s (start), .e (end,
-- exclusive), :group(n|name) and :expand(template) (\1, \g<1>, \g<name>).
-- Lines are searched one at a time: ^ and $ are the start and end of the
-- string ($ also before a final "\n"), as Python without re.MULTILINE.

local re = {}
ezk.regex = re

local function set_of(fn)
  local t = {}
  for b = 0, 255 do t[b] = fn(b) and true or nil end
  return t
end
local DIGIT = set_of(function(b) return b >= 48 and b <= 57 end)
local WORD = set_of(function(b)
  return (b >= 48 and b <= 57) or (b >= 65 and b <= 90) or (b >= 97 and b <= 122) or b == 95 or b >= 128
end)
local SPACE = set_of(function(b) return b == 32 or (b >= 9 and b <= 13) end)
local function negate(t) return set_of(function(b) return not t[b] end) end
local ANY = set_of(function(b) return b ~= 10 end)
local CLASS = { d = DIGIT, D = negate(DIGIT), w = WORD, W = negate(WORD), s = SPACE, S = negate(SPACE) }
local ESC = { n = "\n", t = "\t", r = "\r", f = "\f", v = "\v", a = "\a", ["0"] = "\0" }

local function parse(p)
  local pos, ngroups, names = 1, 0, {}
  local function bad(msg) error("bad regular expression '" .. p .. "': " .. msg .. " at position " .. pos, 0) end
  local function ch() return p:sub(pos, pos) end

  -- an escaped char after "\" (pos at the char): a set table, or a literal byte
  local function escape(in_class)
    local c = ch()
    if c == "" then bad("trailing backslash") end
    pos = pos + 1
    if CLASS[c] then return CLASS[c] end
    if ESC[c] then return ESC[c] end
    if c == "x" then
      local h = p:match("^%x%x", pos)
      if not h then bad("bad \\x escape") end
      pos = pos + 2
      return string.char(tonumber(h, 16))
    end
    if not in_class and (c == "b" or c == "B" or c == "A" or c == "Z") then return { anchor = c } end
    if c == "b" then return "\b" end
    if c:match("%d") then bad("backreferences are not supported") end
    if c:match("%a") then bad("unsupported escape \\" .. c) end
    return c
  end

  local function class()
    local t, neg, first = {}, false, true
    if ch() == "^" then neg = true; pos = pos + 1 end
    while true do
      local c = ch()
      if c == "" then bad("unterminated character set") end
      if c == "]" and not first then pos = pos + 1; break end
      first = false
      local lo
      if c == "\\" then
        pos = pos + 1
        local e = escape(true)
        if type(e) == "table" then
          for b in pairs(e) do t[b] = true end
        else
          lo = e:byte()
        end
      else
        lo = c:byte(); pos = pos + 1
      end
      if lo then
        local hi = lo
        if ch() == "-" and p:sub(pos + 1, pos + 1) ~= "]" and p:sub(pos + 1, pos + 1) ~= "" then
          pos = pos + 1
          local c2 = ch()
          if c2 == "\\" then
            pos = pos + 1
            local e = escape(true)
            if type(e) == "table" then bad("bad character range") end
            hi = e:byte()
          else
            hi = c2:byte(); pos = pos + 1
          end
          if hi < lo then bad("bad character range") end
        end
        for b = lo, hi do t[b] = true end
      end
    end
    if neg then t = negate(t) end
    return { t = "set", s = t }
  end

  local alt

  local function atom()
    local c = ch()
    if c == "(" then
      pos = pos + 1
      local idx, name
      if ch() == "?" then
        if p:sub(pos, pos + 1) == "?:" then
          pos = pos + 2
        elseif p:sub(pos, pos + 1) == "?P" and p:sub(pos + 2, pos + 2) == "<" then
          name = p:match("^([%a_][%w_]*)>", pos + 3)
          if not name then bad("bad group name") end
          pos = pos + 3 + #name + 1
          ngroups = ngroups + 1; idx = ngroups; names[name] = idx
        else
          bad("unsupported group (?" .. p:sub(pos + 1, pos + 1))
        end
      else
        ngroups = ngroups + 1; idx = ngroups
      end
      local inner = alt()
      if ch() ~= ")" then bad("missing )") end
      pos = pos + 1
      return idx and { t = "group", n = inner, idx = idx } or inner
    elseif c == "[" then
      pos = pos + 1
      return class()
    elseif c == "." then
      pos = pos + 1
      return { t = "set", s = ANY }
    elseif c == "^" then
      pos = pos + 1
      return { t = "bos" }
    elseif c == "$" then
      pos = pos + 1
      return { t = "eol" }
    elseif c == "\\" then
      pos = pos + 1
      local e = escape(false)
      if type(e) == "table" and e.anchor then
        local a = e.anchor
        return { t = a == "b" and "wb" or a == "B" and "nwb" or a == "A" and "bos" or "eos" }
      end
      if type(e) == "table" then return { t = "set", s = e } end
      return { t = "set", s = { [e:byte()] = true } }
    elseif c == "*" or c == "+" or c == "?" then
      bad("nothing to repeat")
    else
      pos = pos + 1
      return { t = "set", s = { [c:byte()] = true } }
    end
  end

  local function quantified()
    local a = atom()
    while true do
      local c, min, max = ch(), nil, nil
      if c == "*" then min, max = 0, nil; pos = pos + 1
      elseif c == "+" then min, max = 1, nil; pos = pos + 1
      elseif c == "?" then min, max = 0, 1; pos = pos + 1
      elseif c == "{" then
        local m1, comma, m2, rest = p:match("^{(%d*)(,?)(%d*)}()", pos)
        if not rest or (m1 == "" and comma == "") then break end -- a literal "{"
        min = tonumber(m1) or 0
        max = comma == "" and min or tonumber(m2)
        if max and max < min then bad("min repeat greater than max repeat") end
        pos = rest
      else
        break
      end
      if a.t == "bos" or a.t == "eol" or a.t == "eos" or a.t == "wb" or a.t == "nwb" or a.t == "rep" then
        bad("multiple repeat or nothing to repeat")
      end
      local greedy = true
      if ch() == "?" then greedy = false; pos = pos + 1
      elseif ch() == "+" then bad("possessive repeats are not supported") end
      a = { t = "rep", n = a, min = min, max = max, greedy = greedy }
    end
    return a
  end

  local function seq()
    local items = {}
    while pos <= #p and ch() ~= "|" and ch() ~= ")" do items[#items + 1] = quantified() end
    if #items == 1 then return items[1] end
    return { t = "seq", items = items }
  end

  function alt()
    local alts = { seq() }
    while ch() == "|" do
      pos = pos + 1
      alts[#alts + 1] = seq()
    end
    if #alts == 1 then return alts[1] end
    return { t = "alt", alts = alts }
  end

  local root = alt()
  if pos <= #p then bad("unbalanced )") end
  return root, ngroups, names
end

-- m(node, s, i, caps, k): match node at s[i..]; on success call k(j) with
-- the end, returning what k returns (a truthy end position) or nil.
local function m(n, s, i, c, k)
  local t = n.t
  if t == "set" then
    local b = s:byte(i)
    if b and n.s[b] then return k(i + 1) end
    return nil
  elseif t == "seq" then
    local items, cnt = n.items, #n.items
    local function step(j, pos)
      if j > cnt then return k(pos) end
      return m(items[j], s, pos, c, function(p2) return step(j + 1, p2) end)
    end
    return step(1, i)
  elseif t == "alt" then
    for _, a in ipairs(n.alts) do
      local r = m(a, s, i, c, k)
      if r then return r end
    end
    return nil
  elseif t == "group" then
    local idx = n.idx
    return m(n.n, s, i, c, function(p2)
      local os_, oe = c[2 * idx - 1], c[2 * idx]
      c[2 * idx - 1], c[2 * idx] = i, p2
      local r = k(p2)
      if not r then c[2 * idx - 1], c[2 * idx] = os_, oe end
      return r
    end)
  elseif t == "rep" then
    local min, max, greedy, body = n.min, n.max, n.greedy, n.n
    local function try(cnt, pos)
      local function more()
        if max and cnt >= max then return nil end
        return m(body, s, pos, c, function(p2)
          if p2 == pos and cnt >= min then return nil end -- an empty iteration: no progress
          return try(cnt + 1, p2)
        end)
      end
      if cnt < min then return more() end
      if greedy then
        local r = more()
        if r then return r end
        return k(pos)
      end
      local r = k(pos)
      if r then return r end
      return more()
    end
    return try(0, i)
  elseif t == "bos" then
    if i == 1 then return k(i) end
    return nil
  elseif t == "eol" then
    if i == #s + 1 or (i == #s and s:byte(i) == 10) then return k(i) end
    return nil
  elseif t == "eos" then
    if i == #s + 1 then return k(i) end
    return nil
  else -- wb, nwb
    local w1 = i > 1 and WORD[s:byte(i - 1)] or false
    local w2 = i <= #s and WORD[s:byte(i)] or false
    local at = (w1 and true or false) ~= (w2 and true or false)
    if (t == "wb") == at then return k(i) end
    return nil
  end
end

local Match = {}
Match.__index = Match

function Match:group(g)
  g = g or 0
  if g == 0 then return self.str:sub(self.s, self.e - 1) end
  if type(g) == "string" then g = self.names[g] end
  local a, b = self.caps[2 * g - 1], self.caps[2 * g]
  if not a then return nil end
  return self.str:sub(a, b - 1)
end

-- Python's match.expand: \1..\99, \g<n>, \g<name> and the usual escapes.
function Match:expand(tmpl)
  local out, i = {}, 1
  while i <= #tmpl do
    local ch = tmpl:sub(i, i)
    if ch ~= "\\" then
      out[#out + 1] = ch; i = i + 1
    else
      local nx = tmpl:sub(i + 1, i + 1)
      local d = tmpl:match("^%d%d?", i + 1)
      local g = tmpl:match("^g<([%w_]+)>", i + 1)
      if d then
        local n = tonumber(d)
        if n > self.ngroups then error("invalid group reference " .. n .. " in backrefs line", 0) end
        out[#out + 1] = self:group(n) or ""; i = i + 1 + #d
      elseif g then
        local n = tonumber(g) or self.names[g]
        if not n or n > self.ngroups then error("unknown group " .. g .. " in backrefs line", 0) end
        out[#out + 1] = self:group(n) or ""; i = i + 3 + #g + 1
      elseif ESC[nx] and nx ~= "0" then
        out[#out + 1] = ESC[nx]; i = i + 2
      elseif nx == "\\" then
        out[#out + 1] = "\\"; i = i + 2
      else
        out[#out + 1] = ch; i = i + 1
      end
    end
  end
  return table.concat(out)
end

local Regex = {}
Regex.__index = Regex

function Regex:search(s)
  local done = function(j) return j end
  for start = 1, #s + 1 do
    local caps = {}
    local e = m(self.root, s, start, caps, done)
    if e then
      return setmetatable({ s = start, e = e, caps = caps, str = s, names = self.names,
        ngroups = self.ngroups }, Match)
    end
    if self.anchored then break end
  end
  return nil
end

local cache = {}
function re.compile(p)
  if cache[p] then return cache[p] end
  local root, ngroups, names = parse(p)
  local first = root.t == "seq" and root.items[1] or root
  local r = setmetatable({ root = root, ngroups = ngroups, names = names, pattern = p,
    anchored = first.t == "bos" }, Regex)
  cache[p] = r
  return r
end

function re.search(p, s)
  return re.compile(p):search(s)
end

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
    if a.backrefs and type(match) == "table" then new = match:expand(line) end
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
  local old, real, rerr, attrs_now = text_read(path)
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
  return text_write(a, ctx, real, old, new, changed, msg, a.create and true or false, attrs_now)
end)
